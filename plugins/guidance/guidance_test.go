package guidance_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/restorekit/restore/plugins/guidance"
	"github.com/restorekit/restore/sdk"
	"github.com/restorekit/restore/sdk/operator"
	"github.com/restorekit/restore/sdk/sdktest"
)

func TestConformance(t *testing.T) {
	for _, c := range []struct {
		p    sdk.Guidance
		main string
	}{
		{guidance.DiffPIR{}, "../cmd/restore-diffpir"},
		{guidance.DDNM{}, "../cmd/restore-ddnm"},
		{guidance.MPGD{}, "../cmd/restore-mpgd"},
		{guidance.DAPS{}, "../cmd/restore-daps"},
	} {
		t.Run(c.p.Info().Name, func(t *testing.T) { sdktest.Check(t, c.p, c.main) })
	}
}

const (
	testC, testH, testW = 3, 20, 28
)

// testMask observes about 60% of the pixels.
func testMask() *sdk.Tensor {
	m := sdk.NewTensor(1, testH, testW)
	rng := sdk.NewRNG(17)
	for i := range m.Data {
		if rng.Float() < 0.6 {
			m.Data[i] = 1
		}
	}
	return m
}

// gaussKernel is a 7×7 Gaussian PSF of std 1.5.
func gaussKernel() *sdk.Tensor {
	k := sdk.NewTensor(1, 7, 7)
	for i := 0; i < 7; i++ {
		for j := 0; j < 7; j++ {
			k.Data[i*7+j] = float32(math.Exp(-float64((i-3)*(i-3)+(j-3)*(j-3)) / (2 * 1.5 * 1.5)))
		}
	}
	return k
}

// motionKernel is a one-sided 9×9 streak: the kind whose reflective-boundary
// blur has ‖A‖² well above 1.
func motionKernel() *sdk.Tensor {
	k := sdk.NewTensor(1, 9, 9)
	for i := 0; i <= 4; i++ {
		k.Data[i*9+i] = float32(5 - i)
	}
	return k
}

func specs() []sdk.OperatorSpec {
	return []sdk.OperatorSpec{
		{Kind: sdk.OpIdentity},
		{Kind: sdk.OpMask, Mask: testMask()},
		{Kind: sdk.OpBlur, Kernel: gaussKernel()},
		{Kind: sdk.OpBlur, Kernel: motionKernel()},
	}
}

func specName(s sdk.OperatorSpec) string {
	if s.Kind == sdk.OpBlur && s.Kernel.H == 9 {
		return "motion-blur"
	}
	return s.Kind
}

func mustOp(t *testing.T, s sdk.OperatorSpec) operator.Operator {
	t.Helper()
	op, err := operator.New(s, testC, testH, testW)
	if err != nil {
		t.Fatal(err)
	}
	return op
}

// measure returns A truth + noise of std sigmaY.
func measure(t *testing.T, s sdk.OperatorSpec, truth *sdk.Tensor, sigmaY float64) *sdk.Tensor {
	y := mustOp(t, s).Apply(truth)
	n := sdk.NewRNG(99).Noise(y.C, y.H, y.W, sigmaY)
	for i := range y.Data {
		y.Data[i] += n.Data[i]
	}
	return y
}

// estimate is a stand-in for a denoiser's estimate: the truth plus a
// structured error of about 0.2.
func estimate(truth *sdk.Tensor, seed uint64) *sdk.Tensor {
	x := truth.Clone()
	n := sdk.NewRNG(seed).Noise(x.C, x.H, x.W, 0.2)
	for i := range x.Data {
		x.Data[i] += n.Data[i]
	}
	return x
}

func begin(t *testing.T, g sdk.Guidance, p sdk.Problem, values map[string]string) sdk.Guider {
	t.Helper()
	params, err := g.Info().Resolve(values)
	if err != nil {
		t.Fatal(err)
	}
	gd, err := g.Begin(context.Background(), p, params)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	t.Cleanup(func() { gd.End() })
	return gd
}

func guide(t *testing.T, gd sdk.Guider, x0 *sdk.Tensor, sigma float64, step int) *sdk.Tensor {
	t.Helper()
	out, err := gd.Guide(context.Background(), sdk.GuideStep{X0: x0.Clone(), Xt: x0.Clone(), Sigma: sigma, Step: step})
	if err != nil {
		t.Fatalf("Guide: %v", err)
	}
	if !out.SameShape(x0) || !out.Finite() {
		t.Fatalf("Guide returned %v (finite %v) for %v", out, out.Finite(), x0)
	}
	return out
}

func rms(a, b *sdk.Tensor) float64 {
	s := 0.0
	for i := range a.Data {
		d := float64(a.Data[i]) - float64(b.Data[i])
		s += d * d
	}
	return math.Sqrt(s / float64(len(a.Data)))
}

func residual(op operator.Operator, x, y *sdk.Tensor) float64 { return rms(op.Apply(x), y) }

func all() []sdk.Guidance {
	return []sdk.Guidance{guidance.DiffPIR{}, guidance.DDNM{}, guidance.MPGD{}, guidance.DAPS{}}
}

// TestEveryOperator runs every plugin on every operator, noise-free and
// noisy, at noise levels from high to low: the output is finite, and the
// deterministic methods never move away from the measurement.
func TestEveryOperator(t *testing.T) {
	truth := sdktest.TestImage(testC, testH, testW)
	for _, g := range all() {
		for _, s := range specs() {
			for _, sy := range []float64{0, 0.05} {
				t.Run(fmt.Sprintf("%s/%s/σy=%g", g.Info().Name, specName(s), sy), func(t *testing.T) {
					y := measure(t, s, truth, sy)
					gd := begin(t, g, sdk.Problem{Y: y, Operator: s, SigmaY: sy, Seed: 1}, nil)
					op := mustOp(t, s)
					for step, sigma := range []float64{5, 0.5, 0.02} {
						x0 := estimate(truth, uint64(step))
						out := guide(t, gd, x0, sigma, step)
						before, after := residual(op, x0, y), residual(op, out, y)
						if g.Info().Name != "daps" && after > before*(1+1e-6) {
							t.Errorf("σ=%g: residual rose from %.4g to %.4g", sigma, before, after)
						}
						if sigma == 5 && after > 0.9*before {
							t.Errorf("σ=%g: residual %.4g → %.4g, want a clear reduction", sigma, before, after)
						}
					}
				})
			}
		}
	}
}

func TestWrongShape(t *testing.T) {
	y := sdktest.TestImage(testC, testH, testW)
	for _, g := range all() {
		t.Run(g.Info().Name, func(t *testing.T) {
			gd := begin(t, g, sdk.Problem{Y: y, Operator: sdk.OperatorSpec{Kind: sdk.OpIdentity}, SigmaY: 0.05}, nil)
			_, err := gd.Guide(context.Background(), sdk.GuideStep{X0: sdk.NewTensor(testC, testH, testW+1), Sigma: 1})
			if !errors.Is(err, sdk.ErrShape) {
				t.Fatalf("a 3x20x29 estimate for a 3x20x28 measurement gave %v, want ErrShape", err)
			}
		})
	}
}

func TestBadProblem(t *testing.T) {
	y := sdktest.TestImage(testC, testH, testW)
	for _, g := range all() {
		t.Run(g.Info().Name, func(t *testing.T) {
			params, _ := g.Info().Resolve(nil)
			for _, p := range []sdk.Problem{
				{Y: &sdk.Tensor{C: 3, H: 2, W: 2, Data: make([]float32, 5)}},
				{Y: y, Operator: sdk.OperatorSpec{Kind: sdk.OpMask, Mask: sdk.NewTensor(1, 3, 3)}},
				{Y: y, Operator: sdk.OperatorSpec{Kind: "warp"}},
			} {
				if _, err := g.Begin(context.Background(), p, params); err == nil {
					t.Errorf("Begin accepted %+v", p.Operator)
				}
			}
		})
	}
}

func TestDDNMKnownAnswers(t *testing.T) {
	truth := sdktest.TestImage(testC, testH, testW)
	x0 := estimate(truth, 5)
	mask := testMask()
	// y is not A x for any x on the missing pixels: they must be ignored.
	y := estimate(truth, 6)
	n := testH * testW
	cases := []struct {
		name   string
		spec   sdk.OperatorSpec
		sigmaY float64
		sigma  float64
		params map[string]string
		want   func(i int) float32 // the exact result at element i
	}{
		{"mask", sdk.OperatorSpec{Kind: sdk.OpMask, Mask: mask}, 0, 0.3, nil, func(i int) float32 {
			if mask.Data[i%n] == 1 {
				return y.Data[i]
			}
			return x0.Data[i]
		}},
		{"identity", sdk.OperatorSpec{Kind: sdk.OpIdentity}, 0, 0.3, nil, func(i int) float32 { return y.Data[i] }},
		// σ_t ≥ c σ_y: the noise guard lets the full projection through.
		{"identity-noisy-early", sdk.OperatorSpec{Kind: sdk.OpIdentity}, 0.05, 0.5, nil, func(i int) float32 { return y.Data[i] }},
		{"mask-noisy-early", sdk.OperatorSpec{Kind: sdk.OpMask, Mask: mask}, 0.05, 0.2, map[string]string{"c": "2"}, func(i int) float32 {
			if mask.Data[i%n] == 1 {
				return y.Data[i]
			}
			return x0.Data[i]
		}},
		{"gamma-0", sdk.OperatorSpec{Kind: sdk.OpMask, Mask: mask}, 0, 0.3, map[string]string{"gamma": "0"}, func(i int) float32 { return x0.Data[i] }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gd := begin(t, guidance.DDNM{}, sdk.Problem{Y: y, Operator: c.spec, SigmaY: c.sigmaY}, c.params)
			out := guide(t, gd, x0, c.sigma, 0)
			for i, v := range out.Data {
				if w := c.want(i); math.Float32bits(v) != math.Float32bits(w) {
					t.Fatalf("element %d = %v, want exactly %v", i, v, w)
				}
			}
		})
	}
	// Late, σ_t = σ_y/2 with c = 1: λ_t = 1/2, half-way from x̂₀ to y.
	t.Run("identity-noisy-late", func(t *testing.T) {
		gd := begin(t, guidance.DDNM{}, sdk.Problem{Y: y, Operator: sdk.OperatorSpec{Kind: sdk.OpIdentity}, SigmaY: 0.1}, nil)
		out := guide(t, gd, x0, 0.05, 0)
		for i, v := range out.Data {
			if w := (x0.Data[i] + y.Data[i]) / 2; math.Abs(float64(v-w)) > 1e-6 {
				t.Fatalf("element %d = %v, want %v", i, v, w)
			}
		}
	})
}

// interiorRMS is the RMS of a − b at least m pixels from the border.
func interiorRMS(a, b *sdk.Tensor, m int) float64 {
	s, n := 0.0, 0
	for c := 0; c < a.C; c++ {
		for i := m; i < a.H-m; i++ {
			for j := m; j < a.W-m; j++ {
				k := (c*a.H+i)*a.W + j
				d := float64(a.Data[k]) - float64(b.Data[k])
				s += d * d
				n++
			}
		}
	}
	return math.Sqrt(s / float64(n))
}

// TestDDNMBlur: noise-free, the projection removes most of the residual.
// Away from the border (where the pseudo-inverse's periodic model and A's
// reflection part ways) it removes more the smaller the regulariser, and
// nearly all of it at the default.
func TestDDNMBlur(t *testing.T) {
	truth := sdktest.TestImage(testC, testH, testW)
	x0 := estimate(truth, 5)
	for _, s := range specs()[2:] {
		t.Run(specName(s), func(t *testing.T) {
			op := mustOp(t, s)
			y := op.Apply(truth)
			m := s.Kernel.H
			before, beforeIn := residual(op, x0, y), interiorRMS(op.Apply(x0), y, m)
			last := beforeIn
			for _, eps := range []string{"0.1", "0.001", "1e-06"} {
				gd := begin(t, guidance.DDNM{}, sdk.Problem{Y: y, Operator: s}, map[string]string{"epsilon": eps})
				out := guide(t, gd, x0, 0.5, 0)
				after, in := residual(op, out, y), interiorRMS(op.Apply(out), y, m)
				t.Logf("ε=%s: residual %.4g → %.4g, interior %.4g → %.4g", eps, before, after, beforeIn, in)
				if in >= last {
					t.Errorf("ε=%s: interior residual %.4g, not below %.4g", eps, in, last)
				}
				if after > 0.5*before {
					t.Errorf("ε=%s: residual %.4g → %.4g, want it halved at least", eps, before, after)
				}
				if eps == "0.001" && in > 0.05*beforeIn {
					t.Errorf("ε=%s left %.4g of a %.4g interior residual", eps, in, beforeIn)
				}
				last = in
			}
		})
	}
}

// TestDDNMNoiseGuard: given the true image, the projection can only add the
// measurement's noise; DDNM+'s guard keeps it to σ_t/c even where the
// pseudo-inverse amplifies it (a blur's near-zero frequencies).
func TestDDNMNoiseGuard(t *testing.T) {
	truth := sdktest.TestImage(testC, testH, testW)
	const sigmaY = 0.05
	for _, s := range specs() {
		for _, sigma := range []float64{0.02, 0.005} {
			for _, c := range []float64{1, 4} {
				t.Run(fmt.Sprintf("%s/σ=%g/c=%g", specName(s), sigma, c), func(t *testing.T) {
					y := measure(t, s, truth, sigmaY)
					gd := begin(t, guidance.DDNM{}, sdk.Problem{Y: y, Operator: s, SigmaY: sigmaY},
						map[string]string{"c": fmt.Sprint(c), "epsilon": "1e-6"})
					got := rms(guide(t, gd, truth, sigma, 0), truth)
					// The bound holds for the noise's standard deviation; allow
					// for this draw's (the noise is 0.051 rather than 0.05).
					bound := 1.05 * sigma / c
					t.Logf("carried noise %.4g, bound %.4g", got, bound)
					if got > bound || got < bound/20 {
						t.Errorf("carried noise %.4g, want at most σ_t/c = %.4g (and not nothing)", got, bound)
					}
				})
			}
		}
	}
}

func TestMPGD(t *testing.T) {
	truth := sdktest.TestImage(testC, testH, testW)
	x0 := estimate(truth, 5)
	for _, s := range specs()[2:] {
		op := mustOp(t, s)
		y := op.Apply(truth)
		p := sdk.Problem{Y: y, Operator: s}
		t.Run(specName(s)+"/step-0", func(t *testing.T) {
			out := guide(t, begin(t, guidance.MPGD{}, p, map[string]string{"step": "0", "iters": "5"}), x0, 1, 0)
			for i, v := range out.Data {
				if math.Float32bits(v) != math.Float32bits(x0.Data[i]) {
					t.Fatalf("step=0 changed element %d: %v → %v", i, x0.Data[i], v)
				}
			}
		})
		t.Run(specName(s)+"/small-step", func(t *testing.T) {
			out := guide(t, begin(t, guidance.MPGD{}, p, map[string]string{"step": "1e-6"}), x0, 1, 0)
			if d := rms(out, x0); d > 1e-6 || d == 0 {
				t.Fatalf("step=1e-6 moved the estimate by %g", d)
			}
		})
		// The largest step the parameter allows, repeated: gradient descent
		// must still reduce the residual at every step, which fails if the
		// bound on ‖A‖² is too low (the one-sided kernel's is about 1.6).
		t.Run(specName(s)+"/monotone", func(t *testing.T) {
			last := residual(op, x0, y)
			for k := 1; k <= 8; k++ {
				gd := begin(t, guidance.MPGD{}, p, map[string]string{"step": "1.9", "iters": fmt.Sprint(k)})
				r := residual(op, guide(t, gd, x0, 1, 0), y)
				if r >= last {
					t.Fatalf("iteration %d: residual %.5g, not below %.5g", k, r, last)
				}
				last = r
			}
		})
	}
	// One step of size 1 on A = I is DiffPIR's proximal step with λ = 1.
	t.Run("identity-is-diffpir", func(t *testing.T) {
		y := estimate(truth, 6)
		p := sdk.Problem{Y: y, Operator: sdk.OperatorSpec{Kind: sdk.OpIdentity}, SigmaY: 0.1}
		for _, sigma := range []float64{1, 0.1, 0.01} {
			a := guide(t, begin(t, guidance.MPGD{}, p, nil), x0, sigma, 0)
			b := guide(t, begin(t, guidance.DiffPIR{}, p, nil), x0, sigma, 0)
			if d := rms(a, b); d > 1e-6 {
				t.Errorf("σ=%g: MPGD and DiffPIR differ by %g", sigma, d)
			}
		}
	})
}

func mean(a, b *sdk.Tensor) float64 {
	s := 0.0
	for i := range a.Data {
		s += float64(a.Data[i]) - float64(b.Data[i])
	}
	return s / float64(len(a.Data))
}

// TestDAPSLangevin checks the paper's Langevin chain (sampler=langevin).
func TestDAPSLangevin(t *testing.T) {
	langevin := map[string]string{"sampler": "langevin"}
	truth := sdktest.TestImage(testC, testH, testW)
	x0 := estimate(truth, 5)
	y := estimate(truth, 6) // about 0.28 from x0, element by element
	id := sdk.OperatorSpec{Kind: sdk.OpIdentity}
	t.Run("tiny-σy-finds-y", func(t *testing.T) {
		for _, sy := range []float64{0, 1e-6} {
			gd := begin(t, guidance.DAPS{}, sdk.Problem{Y: y, Operator: id, SigmaY: sy, Seed: 3}, langevin)
			for step, sigma := range []float64{2, 0.1} {
				if d := rms(guide(t, gd, x0, sigma, step), y); d > 3e-3 {
					t.Errorf("σ_y=%g, σ=%g: %g from y", sy, sigma, d)
				}
			}
		}
	})
	t.Run("huge-σy-stays-at-estimate", func(t *testing.T) {
		gd := begin(t, guidance.DAPS{}, sdk.Problem{Y: y, Operator: id, SigmaY: 1e3, Seed: 3}, langevin)
		const sigma = 0.1
		out := guide(t, gd, x0, sigma, 0)
		// The chain samples N(x̂₀, r_t²) (r_t = σ_t): centred on x̂₀, spread r_t
		// (4/3 of the variance with lr = 1/2).
		m, spread := mean(out, x0), rms(out, x0)
		if math.Abs(m) > 4*sigma/math.Sqrt(float64(len(out.Data))) {
			t.Errorf("mean offset %g from the estimate", m)
		}
		if spread < 0.9*sigma || spread > 1.3*sigma {
			t.Errorf("spread %g around the estimate, want about %g", spread, sigma*math.Sqrt(4.0/3))
		}
	})
	t.Run("r_scale", func(t *testing.T) {
		gd := begin(t, guidance.DAPS{}, sdk.Problem{Y: y, Operator: id, SigmaY: 1e3, Seed: 3}, map[string]string{"r_scale": "0.1", "sampler": "langevin"})
		if spread := rms(guide(t, gd, x0, 0.1, 0), x0); spread < 0.009 || spread > 0.013 {
			t.Errorf("spread %g with r_t = 0.1·σ_t = 0.01", spread)
		}
	})
	t.Run("mask", func(t *testing.T) {
		mask := testMask()
		gd := begin(t, guidance.DAPS{}, sdk.Problem{Y: y, Operator: sdk.OperatorSpec{Kind: sdk.OpMask, Mask: mask}, SigmaY: 0, Seed: 3}, langevin)
		out := guide(t, gd, x0, 0.5, 0)
		n := testH * testW
		for i, v := range out.Data {
			want, tol := x0.Data[i], 0.05 // the null space barely moves against so strong a data term
			if mask.Data[i%n] == 1 {
				want, tol = y.Data[i], 0.01
			}
			if math.Abs(float64(v-want)) > tol {
				t.Fatalf("element %d (observed %v) = %v, want %v ± %g", i, mask.Data[i%n], v, want, tol)
			}
		}
	})
	t.Run("seeded", func(t *testing.T) {
		run := func(seed uint64, step int) *sdk.Tensor {
			gd := begin(t, guidance.DAPS{}, sdk.Problem{Y: y, Operator: id, SigmaY: 0.05, Seed: seed}, langevin)
			return guide(t, gd, x0, 0.3, step)
		}
		a, b := run(7, 4), run(7, 4)
		for i := range a.Data {
			if math.Float32bits(a.Data[i]) != math.Float32bits(b.Data[i]) {
				t.Fatalf("seed 7, step 4 gave two results (element %d: %v, %v)", i, a.Data[i], b.Data[i])
			}
		}
		for _, other := range []struct {
			name string
			x    *sdk.Tensor
		}{{"step 5", run(7, 5)}, {"seed 8", run(8, 4)}} {
			// Independent draws differ by √2 times the posterior's spread (about 0.05 here).
			if d := rms(a, other.x); d < 0.02 {
				t.Errorf("%s is only %g from seed 7, step 4", other.name, d)
			}
		}
	})
}

// TestDAPSExact checks the default perturb-and-MAP sampler against the
// Gaussian posterior it must draw from.
func TestDAPSExact(t *testing.T) {
	truth := sdktest.TestImage(testC, testH, testW)
	x0 := estimate(truth, 5)
	y := estimate(truth, 6)
	id := sdk.OperatorSpec{Kind: sdk.OpIdentity}
	n := float64(len(x0.Data))
	t.Run("posterior-mean-and-spread", func(t *testing.T) {
		// σ_y = r_t: the posterior of each value is N((x̂₀ + y)/2, r_t²/2).
		const sigma = 0.1
		gd := begin(t, guidance.DAPS{}, sdk.Problem{Y: y, Operator: id, SigmaY: sigma, Seed: 3}, nil)
		out := guide(t, gd, x0, sigma, 0)
		mid := x0.Clone()
		for i := range mid.Data {
			mid.Data[i] = (x0.Data[i] + y.Data[i]) / 2
		}
		if m := mean(out, mid); math.Abs(m) > 4*sigma/math.Sqrt(2*n) {
			t.Errorf("mean offset %g from (x̂₀ + y)/2", m)
		}
		want := sigma / math.Sqrt2
		if spread := rms(out, mid); math.Abs(spread-want) > 0.05*want {
			t.Errorf("spread %g, want %g", spread, want)
		}
	})
	t.Run("mask", func(t *testing.T) {
		mask := testMask()
		const sigma = 0.5
		gd := begin(t, guidance.DAPS{}, sdk.Problem{Y: y, Operator: sdk.OperatorSpec{Kind: sdk.OpMask, Mask: mask}, SigmaY: 0, Seed: 3}, nil)
		out := guide(t, gd, x0, sigma, 0)
		plane := testH * testW
		var sum2, cnt float64
		for i, v := range out.Data {
			if mask.Data[i%plane] == 1 {
				if math.Abs(float64(v-y.Data[i])) > 2e-3 {
					t.Fatalf("observed element %d = %v, want y = %v", i, v, y.Data[i])
				}
				continue
			}
			d := float64(v - x0.Data[i])
			sum2 += d * d
			cnt++
		}
		// missing pixels: the prior's draw N(x̂₀, r_t²)
		if spread := math.Sqrt(sum2 / cnt); math.Abs(spread-sigma) > 0.1*sigma {
			t.Errorf("missing pixels spread %g around x̂₀, want %g", spread, sigma)
		}
	})
}
