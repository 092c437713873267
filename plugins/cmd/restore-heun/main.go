// Command restore-heun serves the built-in heun plugin out of process.
package main

import (
	"github.com/restorekit/restore/plugins/solvers"
	"github.com/restorekit/restore/sdk"
)

func main() { sdk.Serve(solvers.Heun{}) }
