// Package sdktest is the conformance kit for restore plugins. A plugin
// author's test calls one function:
//
//	func TestConformance(t *testing.T) {
//		sdktest.Check(t, mySolver{}, ".")
//	}
//
// Check builds the plugin's main package, runs the plugin both in process and
// as a real subprocess over go-plugin, and checks that both give identical
// output for a fixed seed, that parameters are validated, and that
// cancellation is honoured.
package sdktest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/restorekit/restore/sdk"
)

// Check runs the conformance suite on p, whose main package (a directory or
// import path, as `go build` takes it) serves the same plugin.
func Check(t *testing.T, p sdk.Plugin, mainPkg string) {
	t.Helper()
	bin := Build(t, mainPkg)
	CheckBinary(t, p, bin)
}

// Build compiles a plugin's main package into a temporary directory and
// returns the executable's path.
func Build(t testing.TB, mainPkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "plugin")
	cmd := exec.Command("go", "build", "-o", bin, mainPkg)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("sdktest: go build %s: %v", mainPkg, err)
	}
	return bin
}

// CheckBinary runs the conformance suite on p and the plugin executable at bin.
func CheckBinary(t *testing.T, p sdk.Plugin, bin string) {
	t.Helper()
	info := p.Info()
	if err := info.Validate(); err != nil {
		t.Fatalf("info: %v", err)
	}
	client, err := sdk.Launch(bin, sdk.LaunchOptions{})
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	defer client.Kill()
	remote := client.Plugin()

	t.Run("info", func(t *testing.T) {
		if got := remote.Info(); !reflect.DeepEqual(normalise(got), normalise(info)) {
			t.Fatalf("the subprocess describes itself as\n%+v\nin process:\n%+v", got, info)
		}
	})
	t.Run("params", func(t *testing.T) { checkParams(t, info) })

	switch local := p.(type) {
	case sdk.Solver:
		r, ok := remote.(sdk.Solver)
		if !ok {
			t.Fatalf("the subprocess is not a solver")
		}
		t.Run("same-output", func(t *testing.T) { checkSolverSame(t, local, r) })
		t.Run("cancel-in-process", func(t *testing.T) { checkSolverCancel(t, local) })
		t.Run("cancel-subprocess", func(t *testing.T) { checkSolverCancel(t, r) })
	case sdk.Guidance:
		r, ok := remote.(sdk.Guidance)
		if !ok {
			t.Fatalf("the subprocess is not guidance")
		}
		t.Run("same-output", func(t *testing.T) { checkGuidanceSame(t, local, r) })
	default:
		t.Fatalf("%s is neither a Solver nor a Guidance", info.Name)
	}
}

func normalise(in sdk.Info) sdk.Info {
	if len(in.Params) == 0 {
		in.Params = nil
	}
	for i := range in.Params {
		if len(in.Params[i].Choices) == 0 {
			in.Params[i].Choices = nil
		}
	}
	return in
}

// checkParams checks that defaults resolve and that bad values and names are refused.
func checkParams(t *testing.T, info sdk.Info) {
	if _, err := info.Resolve(nil); err != nil {
		t.Fatalf("defaults do not resolve: %v", err)
	}
	if _, err := info.Resolve(map[string]string{"no-such-parameter": "1"}); !errors.Is(err, sdk.ErrParam) {
		t.Errorf("an unknown parameter name was not refused: %v", err)
	}
	for _, p := range info.Params {
		var bad string
		switch p.Type {
		case sdk.Float, sdk.Int:
			if p.Max < math.MaxFloat64 {
				bad = fmt.Sprint(p.Max + 1)
			}
		case sdk.Bool:
			bad = "maybe"
		case sdk.Choice:
			bad = "no-such-choice"
		}
		if bad == "" {
			continue
		}
		if _, err := info.Resolve(map[string]string{p.Name: bad}); !errors.Is(err, sdk.ErrParam) {
			t.Errorf("%s=%s was not refused: %v", p.Name, bad, err)
		}
	}
}

// TestImage is a smooth colour test pattern in [-1, 1].
func TestImage(c, h, w int) *sdk.Tensor {
	t := sdk.NewTensor(c, h, w)
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v := 0.6 * math.Sin(float64(x)/5+float64(ch)) * math.Cos(float64(y)/7)
				t.Data[(ch*h+y)*w+x] = float32(v)
			}
		}
	}
	return t
}

// GaussianDenoiser is the exact denoiser for data distributed as N(mean, s²I):
// D(x, σ) = mean + (x − mean)·s²/(s² + σ²). Deterministic and cheap, it
// stands in for the score model in tests.
func GaussianDenoiser(mean *sdk.Tensor, s float64) sdk.Denoiser {
	return sdk.DenoiserFunc(func(ctx context.Context, x *sdk.Tensor, sigma float64) (*sdk.Tensor, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !x.SameShape(mean) {
			return nil, fmt.Errorf("%w: %v for %v", sdk.ErrShape, x, mean)
		}
		k := float32(s * s / (s*s + sigma*sigma))
		out := sdk.NewTensor(x.C, x.H, x.W)
		for i := range out.Data {
			out.Data[i] = mean.Data[i] + (x.Data[i]-mean.Data[i])*k
		}
		return out, nil
	})
}

func solverRequest(t *testing.T, s sdk.Solver) (sdk.SampleRequest, *sdk.Tensor) {
	mean := TestImage(3, 24, 40)
	params, err := s.Info().Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	x := sdk.NewRNG(7).Noise(3, 24, 40, 1.5)
	for i := range x.Data {
		x.Data[i] += mean.Data[i]
	}
	return sdk.SampleRequest{X: x, SigmaMax: 1.5, SigmaMin: 0.01, Steps: 12, Seed: 42, Params: params}, mean
}

func checkSolverSame(t *testing.T, local, remote sdk.Solver) {
	req, mean := solverRequest(t, local)
	d := GaussianDenoiser(mean, 0.5)
	ctx := context.Background()
	a, err := local.Sample(ctx, d, sdk.SampleRequest{X: req.X.Clone(), SigmaMax: req.SigmaMax, SigmaMin: req.SigmaMin,
		Steps: req.Steps, Seed: req.Seed, Params: req.Params})
	if err != nil {
		t.Fatalf("in process: %v", err)
	}
	b, err := remote.Sample(ctx, d, req)
	if err != nil {
		t.Fatalf("subprocess: %v", err)
	}
	compare(t, a, b)
	if !a.Finite() {
		t.Fatalf("output has NaN or Inf")
	}
}

func compare(t *testing.T, a, b *sdk.Tensor) {
	t.Helper()
	if !a.SameShape(b) {
		t.Fatalf("in process gave %v, subprocess %v", a, b)
	}
	for i := range a.Data {
		if math.Float32bits(a.Data[i]) != math.Float32bits(b.Data[i]) {
			t.Fatalf("element %d differs: in process %v, subprocess %v", i, a.Data[i], b.Data[i])
		}
	}
}

func checkSolverCancel(t *testing.T, s sdk.Solver) {
	req, mean := solverRequest(t, s)
	inner := GaussianDenoiser(mean, 0.5)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls, after atomic.Int32
	d := sdk.DenoiserFunc(func(c context.Context, x *sdk.Tensor, sigma float64) (*sdk.Tensor, error) {
		if ctx.Err() != nil {
			after.Add(1)
		}
		if calls.Add(1) == 2 {
			cancel()
		}
		return inner.Denoise(c, x, sigma)
	})
	done := make(chan error, 1)
	go func() {
		_, err := s.Sample(ctx, d, req)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Sample returned %v, want context.Canceled", err)
		}
		if n := after.Load(); n > 1 {
			t.Fatalf("%d denoiser calls after cancellation, want at most 1", n)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("Sample did not return within 30 s of cancellation")
	}
}

func checkGuidanceSame(t *testing.T, local, remote sdk.Guidance) {
	truth := TestImage(3, 20, 28)
	mask := sdk.NewTensor(1, 20, 28)
	rng := sdk.NewRNG(3)
	for i := range mask.Data {
		if rng.Float() < 0.4 {
			mask.Data[i] = 1
		}
	}
	kernel := sdk.NewTensor(1, 5, 5)
	for i := range kernel.Data {
		kernel.Data[i] = float32(1 + i%3)
	}
	params, err := local.Info().Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []sdk.OperatorSpec{
		{Kind: sdk.OpIdentity},
		{Kind: sdk.OpMask, Mask: mask},
		{Kind: sdk.OpBlur, Kernel: kernel},
	} {
		t.Run(op.Kind, func(t *testing.T) {
			y := truth.Clone()
			noise := sdk.NewRNG(5).Noise(3, 20, 28, 0.05)
			for i := range y.Data {
				y.Data[i] += noise.Data[i]
			}
			p := sdk.Problem{Y: y, Operator: op, SigmaY: 0.05, Seed: 9}
			ctx := context.Background()
			gl, err := local.Begin(ctx, p, params)
			if err != nil {
				t.Fatalf("in process Begin: %v", err)
			}
			defer gl.End()
			gr, err := remote.Begin(ctx, p, params)
			if err != nil {
				t.Fatalf("subprocess Begin: %v", err)
			}
			defer gr.End()
			for step, sigma := range []float64{1, 0.3, 0.05} {
				x0 := sdk.NewRNG(uint64(11+step)).Noise(3, 20, 28, 0.2)
				xt := sdk.NewRNG(uint64(21+step)).Noise(3, 20, 28, sigma)
				a, err := gl.Guide(ctx, sdk.GuideStep{X0: x0.Clone(), Xt: xt.Clone(), Sigma: sigma, Step: step})
				if err != nil {
					t.Fatalf("in process Guide: %v", err)
				}
				b, err := gr.Guide(ctx, sdk.GuideStep{X0: x0, Xt: xt, Sigma: sigma, Step: step})
				if err != nil {
					t.Fatalf("subprocess Guide: %v", err)
				}
				compare(t, a, b)
			}
		})
	}
}
