package solvers_test

import (
	"testing"

	"github.com/restorekit/restore/plugins/solvers"
	"github.com/restorekit/restore/sdk"
	"github.com/restorekit/restore/sdk/sdktest"
)

func TestConformance(t *testing.T) {
	tests := []struct {
		impl sdk.Solver
		main string
	}{
		{solvers.EulerMaruyama{}, "../cmd/restore-euler-maruyama"},
		{solvers.DDIM{}, "../cmd/restore-ddim"},
	}
	for _, tc := range tests {
		t.Run(tc.impl.Info().Name, func(t *testing.T) { sdktest.Check(t, tc.impl, tc.main) })
	}
}
