package sdk_test

import (
	"context"
	"errors"
	"testing"

	"github.com/restorekit/restore/plugins/guidance"
	"github.com/restorekit/restore/plugins/solvers"
	"github.com/restorekit/restore/sdk"
	"github.com/restorekit/restore/sdk/sdktest"
)

// launchDDIMAndDiffPIR builds and starts the DDIM solver and DiffPIR
// guidance as plugin subprocesses, killed when the test ends.
func launchDDIMAndDiffPIR(t testing.TB) (solver, guidance *sdk.Client) {
	t.Helper()
	for _, p := range []struct {
		pkg string
		c   **sdk.Client
	}{{"../plugins/cmd/restore-ddim", &solver}, {"../plugins/cmd/restore-diffpir", &guidance}} {
		c, err := sdk.Launch(sdktest.Build(t, p.pkg), sdk.LaunchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Kill)
		*p.c = c
	}
	return solver, guidance
}

// TestLargeTensorsCrossTheWire restores a 1024×1024 RGB tensor (12 MiB,
// three times gRPC's default 4 MiB limit) through real plugin subprocesses.
func TestLargeTensorsCrossTheWire(t *testing.T) {
	if testing.Short() {
		t.Skip("builds plugins and moves 12 MiB tensors")
	}
	const c, h, w = 3, 1024, 1024
	sc, gc := launchDDIMAndDiffPIR(t)

	mean := sdktest.TestImage(c, h, w)
	ctx := context.Background()
	params, _ := solvers.DDIM{}.Info().Resolve(nil)
	req := sdk.SampleRequest{X: sdk.NewRNG(1).Noise(c, h, w, 1), SigmaMax: 1, SigmaMin: 0.01, Steps: 2, Seed: 4, Params: params}
	remote := sc.Plugin().(sdk.Solver)
	out, err := remote.Sample(ctx, sdktest.GaussianDenoiser(mean, 0.5), req)
	if err != nil {
		t.Fatalf("solver: %v", err)
	}
	local, err := solvers.DDIM{}.Sample(ctx, sdktest.GaussianDenoiser(mean, 0.5), req)
	if err != nil {
		t.Fatal(err)
	}
	for i := range out.Data {
		if out.Data[i] != local.Data[i] {
			t.Fatalf("element %d: subprocess %v, in process %v", i, out.Data[i], local.Data[i])
		}
	}

	gp, _ := guidance.DiffPIR{}.Info().Resolve(nil)
	g, err := gc.Plugin().(sdk.Guidance).Begin(ctx, sdk.Problem{Y: mean, Operator: sdk.OperatorSpec{Kind: sdk.OpIdentity}, SigmaY: 0.1}, gp)
	if err != nil {
		t.Fatalf("guidance begin: %v", err)
	}
	defer g.End()
	if _, err := g.Guide(ctx, sdk.GuideStep{X0: out, Xt: req.X, Sigma: 0.5}); err != nil {
		t.Fatalf("guidance: %v", err)
	}
}

// TestRemoteErrorsKeepTheirMeaning checks that a parameter error and a
// cancellation raised across the wire can still be tested with errors.Is.
func TestRemoteErrorsKeepTheirMeaning(t *testing.T) {
	c, err := sdk.Launch(sdktest.Build(t, "../plugins/cmd/restore-ddim"), sdk.LaunchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Kill()
	s := c.Plugin().(sdk.Solver)
	params, _ := s.Info().Resolve(nil)
	mean := sdktest.TestImage(3, 8, 8)
	req := sdk.SampleRequest{X: mean.Clone(), SigmaMax: 1, SigmaMin: 0.01, Steps: 0, Params: params}
	if _, err := s.Sample(context.Background(), sdktest.GaussianDenoiser(mean, 0.5), req); !errors.Is(err, sdk.ErrParam) {
		t.Fatalf("steps=0: got %v, want ErrParam", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req.Steps = 3
	if _, err := s.Sample(ctx, sdktest.GaussianDenoiser(mean, 0.5), req); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: got %v, want context.Canceled", err)
	}
}
