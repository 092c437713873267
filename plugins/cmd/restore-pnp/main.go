// Command restore-pnp serves the built-in pnp plugin out of process.
package main

import (
	"github.com/restorekit/restore/plugins/solvers"
	"github.com/restorekit/restore/sdk"
)

func main() { sdk.Serve(solvers.PnP{}) }
