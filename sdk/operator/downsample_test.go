package operator

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/restorekit/restore/sdk"
)

// pilImage is the test image of the PIL references: in numpy,
// (((i*31 + j*17 + i*j*7) % 23) / 22.0 - 0.5).astype(np.float32).
func pilImage(h, w int) *sdk.Tensor {
	t := sdk.NewTensor(1, h, w)
	for i := 0; i < h; i++ {
		for j := 0; j < w; j++ {
			t.Data[i*w+j] = float32(float64((i*31+j*17+i*j*7)%23)/22.0 - 0.5)
		}
	}
	return t
}

// TestDownsampleMatchesPIL compares A x with numbers computed by Pillow 9.4.0
// (numpy 1.24.2, Debian's /usr/bin/python3) on pilImage:
//
//	y = np.asarray(Image.fromarray(x, mode='F').resize((w//s, h//s), Image.BICUBIC))
//
// printed to 7 decimals. The 12×24 image is non-square so that rows and
// columns cannot be confused, and its border pattern is sharp so that the
// edge handling (renormalised, not reflected, windows) matters; 4×8 at s = 4
// has every window cut on both sides.
func TestDownsampleMatchesPIL(t *testing.T) {
	tests := []struct {
		h, w, s int
		want    []float64
	}{
		{12, 24, 2, []float64{
			-0.1083601, -0.0138836, 0.1531201, 0.0216404, 0.2344820, 0.0823782, 0.3112133, -0.0745731, -0.1470170, -0.2465098, -0.0897658, -0.2263107,
			-0.1127717, -0.1244764, -0.0817913, 0.0607608, 0.0519597, 0.0923378, 0.1660328, 0.1168036, -0.0334643, 0.0704414, -0.1488784, -0.1123179,
			-0.1329247, -0.1334919, -0.1450958, -0.1869396, -0.1814048, 0.1936985, 0.1862800, 0.1175086, 0.1126265, 0.0936904, 0.0804990, -0.0339356,
			-0.0862911, -0.1426254, 0.2468206, 0.0047261, -0.1514650, -0.1295159, 0.1277785, -0.1023039, -0.1126106, 0.0582060, 0.2454329, 0.0051833,
			0.0417749, -0.1782675, 0.0037191, -0.0586904, -0.0018181, 0.0795729, 0.0881333, -0.0532245, 0.0897389, 0.0104423, -0.0665993, 0.0540269,
			0.0457283, -0.2023664, -0.1568904, -0.0164638, 0.1777700, 0.0470080, 0.2978341, -0.2299970, -0.1534589, -0.0330924, 0.0818617, 0.2035408,
		}},
		{12, 24, 3, []float64{
			-0.0930505, 0.0313156, 0.0984736, 0.1458287, 0.1684025, -0.1015787, -0.1333333, -0.1652040,
			-0.1418034, -0.1124736, -0.1233610, 0.0699064, 0.1507897, 0.0930032, 0.0721094, -0.0381227,
			-0.0973836, 0.0503894, -0.0479319, -0.0624538, 0.0343065, -0.0423887, 0.0801403, 0.0707095,
			-0.0549253, -0.1530673, 0.0268013, 0.1180546, 0.0884998, -0.1115975, -0.0217221, 0.1112646,
		}},
		{12, 24, 4, []float64{
			-0.0908276, 0.0091659, 0.1260400, 0.1256535, -0.0666203, -0.1350647,
			-0.1039969, -0.0464185, -0.0418911, 0.0738285, 0.0543234, 0.0580806,
			-0.0808446, -0.0446901, 0.0741779, 0.0125350, -0.0452884, 0.0719506,
		}},
		{4, 8, 4, []float64{-0.0780680, 0.0483385}},
	}
	for _, tc := range tests {
		d, err := NewDownsample(tc.s, tc.h, tc.w)
		if err != nil {
			t.Fatal(err)
		}
		got := d.Apply(pilImage(tc.h, tc.w))
		if got.C != 1 || got.H != tc.h/tc.s || got.W != tc.w/tc.s {
			t.Fatalf("%dx%d /%d: result is %v", tc.w, tc.h, tc.s, got)
		}
		worst := 0.0
		for i, want := range tc.want {
			worst = math.Max(worst, math.Abs(float64(got.Data[i])-want))
		}
		t.Logf("%dx%d /%d: max |A x − PIL| = %.2g", tc.w, tc.h, tc.s, worst)
		if worst > 1e-4 {
			t.Errorf("%dx%d /%d: max |A x − PIL| = %g > 1e-4", tc.w, tc.h, tc.s, worst)
		}
	}
}

// TestDownsampleMatchesPILColour checks that every channel is resized alike.
func TestDownsampleMatchesPILColour(t *testing.T) {
	g := pilImage(12, 24)
	x := sdk.NewTensor(3, 12, 24)
	for c := 0; c < 3; c++ {
		for i, v := range g.Data {
			x.Data[c*len(g.Data)+i] = v * float32(c+1)
		}
	}
	d, _ := NewDownsample(4, 12, 24)
	y := d.Apply(x)
	// The first PIL value of the 12×24 /4 table, scaled by the channel's factor.
	for c := 0; c < 3; c++ {
		if got, want := float64(y.Data[c*18]), -0.0908276*float64(c+1); math.Abs(got-want) > 1e-4 {
			t.Errorf("channel %d: got %g want %g", c, got, want)
		}
	}
}

func TestDownsampleAdjoint(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, tc := range []struct{ s, h, w int }{{2, 24, 36}, {3, 24, 36}, {4, 24, 36}, {4, 4, 8}, {3, 3, 3}, {8, 64, 40}} {
		d, err := NewDownsample(tc.s, tc.h, tc.w)
		if err != nil {
			t.Fatal(err)
		}
		x, y := randTensor(r, 3, tc.h, tc.w), randTensor(r, 3, tc.h/tc.s, tc.w/tc.s)
		lhs, rhs := dot(d.Apply(x), y), dot(x, d.Adjoint(y))
		rel := math.Abs(lhs-rhs) / (math.Abs(lhs) + 1)
		t.Logf("s=%d %dx%d: <Ax,y> = %.7g, <x,Aᵀy> = %.7g, relative gap %.2g", tc.s, tc.w, tc.h, lhs, rhs, rel)
		if rel > 1e-5 {
			t.Errorf("s=%d %dx%d: <Ax,y> = %g, <x,Aᵀy> = %g", tc.s, tc.w, tc.h, lhs, rhs)
		}
	}
}

// residual returns A x − y.
func residual(op Operator, x, y *sdk.Tensor) *sdk.Tensor {
	res := op.Apply(x)
	for i := range res.Data {
		res.Data[i] -= y.Data[i]
	}
	return res
}

// TestDownsampleProxOptimality checks that the gradient of the prox
// objective, Aᵀ(Ax − y)/σ² + ρ(x − z), vanishes at the returned x, over
// weights from "trust the estimate" to "trust the measurement".
func TestDownsampleProxOptimality(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, s := range []int{2, 3, 4} {
		const c, h, w = 3, 48, 36
		d, err := NewDownsample(s, h, w)
		if err != nil {
			t.Fatal(err)
		}
		for _, sr := range []struct{ sigma, rho float64 }{{0.1, 1}, {0.05, 30}, {1, 0.5}, {0.05, 1e-4}, {0.05, 1e4}, {1e-3, 1}} {
			truth := smoothTensor(r, c, h, w)
			y := d.Apply(truth)
			z := truth.Clone()
			for i := range y.Data {
				y.Data[i] += float32(0.05 * r.NormFloat64())
			}
			for i := range z.Data {
				z.Data[i] += float32(0.2 * r.NormFloat64())
			}
			grad := func(x *sdk.Tensor) *sdk.Tensor {
				g := d.Adjoint(residual(d, x, y))
				for i := range g.Data {
					g.Data[i] = float32(float64(g.Data[i])/(sr.sigma*sr.sigma) + sr.rho*float64(x.Data[i]-z.Data[i]))
				}
				return g
			}
			x := d.Prox(z, y, sr.sigma, sr.rho)
			gx, gz := norm(grad(x)), norm(grad(z))
			// Rounding x to float32 alone leaves a gradient of up to about
			// ‖∇²f‖·2⁻²⁴·‖x‖, with ‖∇²f‖ ≤ ρ + ‖AᵀA‖/σ² ≤ ρ + 1/σ²: the floor
			// that matters when ρ is large and x barely moves from z.
			floor := (sr.rho + 1/(sr.sigma*sr.sigma)) * 0x1p-24 * norm(x)
			t.Logf("s=%d σ=%g ρ=%g: |∇f(x)|/|∇f(z)| = %.2g, |∇f(x)|/float32 floor = %.2g", s, sr.sigma, sr.rho, gx/gz, gx/floor)
			if gx > 1e-4*gz && gx > floor {
				t.Errorf("s=%d σ=%g ρ=%g: |∇f(x)|/|∇f(z)| = %.3g > 1e-4 and |∇f(x)| = %.3g > float32 floor %.3g",
					s, sr.sigma, sr.rho, gx/gz, gx, floor)
			}
		}
	}
}

// nullVector returns a random v − A⁺A v: a direction that A cannot see.
func nullVector(t *testing.T, r *rand.Rand, d *Downsample, c int) *sdk.Tensor {
	t.Helper()
	v := randTensor(r, c, d.h, d.w)
	p, err := d.PseudoInverse(d.Apply(v))
	if err != nil {
		t.Fatal(err)
	}
	for i := range v.Data {
		v.Data[i] -= p.Data[i]
	}
	return v
}

// TestDownsampleProxExactConstraint checks σ_y = 0: Prox returns the
// projection of z onto {x : A x = y}, so A x = y and x − z is orthogonal to
// A's null space.
func TestDownsampleProxExactConstraint(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, s := range []int{2, 3, 4} {
		const c, h, w = 2, 24, 36
		d, _ := NewDownsample(s, h, w)
		z, y := randTensor(r, c, h, w), randTensor(r, c, h/s, w/s)
		x := d.Prox(z, y, 0, 1)
		fit := norm(residual(d, x, y)) / norm(y)
		diff := x.Clone()
		for i := range diff.Data {
			diff.Data[i] -= z.Data[i]
		}
		n := nullVector(t, r, d, c)
		orth := math.Abs(dot(diff, n)) / (norm(diff) * norm(n))
		t.Logf("s=%d: |Ax−y|/|y| = %.2g, cos(x−z, null) = %.2g", s, fit, orth)
		if fit > 1e-5 || orth > 1e-5 {
			t.Errorf("s=%d: |Ax−y|/|y| = %g, cos(x−z, null vector) = %g", s, fit, orth)
		}
	}
}

// TestDownsamplePseudoInverse checks A A⁺ y = y and that A⁺ y is the
// least-norm solution (orthogonal to A's null space).
func TestDownsamplePseudoInverse(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for _, tc := range []struct{ s, h, w int }{{2, 24, 36}, {3, 24, 36}, {4, 24, 36}, {4, 4, 4}, {2, 128, 96}} {
		d, _ := NewDownsample(tc.s, tc.h, tc.w)
		y := randTensor(r, 3, tc.h/tc.s, tc.w/tc.s)
		x, err := d.PseudoInverse(y)
		if err != nil {
			t.Fatal(err)
		}
		fit := norm(residual(d, x, y)) / norm(y)
		n := nullVector(t, r, d, 3)
		orth := math.Abs(dot(x, n)) / (norm(x) * norm(n))
		t.Logf("s=%d %dx%d: |A A⁺y − y|/|y| = %.2g, cos(A⁺y, null) = %.2g", tc.s, tc.w, tc.h, fit, orth)
		if fit > 1e-5 || orth > 1e-5 {
			t.Errorf("s=%d %dx%d: |A A⁺y − y|/|y| = %g, cos(A⁺y, null vector) = %g", tc.s, tc.w, tc.h, fit, orth)
		}
	}
	d, _ := NewDownsample(2, 8, 8)
	if _, err := d.PseudoInverse(sdk.NewTensor(1, 8, 8)); !errors.Is(err, sdk.ErrShape) {
		t.Errorf("y of the image's size: err = %v, want ErrShape", err)
	}
}

func TestDownsamplePanicsOnWrongShape(t *testing.T) {
	d, _ := NewDownsample(2, 8, 8)
	for name, f := range map[string]func(){
		"Apply of a measurement": func() { d.Apply(sdk.NewTensor(1, 4, 4)) },
		"Adjoint of an image":    func() { d.Adjoint(sdk.NewTensor(1, 8, 8)) },
		"Prox with y swapped":    func() { d.Prox(sdk.NewTensor(1, 4, 4), sdk.NewTensor(1, 8, 8), 0.1, 1) },
		"Prox channel mismatch":  func() { d.Prox(sdk.NewTensor(3, 8, 8), sdk.NewTensor(1, 4, 4), 0.1, 1) },
	} {
		func() {
			defer func() {
				err, _ := recover().(error)
				if !errors.Is(err, sdk.ErrShape) {
					t.Errorf("%s: recovered %v, want an ErrShape panic", name, err)
				}
			}()
			f()
		}()
	}
}

func TestDownsampleConcurrent(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	d, _ := NewDownsample(3, 30, 24)
	z, y := randTensor(r, 3, 30, 24), randTensor(r, 3, 10, 8)
	want := d.Prox(z, y, 0.05, 2)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if got := d.Prox(z, y, 0.05, 2); dot(got, got) != dot(want, want) {
				t.Error("concurrent Prox differs")
			}
			d.Apply(z)
			d.Adjoint(y)
		})
	}
	wg.Wait()
}

func TestNewRejectsBadDownsampleSpecs(t *testing.T) {
	tests := []struct {
		name string
		spec sdk.OperatorSpec
		h, w int
	}{
		{"no scale", sdk.OperatorSpec{Kind: sdk.OpDownsample}, 8, 8},
		{"scale 1", sdk.OperatorSpec{Kind: sdk.OpDownsample, Scale: 1}, 8, 8},
		{"negative scale", sdk.OperatorSpec{Kind: sdk.OpDownsample, Scale: -2}, 8, 8},
		{"scale above MaxScale", sdk.OperatorSpec{Kind: sdk.OpDownsample, Scale: MaxScale + 1}, 8 * (MaxScale + 1), 8 * (MaxScale + 1)},
		{"height not a multiple", sdk.OperatorSpec{Kind: sdk.OpDownsample, Scale: 4}, 10, 8},
		{"width not a multiple", sdk.OperatorSpec{Kind: sdk.OpDownsample, Scale: 3}, 9, 10},
		{"empty image", sdk.OperatorSpec{Kind: sdk.OpDownsample, Scale: 4}, 0, 0},
		{"scale on a blur", sdk.OperatorSpec{Kind: sdk.OpBlur, Kernel: sdk.NewTensor(1, 1, 1), Scale: 2}, 8, 8},
		{"scale on identity", sdk.OperatorSpec{Kind: sdk.OpIdentity, Scale: 4}, 8, 8},
	}
	tests[7].spec.Kernel.Data[0] = 1
	for _, tc := range tests {
		if _, err := New(tc.spec, 3, tc.h, tc.w); !errors.Is(err, ErrSpec) {
			t.Errorf("%s: err = %v, want ErrSpec", tc.name, err)
		}
	}
	for _, s := range []int{2, 3, 4, MaxScale} {
		if _, err := New(sdk.OperatorSpec{Kind: sdk.OpDownsample, Scale: s}, 3, 2*s, 3*s); err != nil {
			t.Errorf("scale %d: %v", s, err)
		}
	}
}

func TestForProblem(t *testing.T) {
	y := sdk.NewTensor(3, 5, 7)
	mask := sdk.NewTensor(1, 5, 7)
	kernel := sdk.NewTensor(1, 3, 3)
	kernel.Data[4] = 1
	tests := []struct {
		spec sdk.OperatorSpec
		want Shape
	}{
		{sdk.OperatorSpec{Kind: sdk.OpIdentity}, Shape{3, 5, 7}},
		{sdk.OperatorSpec{Kind: sdk.OpMask, Mask: mask}, Shape{3, 5, 7}},
		{sdk.OperatorSpec{Kind: sdk.OpBlur, Kernel: kernel}, Shape{3, 5, 7}},
		{sdk.OperatorSpec{Kind: sdk.OpDownsample, Scale: 2}, Shape{3, 10, 14}},
		{sdk.OperatorSpec{Kind: sdk.OpDownsample, Scale: 4}, Shape{3, 20, 28}},
	}
	for _, tc := range tests {
		op, dom, err := ForProblem(sdk.Problem{Y: y, Operator: tc.spec, SigmaY: 0.05})
		if err != nil {
			t.Errorf("%s: %v", tc.spec.Kind, err)
			continue
		}
		if dom != tc.want {
			t.Errorf("%s: domain %v, want %v", tc.spec.Kind, dom, tc.want)
		}
		if got := op.Apply(sdk.NewTensor(dom.C, dom.H, dom.W)); !got.SameShape(y) {
			t.Errorf("%s: A maps %v to %v, want the measurement's shape %v", tc.spec.Kind, dom, got, y)
		}
		if !dom.Matches(sdk.NewTensor(dom.C, dom.H, dom.W)) || dom.Matches(nil) {
			t.Errorf("%s: Matches is wrong", tc.spec.Kind)
		}
	}
	for name, p := range map[string]sdk.Problem{
		"no measurement":       {Operator: sdk.OperatorSpec{Kind: sdk.OpIdentity}},
		"broken measurement":   {Y: &sdk.Tensor{C: 1, H: 2, W: 2}, Operator: sdk.OperatorSpec{Kind: sdk.OpIdentity}},
		"downsample, no scale": {Y: y, Operator: sdk.OperatorSpec{Kind: sdk.OpDownsample}},
		"downsample, scale 1":  {Y: y, Operator: sdk.OperatorSpec{Kind: sdk.OpDownsample, Scale: 1}},
		"huge scale":           {Y: y, Operator: sdk.OperatorSpec{Kind: sdk.OpDownsample, Scale: math.MaxInt}},
		"mask of the image":    {Y: y, Operator: sdk.OperatorSpec{Kind: sdk.OpMask, Mask: sdk.NewTensor(1, 10, 14)}},
	} {
		if _, _, err := ForProblem(p); !errors.Is(err, ErrSpec) {
			t.Errorf("%s: err = %v, want ErrSpec", name, err)
		}
	}
}

// BenchmarkDownsampleProx times one Prox on a 3×512×512 image, noiseless
// (an exact projection) and noisy (preconditioned conjugate gradients):
//
//	go test ./sdk/operator -run '^$' -bench DownsampleProx
func BenchmarkDownsampleProx(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range []int{2, 4} {
		d, err := NewDownsample(s, 512, 512)
		if err != nil {
			b.Fatal(err)
		}
		z := smoothTensor(r, 3, 512, 512)
		y := d.Apply(smoothTensor(r, 3, 512, 512))
		for _, sigma := range []float64{0, 0.05} {
			b.Run(fmt.Sprintf("x%d/sigma%g", s, sigma), func(b *testing.B) {
				for b.Loop() {
					d.Prox(z, y, sigma, 20)
				}
			})
		}
	}
}

// TestGramSolve checks the direct solve behind Prox and PseudoInverse:
// UᵀU reproduces each axis's Gram matrix, and gramSolve inverts
// A Aᵀ = G_y ⊗ G_x on a random plane.
func TestGramSolve(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct{ s, h, w int }{{2, 48, 36}, {3, 27, 45}, {4, 64, 64}, {8, 8, 16}} {
		d, err := NewDownsample(tc.s, tc.h, tc.w)
		if err != nil {
			t.Fatal(err)
		}
		for _, ax := range []struct {
			g *axis
			f *bandFactor
		}{{d.gy, d.cy}, {d.gx, d.cx}} {
			for i := range ax.g.m {
				for j := i; j < ax.g.m; j++ {
					want := 0.0
					if k := j - ax.g.start[i]; k >= 0 && k < len(ax.g.w[i]) {
						want = ax.g.w[i][k]
					}
					got := 0.0
					for k := 0; k <= i; k++ {
						if i-k < len(ax.f.rows[k]) && j-k < len(ax.f.rows[k]) {
							got += ax.f.rows[k][i-k] * ax.f.rows[k][j-k]
						}
					}
					if math.Abs(got-want) > 1e-12 {
						t.Fatalf("s=%d: (UᵀU)[%d][%d] = %g, G = %g", tc.s, i, j, got, want)
					}
				}
			}
		}
		mh, mw := d.Range()
		rhs := make([]float64, mh*mw)
		for i := range rhs {
			rhs[i] = r.NormFloat64()
		}
		back := sep(d.gy, d.gx, d.gramSolve(rhs))
		for i := range rhs {
			if math.Abs(back[i]-rhs[i]) > 1e-9 {
				t.Fatalf("s=%d: (A Aᵀ)(A Aᵀ)⁻¹r differs from r at %d: %g vs %g", tc.s, i, back[i], rhs[i])
			}
		}
	}
}
