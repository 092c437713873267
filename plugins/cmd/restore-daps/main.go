// Command restore-daps serves the built-in daps plugin out of process.
package main

import (
	"github.com/restorekit/restore/plugins/guidance"
	"github.com/restorekit/restore/sdk"
)

func main() { sdk.Serve(guidance.DAPS{}) }
