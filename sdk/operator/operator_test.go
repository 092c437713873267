package operator

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"weak"

	"github.com/restorekit/restore/sdk"
)

func randTensor(r *rand.Rand, c, h, w int) *sdk.Tensor {
	t := sdk.NewTensor(c, h, w)
	for i := range t.Data {
		t.Data[i] = float32(r.NormFloat64())
	}
	return t
}

func randKernel(r *rand.Rand, kh, kw int) *sdk.Tensor {
	k := sdk.NewTensor(1, kh, kw)
	for i := range k.Data {
		k.Data[i] = float32(r.Float64())
	}
	return k
}

func randMask(r *rand.Rand, h, w int) *sdk.Tensor {
	m := sdk.NewTensor(1, h, w)
	for i := range m.Data {
		if r.Float64() < 0.3 {
			m.Data[i] = 1
		}
	}
	return m
}

// smoothTensor is a random sum of low-frequency waves, like a photograph's large structures.
func smoothTensor(r *rand.Rand, c, h, w int) *sdk.Tensor {
	t := sdk.NewTensor(c, h, w)
	for k := 0; k < 6; k++ {
		fy, fx, ph, a := r.Float64()*0.5, r.Float64()*0.5, r.Float64()*6, r.NormFloat64()*0.3
		for ch := 0; ch < c; ch++ {
			for i := 0; i < h; i++ {
				for j := 0; j < w; j++ {
					t.Data[(ch*h+i)*w+j] += float32(a * math.Sin(fy*float64(i)+fx*float64(j)+ph+float64(ch)))
				}
			}
		}
	}
	return t
}

// interior zeroes a border of width m, for checks that hold away from the edges.
func interior(t *sdk.Tensor, m int) *sdk.Tensor {
	out := t.Clone()
	for ch := 0; ch < t.C; ch++ {
		for i := 0; i < t.H; i++ {
			for j := 0; j < t.W; j++ {
				if i < m || j < m || i >= t.H-m || j >= t.W-m {
					out.Data[(ch*t.H+i)*t.W+j] = 0
				}
			}
		}
	}
	return out
}

func dot(a, b *sdk.Tensor) float64 {
	s := 0.0
	for i := range a.Data {
		s += float64(a.Data[i]) * float64(b.Data[i])
	}
	return s
}

func norm(a *sdk.Tensor) float64 { return math.Sqrt(dot(a, a)) }

type opCase struct {
	name  string
	op    Operator
	exact bool // Prox is the exact minimiser
}

func cases(t *testing.T, r *rand.Rand, h, w int) []opCase {
	t.Helper()
	mask, err := NewMask(randMask(r, h, w))
	if err != nil {
		t.Fatal(err)
	}
	reflectOdd, err := NewBlur(randKernel(r, 7, 5), h, w)
	if err != nil {
		t.Fatal(err)
	}
	reflectEven, err := NewBlur(randKernel(r, 4, 6), h, w)
	if err != nil {
		t.Fatal(err)
	}
	circ, err := NewCircularBlur(randKernel(r, 5, 4), h, w)
	if err != nil {
		t.Fatal(err)
	}
	return []opCase{
		{"identity", Identity{}, true},
		{"mask", mask, true},
		{"blur-reflect-odd", reflectOdd, false},
		{"blur-reflect-even", reflectEven, false},
		{"blur-circular", circ, true},
	}
}

// TestAdjoint checks ⟨Ax, y⟩ = ⟨x, Aᵀy⟩ on random data.
func TestAdjoint(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const c, h, w = 3, 23, 31
	for _, tc := range cases(t, r, h, w) {
		t.Run(tc.name, func(t *testing.T) {
			x, y := randTensor(r, c, h, w), randTensor(r, c, h, w)
			lhs, rhs := dot(tc.op.Apply(x), y), dot(x, tc.op.Adjoint(y))
			if d := math.Abs(lhs - rhs); d > 1e-4*(math.Abs(lhs)+1) {
				t.Fatalf("<Ax,y> = %g, <x,A'y> = %g", lhs, rhs)
			}
		})
	}
}

// TestProxOptimality checks that the gradient of the prox objective,
// Aᵀ(Ax − y)/σ² + ρ(x − z), vanishes at the returned x.
func TestProxOptimality(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const c, h, w = 3, 40, 47
	for _, tc := range cases(t, r, h, w) {
		for _, sr := range []struct{ sigma, rho float64 }{{0.1, 1}, {0.05, 30}, {1, 0.5}} {
			z, y := randTensor(r, c, h, w), randTensor(r, c, h, w)
			if !tc.exact {
				// A photograph-like problem: a smooth image, its blurred and
				// slightly noisy measurement, and a noisy estimate z.
				truth := smoothTensor(r, c, h, w)
				y = tc.op.Apply(truth)
				for i := range y.Data {
					y.Data[i] += float32(0.01 * r.NormFloat64())
					z.Data[i] = truth.Data[i] + float32(0.1*r.NormFloat64())
				}
			}
			x := tc.op.Prox(z, y, sr.sigma, sr.rho)
			grad := func(x *sdk.Tensor) *sdk.Tensor {
				res := tc.op.Apply(x)
				for i := range res.Data {
					res.Data[i] -= y.Data[i]
				}
				g := tc.op.Adjoint(res)
				for i := range g.Data {
					g.Data[i] = g.Data[i]/float32(sr.sigma*sr.sigma) + float32(sr.rho)*(x.Data[i]-z.Data[i])
				}
				return g
			}
			rel := norm(grad(x)) / norm(grad(z))
			if !tc.exact {
				// The reflective blur's prox treats the border as free image
				// (circular on the padded grid): exact away from the edges,
				// near-optimal within a kernel width of them.
				rel = norm(interior(grad(x), 8)) / norm(interior(grad(z), 8))
			}
			const limit = 1e-4
			if rel > limit {
				t.Errorf("%s σ=%g ρ=%g: |∇f(x)|/|∇f(z)| = %.3g > %g", tc.name, sr.sigma, sr.rho, rel, limit)
			}
		}
	}
}

// TestBlurProxKeepsNoStaleMeasurement: Prox keeps its data term between
// calls; a measurement changed in place, or a new σ_y, must not reuse it.
// Images too large to keep the data term transform it per call by another
// route (proxOneGrid: no packed real rows, no fused passes), which must
// agree, and so must ProxOver (written over z); the sizes cover odd and even grids, a lone channel (transformed as
// a real image when the grid is even) and circular blur.
func TestBlurProxKeepsNoStaleMeasurement(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	k := randTensor(r, 1, 5, 7)
	for i := range k.Data {
		k.Data[i] = float32(math.Abs(float64(k.Data[i])))
	}
	for _, tc := range []struct {
		c, h, w  int
		circular bool
	}{{3, 33, 30, false}, {1, 40, 52, false}, {3, 41, 37, false}, {2, 17, 64, false}, {3, 24, 36, true}, {3, 25, 36, true}} {
		t.Run(fmt.Sprintf("%dx%dx%d-circular=%v", tc.c, tc.h, tc.w, tc.circular), func(t *testing.T) {
			newOp := func() *Blur {
				b, err := newBlur(k, tc.h, tc.w, tc.circular)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			cached := newOp()
			z, y := randTensor(r, tc.c, tc.h, tc.w), randTensor(r, tc.c, tc.h, tc.w)
			cached.Prox(z, y, 0.1, 2)
			y.Data[len(y.Data)/3] += 0.5
			for _, sigma := range []float64{0.1, 0.2, 0.2} {
				got, want := cached.Prox(z, y, sigma, 2), newOp().Prox(z, y, sigma, 2)
				zc := z.Clone()
				over := newOp().ProxOver(zc, y, sigma, 2)
				keep := maxCachedGrid
				maxCachedGrid = 0
				again := newOp().Prox(z, y, sigma, 2)
				overUncached := newOp().ProxOver(z.Clone(), y, sigma, 2)
				maxCachedGrid = keep
				if &over.Data[0] != &zc.Data[0] {
					t.Errorf("ProxOver did not write over z")
				}
				if !slices.Equal(over.Data, want.Data) || !slices.Equal(overUncached.Data, again.Data) {
					t.Fatalf("σ_y=%g: ProxOver differs from Prox", sigma)
				}
				for i := range got.Data {
					d := math.Abs(float64(again.Data[i] - want.Data[i]))
					if got.Data[i] != want.Data[i] || d > 1e-5*(1+math.Abs(float64(want.Data[i]))) {
						t.Fatalf("σ_y=%g: pixel %d is %g (kept) and %g (recomputed), a fresh operator gives %g",
							sigma, i, got.Data[i], again.Data[i], want.Data[i])
					}
				}
			}
		})
	}
}

// TestBlurMatchesDirectConvolution compares the FFT blur with a slow, obviously
// correct spatial convolution using scipy.ndimage.convolve's conventions
// (kernel flipped, centre at k/2, mode 'reflect').
func TestBlurMatchesDirectConvolution(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, ks := range [][2]int{{3, 3}, {4, 4}, {7, 2}, {15, 15}} {
		const c, h, w = 2, 17, 13
		k := randKernel(r, ks[0], ks[1])
		b, err := NewBlur(k, h, w)
		if err != nil {
			t.Fatal(err)
		}
		x := randTensor(r, c, h, w)
		got := b.Apply(x)
		sum := 0.0
		for _, v := range k.Data {
			sum += float64(v)
		}
		for ch := 0; ch < c; ch++ {
			for i := 0; i < h; i++ {
				for j := 0; j < w; j++ {
					want := 0.0
					for m := 0; m < ks[0]; m++ {
						for n := 0; n < ks[1]; n++ {
							yy := Reflect(i+ks[0]/2-m, h)
							xx := Reflect(j+ks[1]/2-n, w)
							want += float64(x.Data[(ch*h+yy)*w+xx]) * float64(k.Data[m*ks[1]+n]) / sum
						}
					}
					if d := math.Abs(want - float64(got.Data[(ch*h+i)*w+j])); d > 1e-4 {
						t.Fatalf("kernel %v at (%d,%d,%d): got %g want %g", ks, ch, i, j, got.Data[(ch*h+i)*w+j], want)
					}
				}
			}
		}
	}
}

// TestProxLimits checks the σ_y → 0 behaviour: exact data consistency where
// the operator allows it.
func TestProxLimits(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const c, h, w = 3, 9, 11
	m := randMask(r, h, w)
	mask, _ := NewMask(m)
	z, y := randTensor(r, c, h, w), randTensor(r, c, h, w)
	x := mask.Prox(z, y, 0, 1)
	for ch := 0; ch < c; ch++ {
		for i := 0; i < h*w; i++ {
			want := z.Data[ch*h*w+i]
			if m.Data[i] == 1 {
				want = y.Data[ch*h*w+i]
			}
			if x.Data[ch*h*w+i] != want {
				t.Fatalf("mask prox at %d: got %g want %g", i, x.Data[ch*h*w+i], want)
			}
		}
	}
	if got := (Identity{}).Prox(z, y, 0, 1); got.Data[5] != y.Data[5] {
		t.Fatalf("identity prox with σ=0 should return y")
	}
}

func TestNewRejectsBadSpecs(t *testing.T) {
	bad := sdk.NewTensor(1, 3, 3)
	neg := sdk.NewTensor(1, 3, 3)
	neg.Data[0], neg.Data[1] = -1, 2
	nan := sdk.NewTensor(1, 3, 3)
	nan.Data[4] = float32(math.NaN())
	tests := []struct {
		name string
		spec sdk.OperatorSpec
	}{
		{"zero-sum kernel", sdk.OperatorSpec{Kind: sdk.OpBlur, Kernel: bad}},
		{"negative kernel", sdk.OperatorSpec{Kind: sdk.OpBlur, Kernel: neg}},
		{"NaN kernel", sdk.OperatorSpec{Kind: sdk.OpBlur, Kernel: nan}},
		{"no kernel", sdk.OperatorSpec{Kind: sdk.OpBlur}},
		{"mask of another size", sdk.OperatorSpec{Kind: sdk.OpMask, Mask: sdk.NewTensor(1, 4, 4)}},
		{"unknown kind", sdk.OperatorSpec{Kind: "warp"}},
	}
	for _, tc := range tests {
		if _, err := New(tc.spec, 3, 8, 8); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func TestBlurPseudoInverseRecoversBlurredImage(t *testing.T) {
	// A smooth image blurred by a mild kernel comes back close to itself (the
	// regularised inverse loses what the kernel zeroes, so "close" is loose).
	const h, w = 32, 32
	x := sdk.NewTensor(1, h, w)
	for i := 0; i < h; i++ {
		for j := 0; j < w; j++ {
			x.Data[i*w+j] = float32(math.Sin(float64(i)/5) * math.Cos(float64(j)/7))
		}
	}
	k := sdk.NewTensor(1, 3, 3)
	copy(k.Data, []float32{1, 2, 1, 2, 4, 2, 1, 2, 1})
	b, _ := NewBlur(k, h, w)
	b.Epsilon = 1e-4
	got, _ := b.PseudoInverse(b.Apply(x))
	got, x = interior(got, 6), interior(x, 6)
	for i := range got.Data {
		if d := math.Abs(float64(got.Data[i] - x.Data[i])); d > 0.06 {
			t.Fatalf("pixel %d: got %g want %g", i, got.Data[i], x.Data[i])
		}
	}
}

// BenchmarkBlurProx times the deblurring proximal step on a 512×512 RGB
// image with a 15×15 kernel (the guidance's cost per evaluation):
//
//	go test ./sdk/operator -run '^$' -bench BlurProx
func BenchmarkBlurProx(b *testing.B) {
	k := sdk.NewTensor(1, 15, 15)
	for i := range k.Data {
		k.Data[i] = 1.0 / 225
	}
	op, err := NewBlur(k, 512, 512)
	if err != nil {
		b.Fatal(err)
	}
	y := sdk.NewRNG(1).Noise(3, 512, 512, 0.5)
	z := sdk.NewRNG(2).Noise(3, 512, 512, 0.5)
	// A restoration calls Prox with one measurement throughout ("same-y");
	// "new-y" changes it every call.
	for _, fresh := range []bool{false, true} {
		name := map[bool]string{false: "same-y", true: "new-y"}[fresh]
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if fresh {
					y.Data[0] = float32(i)
				}
				op.Prox(z, y, 0.01, 10)
			}
		})
	}
}

// TestBlurSharesSpectrum: operators for the same kernel and image size share
// one kernel spectrum (the host's and an in-process guidance's, hundreds of
// megabytes each on a large photo); another kernel or size gets its own, and
// each operator keeps its own Epsilon.
func TestBlurSharesSpectrum(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	k := randKernel(r, 5, 5)
	a, err := NewBlur(k, 40, 30)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewBlur(k.Clone(), 40, 30)
	if a.spec != b.spec {
		t.Error("two operators of the same kernel and size hold two spectra")
	}
	b.Epsilon = 0.5
	if a.Epsilon == b.Epsilon {
		t.Error("Epsilon is shared")
	}
	other := randKernel(r, 5, 5)
	c, _ := NewBlur(other, 40, 30)
	d, _ := NewBlur(k, 41, 30)
	if c.spec == a.spec || d.spec == a.spec {
		t.Error("a different kernel or size reused the spectrum")
	}
	fresh, _ := NewBlur(other, 40, 30)
	x := randTensor(r, 3, 40, 30)
	if got, want := c.Apply(x), fresh.Apply(x); !slices.Equal(got.Data, want.Data) {
		t.Error("a shared spectrum gives another result")
	}

	// The prox's data term is shared as well: b's Prox after a's, for the
	// same measurement, matches a's; an operator of another height on the
	// same grid does not take it.
	y := randTensor(r, 3, 40, 30)
	pa := a.Prox(x, y, 0.05, 3)
	if pb := b.Prox(x, y, 0.05, 3); !slices.Equal(pa.Data, pb.Data) {
		t.Error("a shared data term gives another prox")
	}
	for h2 := 36; h2 <= 44; h2++ {
		if h2 == 40 || fastSize(h2+10) != fastSize(50) {
			continue
		}
		a2, _ := NewBlur(k, 40, 30)
		a2.Prox(x, y, 0.05, 3) // fills the shared data term for 40x30
		e, _ := NewBlur(k, h2, 30)
		if e.spec != a2.spec {
			t.Fatalf("%dx30 and 40x30 share a grid but not the spectrum", h2)
		}
		y2, x2 := randTensor(r, 3, h2, 30), randTensor(r, 3, h2, 30)
		copy(y2.Data, y.Data) // as alike as the sizes allow
		got := e.Prox(x2, y2, 0.05, 3)
		lastSpectrum.mu.Lock()
		lastSpectrum.p = weak.Pointer[spectrum]{} // a fresh operator, own spectrum and cache
		lastSpectrum.mu.Unlock()
		own, _ := NewBlur(k, h2, 30)
		if want := own.Prox(x2, y2, 0.05, 3); !slices.Equal(got.Data, want.Data) {
			t.Errorf("%dx30 prox after a 40x30 one differs from a fresh operator's", h2)
		}
		return
	}
	t.Log("no other height shares the 40x30 grid; the size check is untested")
}

// TestBlurSpectrumKinds tells Gaussian-like kernels (real, non-negative
// spectrum) from those with notches or sign changes, and motion blurs
// (thin paths: a wide share of the spectrum passes) from defocus.
func TestBlurSpectrumKinds(t *testing.T) {
	kernel := func(n int, f func(i, j int) float64) *sdk.Tensor {
		k := sdk.NewTensor(1, n, n)
		for i := range n {
			for j := range n {
				k.Data[i*n+j] = float32(f(i-n/2, j-n/2))
			}
		}
		return k
	}
	one := func(b bool) float64 { return map[bool]float64{true: 1}[b] }
	for _, tc := range []struct {
		name       string
		k          *sdk.Tensor
		attenuates bool
		pass       [2]float64 // PassShare(0.1) lies in [pass[0], pass[1]]
		areal      bool       // Compactness() ≥ 5
	}{
		{"gaussian σ=3, radius 12", kernel(25, func(i, j int) float64 { return math.Exp(-float64(i*i+j*j) / 18) }), true, [2]float64{0.02, 0.06}, true},
		{"gaussian σ=1", kernel(7, func(i, j int) float64 { return math.Exp(-float64(i*i+j*j) / 2) }), true, [2]float64{0.3, 0.45}, true},
		{"delta", kernel(1, func(int, int) float64 { return 1 }), true, [2]float64{1, 1}, true},
		{"horizontal motion, 9 px", kernel(9, func(i, j int) float64 { return one(i == 0) }), false, [2]float64{0.5, 0.75}, false},
		{"diagonal motion, 5 px", kernel(9, func(i, j int) float64 { return one(i == j && i >= 0) }), false, [2]float64{0.7, 0.9}, false},
		{"L-shaped shake", kernel(9, func(i, j int) float64 { return one(i == 0 && j >= 0 || j == 0 && i >= 0) }), false, [2]float64{0.6, 0.85}, false},
		{"disk, radius 4", kernel(9, func(i, j int) float64 { return one(i*i+j*j <= 16) }), false, [2]float64{0.1, 0.22}, true},
		{"box 7×7", kernel(7, func(int, int) float64 { return 1 }), false, [2]float64{0.12, 0.25}, true},
	} {
		b, err := NewBlur(tc.k, 64, 48)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.Attenuates(); got != tc.attenuates {
			t.Errorf("%s: Attenuates() = %v, want %v", tc.name, got, tc.attenuates)
		}
		if got := b.PassShare(0.1); got < tc.pass[0] || got > tc.pass[1] {
			t.Errorf("%s: PassShare(0.1) = %.3f, want it in [%g, %g]", tc.name, got, tc.pass[0], tc.pass[1])
		}
		if got := b.Compactness(); got >= 5 != tc.areal {
			t.Errorf("%s: Compactness() = %.2f, want it %s 5", tc.name, got, map[bool]string{true: "≥", false: "<"}[tc.areal])
		}
	}
}

// TestBlurProxRoutesAgree compares the kept-data-term prox (fused passes,
// a lone channel packed as real rows) with proxOneGrid on random shapes:
// 1 to 4 channels, images from 1×1 up, kernels larger than the image,
// reflective and circular boundaries.
func TestBlurProxRoutesAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 60; i++ {
		c, h, w := 1+r.IntN(4), 1+r.IntN(40), 1+r.IntN(40)
		kh, kw := 1+r.IntN(9), 1+r.IntN(9)
		circular := r.IntN(3) == 0 && kh <= h && kw <= w
		k := randKernel(r, kh, kw)
		z, y := randTensor(r, c, h, w), randTensor(r, c, h, w)
		sigma, rho := 0.01+r.Float64(), 0.1+10*r.Float64()
		b, err := newBlur(k, h, w, circular)
		if err != nil {
			t.Fatal(err)
		}
		got := b.Prox(z, y, sigma, rho)
		keep := maxCachedGrid
		maxCachedGrid = 0
		ref, _ := newBlur(k, h, w, circular)
		want := ref.Prox(z, y, sigma, rho)
		maxCachedGrid = keep
		for j := range got.Data {
			if d := math.Abs(float64(got.Data[j] - want.Data[j])); d > 1e-4*(1+math.Abs(float64(want.Data[j]))) {
				t.Fatalf("%dx%dx%d, %dx%d kernel, circular=%v (grid %dx%d): value %d is %g, proxOneGrid gives %g",
					c, h, w, kh, kw, circular, b.gh, b.gw, j, got.Data[j], want.Data[j])
			}
		}
	}
}

// TestBlurProxDoesNotRingAcrossThePhoto: a photo bright at the top and dark
// at the bottom meets itself, through the FFT's wrap-around, in the border
// that Prox treats as part of the image. With a radius-6 disk on a 481-row
// photo the old grid left 5 rows to fade from one reflection to the other:
// the prox of the exact measurement rang at the disk's first zero ring,
// 10-pixel bands down the whole photo (this test: 0.39 from the photo, in
// model units [-1, 1]; with the fade of two kernel widths, under 0.02).
func TestBlurProxDoesNotRingAcrossThePhoto(t *testing.T) {
	const r = 6
	k := sdk.NewTensor(1, 2*r+1, 2*r+1)
	for i := range k.H {
		for j := range k.W {
			if (i-r)*(i-r)+(j-r)*(j-r) <= r*r {
				k.Data[i*k.W+j] = 1
			}
		}
	}
	h, w := 481, 64
	b, err := NewBlur(k, h, w)
	if err != nil {
		t.Fatal(err)
	}
	x := sdk.NewTensor(1, h, w)
	for i := range x.Data {
		x.Data[i] = 0.8 // bright sky
		if i/w >= 200 {
			x.Data[i] = -0.2 // dark water
		}
	}
	y := b.Apply(x)
	// an early step of deblurring: σ_y 0.02, λ 0.5 at σ 0.3
	out := b.Prox(x, y, 0.02, 0.5/(0.3*0.3))
	worst := 0.0
	for i := range out.Data {
		if row := i / w; row < 180 || row > 220 { // away from the edge itself
			worst = max(worst, math.Abs(float64(out.Data[i]-x.Data[i])))
		}
	}
	if worst > 0.02 {
		t.Errorf("prox of the exact measurement is %.3f away from the photo away from its edge, want under 0.02", worst)
	}
}
