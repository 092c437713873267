// Command restore-dpmpp-2m serves the built-in dpmpp-2m plugin out of process.
package main

import (
	"github.com/restorekit/restore/plugins/solvers"
	"github.com/restorekit/restore/sdk"
)

func main() { sdk.Serve(solvers.DPMPP2M{}) }
