// Command restore-mpgd serves the built-in mpgd plugin out of process.
package main

import (
	"github.com/restorekit/restore/plugins/guidance"
	"github.com/restorekit/restore/sdk"
)

func main() { sdk.Serve(guidance.MPGD{}) }
