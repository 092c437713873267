package solvers_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"testing"

	"github.com/restorekit/restore/plugins/solvers"
	"github.com/restorekit/restore/sdk"
	"github.com/restorekit/restore/sdk/schedule"
	"github.com/restorekit/restore/sdk/sdktest"
)

func TestConformance(t *testing.T) {
	tests := []struct {
		impl sdk.Solver
		main string
	}{
		{solvers.EulerMaruyama{}, "../cmd/restore-euler-maruyama"},
		{solvers.DDIM{}, "../cmd/restore-ddim"},
		{solvers.Euler{}, "../cmd/restore-euler"},
		{solvers.Heun{}, "../cmd/restore-heun"},
		{solvers.DPMPP2M{}, "../cmd/restore-dpmpp-2m"},
		{solvers.PC{}, "../cmd/restore-pc"},
		{solvers.SRA{}, "../cmd/restore-sra"},
		{solvers.PnP{}, "../cmd/restore-pnp"},
	}
	for _, tc := range tests {
		t.Run(tc.impl.Info().Name, func(t *testing.T) { sdktest.Check(t, tc.impl, tc.main) })
	}
}

// config is a solver with parameter values, as the tests below run it.
type config struct {
	solver     sdk.Solver
	params     map[string]string
	stochastic bool // whether the seed changes the output
}

// String names the solver and its parameters, for subtest names.
func (c config) String() string {
	s := c.solver.Info().Name
	for _, k := range slices.Sorted(maps.Keys(c.params)) {
		s += fmt.Sprintf(",%s=%s", k, c.params[k])
	}
	return s
}

// resolve validates the parameters against the solver's Info.
func (c config) resolve(t *testing.T) sdk.Params {
	t.Helper()
	p, err := c.solver.Info().Resolve(c.params)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// with returns a deterministic config of solver s with parameters given as
// name, value pairs; seeded marks it as using its seed.
func with(s sdk.Solver, kv ...string) config {
	c := config{solver: s, params: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		c.params[kv[i]] = kv[i+1]
	}
	return c
}

// seeded returns c marked as a solver whose output depends on the seed.
func (c config) seeded() config { c.stochastic = true; return c }

// configs covers every solver and each of its modes.
var configs = []config{
	with(solvers.EulerMaruyama{}).seeded(),
	with(solvers.Euler{}),
	with(solvers.Heun{}),
	with(solvers.Heun{}, "s_churn", "10").seeded(),
	with(solvers.Heun{}, "s_churn", "40", "s_tmin", "0.05", "s_tmax", "1", "s_noise", "1.007").seeded(),
	with(solvers.DPMPP2M{}),
	with(solvers.DDIM{}),
	with(solvers.DDIM{}, "zeta", "0.3").seeded(),
	with(solvers.DDIM{}, "zeta", "0", "eta", "1").seeded(),
	with(solvers.DDIM{}, "zeta", "0", "eta", "0.5").seeded(),
	with(solvers.PC{}).seeded(),
	with(solvers.PC{}, "corrector_steps", "0").seeded(),
	with(solvers.PC{}, "corrector_steps", "3").seeded(),
	with(solvers.SRA{}).seeded(),
	with(solvers.PnP{}),
}

// Gaussian data: every pixel ~ N(gaussMean, gaussStd²), whose exact denoiser
// is sdktest.GaussianDenoiser.
const (
	gaussMean = 0.2
	gaussStd  = 0.3
	gaussMax  = 10.0
	gaussMin  = 0.002
)

// gaussianRun samples a 3×64×64 tensor of the Gaussian data from σ = 10 to
// 0.002 and returns its pixel mean and variance.
func gaussianRun(t *testing.T, c config, steps int, seed uint64) (mean, variance float64) {
	t.Helper()
	mu := sdk.NewTensor(3, 64, 64)
	for i := range mu.Data {
		mu.Data[i] = gaussMean
	}
	x := sdk.NewRNG(seed+1000).Noise(3, 64, 64, math.Sqrt(gaussStd*gaussStd+gaussMax*gaussMax))
	for i := range x.Data {
		x.Data[i] += gaussMean
	}
	out, err := c.solver.Sample(context.Background(), sdktest.GaussianDenoiser(mu, gaussStd), sdk.SampleRequest{
		X: x, SigmaMax: gaussMax, SigmaMin: gaussMin, Steps: steps, Seed: seed, Params: c.resolve(t)})
	if err != nil {
		t.Fatal(err)
	}
	var sum, sq float64
	for _, v := range out.Data {
		sum += float64(v)
	}
	mean = sum / float64(len(out.Data))
	for _, v := range out.Data {
		sq += (float64(v) - mean) * (float64(v) - mean)
	}
	return mean, sq / float64(len(out.Data)-1)
}

// TestGaussianKnownAnswer samples Gaussian data, whose answer is known: the
// result's pixel mean and variance must approach μ = 0.2 and s² = 0.09 as
// the budget grows. The result is D(x, σ_min), which shrinks the variance by
// s²/(s² + σ_min²) (0.99996 here); the expected variance includes it.
//
// Tolerances come from measurement over seeds 1–20 (knownAnswers' measured
// column). With n = 12288 pixels the sample mean has standard error
// s/√n = 0.0027 and the sample variance a relative standard error
// √(2/n) = 1.3%. The mean tolerance 0.012 is 4.4 standard errors (the
// largest error measured at the large budgets was 0.0075). The variance
// tolerance 0.06 covers the discretisation bias left at these budgets
// (≤ 2%) plus 3 standard errors; the largest single-seed error measured was
// 4.1%. PC with a corrector gets 0.08: unadjusted Langevin's stationary
// variance is about snr² = 2.6% too large, and it measured +2.7% (largest
// 4.9%). At the small budget every case is at least 29% off, so "the error
// falls as the budget grows" is a meaningful check.
func TestGaussianKnownAnswer(t *testing.T) {
	for _, tc := range knownAnswers {
		t.Run(tc.c.String(), func(t *testing.T) {
			errSmall, _, _ := gaussianError(t, tc.c, tc.small, 1)
			errLarge, mLarge, vLarge := gaussianError(t, tc.c, tc.large, 1)
			t.Logf("variance error %+.1f%% at %d steps, %+.1f%% at %d; mean error %+.4f",
				100*errSmall, tc.small, 100*errLarge, tc.large, mLarge-gaussMean)
			if d := math.Abs(mLarge - gaussMean); d > 0.012 {
				t.Errorf("steps %d: mean %.4f, want %.1f ± 0.012", tc.large, mLarge, gaussMean)
			}
			if math.Abs(errLarge) > tc.varTol {
				t.Errorf("steps %d: variance %.4f is %+.1f%% off, tolerance %.0f%%", tc.large, vLarge, 100*errLarge, 100*tc.varTol)
			}
			if math.Abs(errSmall) <= tc.varTol || math.Abs(errLarge) >= math.Abs(errSmall) {
				t.Errorf("variance error %+.1f%% at %d steps, %+.1f%% at %d: want the small budget measurably worse",
					100*errSmall, tc.small, 100*errLarge, tc.large)
			}
		})
	}
}

// knownAnswers are TestGaussianKnownAnswer's cases; measured is the mean
// relative variance error over seeds 1–20, small → large budget.
var knownAnswers = []struct {
	c            config
	small, large int
	varTol       float64
	measured     string // variance error: mean (largest) at small → large budget
}{
	{with(solvers.EulerMaruyama{}), 8, 256, 0.06, "+43% (+47%) → 0.0% (+2.2%)"},
	{with(solvers.Euler{}), 8, 256, 0.06, "−44% (−46%) → −2.0% (−4.1%)"},
	{with(solvers.Heun{}), 8, 256, 0.06, "+143% (+150%) → −0.3% (+2.6%)"},
	{with(solvers.Heun{}, "s_churn", "10"), 8, 256, 0.06, "+238% (+247%) → +0.3% (+2.5%)"},
	{with(solvers.Heun{}, "s_churn", "40", "s_tmin", "0.05", "s_tmax", "1"), 8, 256, 0.06, "+165% (+172%) → +0.9% (+3.3%)"},
	{with(solvers.DPMPP2M{}), 8, 256, 0.06, "+29% (+33%) → −0.4% (+2.5%)"},
	{with(solvers.DDIM{}, "zeta", "0"), 8, 256, 0.06, "the same as euler"},
	{with(solvers.DDIM{}, "zeta", "0", "eta", "1"), 8, 1000, 0.06, "−62% (−63%) → −0.7% (+2.9%); −3.2% at 256"},
	{with(solvers.DDIM{}, "zeta", "0", "eta", "0.5"), 8, 1000, 0.06, "−47% (−49%) → −0.6% (−2.7%)"},
	{with(solvers.PC{}), 8, 256, 0.08, "+711% (+724%) → +2.7% (+4.9%); +2.3% at 1000"},
	{with(solvers.PC{}, "corrector_steps", "0"), 8, 1000, 0.06, "+237% (+245%) → +1.0% (+4.6%); +3.2% at 256"},
	{with(solvers.PC{}, "corrector_steps", "3"), 8, 256, 0.08, "+8877% (+9133%) → +2.4% (+3.7%)"},
	{with(solvers.SRA{}), 8, 256, 0.06, "+21867% (+22434%) → +0.2% (−2.3%)"},
}

// gaussianError runs gaussianRun and returns the variance's relative error
// against the exact answer, with the mean and variance.
func gaussianError(t *testing.T, c config, steps int, seed uint64) (varErr, mean, variance float64) {
	t.Helper()
	mean, variance = gaussianRun(t, c, steps, seed)
	want := math.Pow(gaussStd, 4) / (gaussStd*gaussStd + gaussMin*gaussMin)
	return variance/want - 1, mean, variance
}

// TestSeed checks that a seed fixes the output, that stochastic solvers give
// different outputs for different seeds, and that deterministic ones ignore it.
func TestSeed(t *testing.T) {
	mean := sdktest.TestImage(3, 16, 24)
	d := sdktest.GaussianDenoiser(mean, 0.5)
	run := func(t *testing.T, c config, seed uint64) *sdk.Tensor {
		x := sdk.NewRNG(3).Noise(3, 16, 24, 2)
		out, err := c.solver.Sample(context.Background(), d, sdk.SampleRequest{
			X: x, SigmaMax: 2, SigmaMin: 0.01, Steps: 9, Seed: seed, Params: c.resolve(t)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	same := func(a, b *sdk.Tensor) bool {
		for i := range a.Data {
			if math.Float32bits(a.Data[i]) != math.Float32bits(b.Data[i]) {
				return false
			}
		}
		return true
	}
	for _, c := range configs {
		t.Run(c.String(), func(t *testing.T) {
			a, b, other := run(t, c, 5), run(t, c, 5), run(t, c, 6)
			if !same(a, b) {
				t.Errorf("the same seed gave different outputs")
			}
			if c.stochastic && same(a, other) {
				t.Errorf("seeds 5 and 6 gave the same output from a stochastic solver")
			}
			if !c.stochastic && !same(a, other) {
				t.Errorf("seeds 5 and 6 gave different outputs from a deterministic solver")
			}
		})
	}
}

// TestBudget counts evaluations through a wrapping denoiser: never more than
// Steps (these solvers spend exactly Steps), every σ within [σ_min, σ_max],
// and the result is the last evaluation's estimate, made at σ_min.
func TestBudget(t *testing.T) {
	mean := sdktest.TestImage(1, 8, 8)
	inner := sdktest.GaussianDenoiser(mean, 0.5)
	const smax, smin = 3.0, 0.02
	for _, c := range configs {
		for _, steps := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 20, 21} {
			t.Run(fmt.Sprintf("%s/steps=%d", c, steps), func(t *testing.T) {
				var sigmas []float64
				var last *sdk.Tensor
				d := sdk.DenoiserFunc(func(ctx context.Context, x *sdk.Tensor, sigma float64) (*sdk.Tensor, error) {
					sigmas = append(sigmas, sigma)
					out, err := inner.Denoise(ctx, x, sigma)
					last = out.Clone()
					return out, err
				})
				x := sdk.NewRNG(1).Noise(1, 8, 8, smax)
				out, err := c.solver.Sample(context.Background(), d, sdk.SampleRequest{
					X: x, SigmaMax: smax, SigmaMin: smin, Steps: steps, Seed: 1, Params: c.resolve(t)})
				if err != nil {
					t.Fatal(err)
				}
				if len(sigmas) > steps {
					t.Fatalf("%d evaluations for a budget of %d", len(sigmas), steps)
				}
				if len(sigmas) != steps {
					t.Errorf("%d evaluations for a budget of %d: the budget is not spent", len(sigmas), steps)
				}
				for i, s := range sigmas {
					if s < smin || s > smax {
						t.Errorf("evaluation %d at σ = %g, outside [%g, %g]", i, s, smin, smax)
					}
				}
				// A budget of one has only σ_max to evaluate at (schedule.Sigmas with n = 1).
				if want := map[bool]float64{true: smax, false: smin}[steps == 1]; sigmas[len(sigmas)-1] != want {
					t.Errorf("last evaluation at σ = %g, want %g", sigmas[len(sigmas)-1], want)
				}
				for i := range out.Data {
					if out.Data[i] != last.Data[i] {
						t.Fatalf("the result is not the last evaluation's estimate (element %d: %v, %v)", i, out.Data[i], last.Data[i])
					}
				}
			})
		}
	}
}

// TestParamErrors checks the requests every solver must refuse.
func TestParamErrors(t *testing.T) {
	mean := sdktest.TestImage(1, 4, 4)
	d := sdktest.GaussianDenoiser(mean, 0.5)
	for _, c := range configs {
		t.Run(c.String(), func(t *testing.T) {
			_, err := c.solver.Sample(context.Background(), d, sdk.SampleRequest{
				X: mean.Clone(), SigmaMax: 1, SigmaMin: 0.1, Steps: 0, Params: c.resolve(t)})
			if !errors.Is(err, sdk.ErrParam) {
				t.Errorf("steps=0: got %v, want sdk.ErrParam", err)
			}
		})
	}
	t.Run("ddim eta and zeta", func(t *testing.T) {
		c := with(solvers.DDIM{}, "eta", "0.5", "zeta", "0.3")
		_, err := c.solver.Sample(context.Background(), d, sdk.SampleRequest{
			X: mean.Clone(), SigmaMax: 1, SigmaMin: 0.1, Steps: 4, Params: c.resolve(t)})
		if !errors.Is(err, sdk.ErrParam) {
			t.Errorf("eta=0.5 with zeta=0.3: got %v, want sdk.ErrParam", err)
		}
	})
}

// TestPnPConvergesToTheMean: plug-and-play iterates the denoiser, so on
// Gaussian data it must approach the mean (the MAP and MMSE point) as the
// steps grow, contracting by s²/(s²+σ_i²) per step.
func TestPnPConvergesToTheMean(t *testing.T) {
	mean := sdktest.TestImage(3, 16, 16)
	d := sdktest.GaussianDenoiser(mean, gaussStd)
	dist := func(steps int) float64 {
		x := sdk.NewRNG(9).Noise(3, 16, 16, gaussMax)
		for i := range x.Data {
			x.Data[i] += mean.Data[i]
		}
		out, err := solvers.PnP{}.Sample(context.Background(), d, sdk.SampleRequest{
			X: x, SigmaMax: gaussMax, SigmaMin: gaussMin, Steps: steps, Seed: 1, Params: with(solvers.PnP{}).resolve(t)})
		if err != nil {
			t.Fatal(err)
		}
		var s float64
		for i, v := range out.Data {
			e := float64(v - mean.Data[i])
			s += e * e
		}
		return math.Sqrt(s / float64(len(out.Data)))
	}
	few, many := dist(3), dist(40)
	if !(many < few/10) || many > 1e-3 {
		t.Fatalf("distance to the mean %.3g after 3 steps, %.3g after 40: want convergence below 1e-3", few, many)
	}
}

// TestPnPZetaSpread: with ζ > 0 plug-and-play re-noises each iterate, so on
// Gaussian data its results spread around the mean, by what the recursion
// v ← a_i²·v + ζσ_{i+1}² (a_i = s²/(s²+σ_i²), the denoiser's shrinkage)
// gives: less than the posterior's s², as the host's calibration measures
// on photographs (see host.Setting.Sampling). ζ = 0 gives no spread.
func TestPnPZetaSpread(t *testing.T) {
	for _, tc := range []struct {
		zeta  string
		steps int
	}{{"0", 20}, {"0.5", 20}, {"1", 20}, {"1", 8}} {
		t.Run(tc.zeta+"/"+strconv.Itoa(tc.steps), func(t *testing.T) {
			c := with(solvers.PnP{}, "zeta", tc.zeta)
			levels, err := schedule.Sigmas(schedule.Karras, tc.steps, gaussMax, gaussMin, 7)
			if err != nil {
				t.Fatal(err)
			}
			zeta, _ := strconv.ParseFloat(tc.zeta, 64)
			s2 := gaussStd * gaussStd
			v := s2 + gaussMax*gaussMax // the start's spread around the mean
			for i, si := range levels {
				a := s2 / (s2 + si*si)
				v *= a * a
				if i < len(levels)-1 {
					v += zeta * levels[i+1] * levels[i+1]
				}
			}
			_, got := gaussianRun(t, c, tc.steps, 5)
			if math.Abs(got-v) > 0.1*v+1e-9 || got >= s2 {
				t.Fatalf("variance %.4g, want %.4g (the recursion's), below the posterior's %.4g", got, v, s2)
			}
		})
	}
}
