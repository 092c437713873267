// Package plugins lists restore's built-in solver and guidance plugins, the
// ones every host has in process. Each also builds as a standalone plugin
// binary from plugins/cmd.
package plugins

import (
	"github.com/restorekit/restore/plugins/guidance"
	"github.com/restorekit/restore/plugins/solvers"
	"github.com/restorekit/restore/sdk"
)

// Builtin returns the built-in plugins, solvers first.
func Builtin() []sdk.Plugin {
	return []sdk.Plugin{
		solvers.DDIM{},
		solvers.Euler{},
		solvers.Heun{},
		solvers.DPMPP2M{},
		solvers.EulerMaruyama{},
		solvers.PC{},
		solvers.SRA{},
		solvers.PnP{},
		guidance.DiffPIR{},
		guidance.DDNM{},
		guidance.MPGD{},
		guidance.DAPS{},
		guidance.None{},
	}
}
