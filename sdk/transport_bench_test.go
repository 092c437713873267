package sdk_test

import (
	"context"
	"testing"

	"github.com/restorekit/restore/plugins/guidance"
	"github.com/restorekit/restore/plugins/solvers"
	"github.com/restorekit/restore/sdk"
	"github.com/restorekit/restore/sdk/sdktest"
)

// BenchmarkTransport measures what crossing the process boundary costs per
// evaluation at 512×512 RGB, with no network at all: a DDIM solver whose
// denoiser is the exact Gaussian one (microseconds), in process and as a
// plugin subprocess (each evaluation: the sample out, the estimate back);
// and DiffPIR guidance on the identity (one estimate out, one back).
// ns/op is per evaluation.
func BenchmarkTransport(b *testing.B) {
	const c, h, w = 3, 512, 512
	mean := sdktest.TestImage(c, h, w)
	ctx := context.Background()
	sc, gc := launchDDIMAndDiffPIR(b)
	params, _ := solvers.DDIM{}.Info().Resolve(nil)
	for _, tc := range []struct {
		name   string
		solver sdk.Solver
	}{{"solver/in-process", solvers.DDIM{}}, {"solver/subprocess", sc.Plugin().(sdk.Solver)}} {
		b.Run(tc.name, func(b *testing.B) {
			req := sdk.SampleRequest{X: sdk.NewRNG(1).Noise(c, h, w, 1), SigmaMax: 1, SigmaMin: 0.01, Steps: b.N, Seed: 4, Params: params}
			b.ResetTimer()
			if _, err := tc.solver.Sample(ctx, sdktest.GaussianDenoiser(mean, 0.5), req); err != nil {
				b.Fatal(err)
			}
		})
	}
	gp, _ := guidance.DiffPIR{}.Info().Resolve(nil)
	for _, tc := range []struct {
		name string
		g    sdk.Guidance
	}{{"guidance/in-process", guidance.DiffPIR{}}, {"guidance/subprocess", gc.Plugin().(sdk.Guidance)}} {
		b.Run(tc.name, func(b *testing.B) {
			g, err := tc.g.Begin(ctx, sdk.Problem{Y: mean, Operator: sdk.OperatorSpec{Kind: sdk.OpIdentity}, SigmaY: 0.1}, gp)
			if err != nil {
				b.Fatal(err)
			}
			defer g.End()
			x0 := sdk.NewRNG(2).Noise(c, h, w, 1)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := g.Guide(ctx, sdk.GuideStep{X0: x0, Sigma: 0.5, Step: i}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
