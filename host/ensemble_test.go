package host

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/restorekit/restore/sdk"
)

func TestFlipAndTransposeAreInvolutions(t *testing.T) {
	x := sdk.NewRNG(1).Noise(2, 3, 5, 1)
	for _, f := range flips {
		y := x.Clone()
		flip(y, f[0], f[1])
		if f != [2]bool{} && equalTensors(x, y) {
			t.Errorf("flip %v changed nothing", f)
		}
		flip(y, f[0], f[1])
		if !equalTensors(x, y) {
			t.Errorf("flip %v twice is not the identity", f)
		}
	}
	tr := transpose(x)
	if tr.H != 5 || tr.W != 3 || tr.Data[1*3+2] != x.Data[2*5+1] {
		t.Fatalf("transpose: %v", tr)
	}
	if !equalTensors(transpose(tr), x) {
		t.Fatal("transpose twice is not the identity")
	}
}

func equalTensors(a, b *sdk.Tensor) bool {
	if !a.SameShape(b) {
		return false
	}
	for i := range a.Data {
		if a.Data[i] != b.Data[i] {
			return false
		}
	}
	return true
}

// The ensemble is the average of D over the eight copies, each turned back,
// computed here one copy at a time with plain evaluations.
func TestEnsembleAveragesTheCopies(t *testing.T) {
	h := openHost(t, Config{})
	x := sdk.NewRNG(2).Noise(3, 24, 40, 0.3) // not square: the transposed copies change shape
	const sigma = 0.2
	ctx := context.Background()
	for _, n := range []int{2, 4, 8} {
		got, err := h.model.denoiseEnsemble(ctx, []*sdk.Tensor{x}, []float64{sigma}, n)
		if err != nil {
			t.Fatal(err)
		}
		want := sdk.NewTensor(x.C, x.H, x.W)
		for j := range n {
			c := x.Clone()
			if j >= 4 {
				c = transpose(c)
			}
			f := flips[j%4]
			flip(c, f[0], f[1])
			d, err := h.model.denoise(ctx, c, sigma)
			if err != nil {
				t.Fatal(err)
			}
			flip(d, f[0], f[1])
			if j >= 4 {
				d = transpose(d)
			}
			for k, v := range d.Data {
				want.Data[k] += v / float32(n)
			}
		}
		plain, _ := h.model.denoise(ctx, x, sigma)
		var diff, spread float64
		for k := range want.Data {
			diff = math.Max(diff, math.Abs(float64(got[0].Data[k]-want.Data[k])))
			spread = math.Max(spread, math.Abs(float64(plain.Data[k]-want.Data[k])))
		}
		if diff > 1e-5 {
			t.Errorf("n=%d: ensemble differs from the average of its copies by %g", n, diff)
		}
		if spread < 1e-3 {
			t.Errorf("n=%d: ensemble equals the plain evaluation (largest difference %g)", n, spread)
		}
	}
}

func TestEnsembleCountsEvaluations(t *testing.T) {
	h := openHost(t, Config{})
	img := crop(readPNG(t, fixtures+"/images/dog-noisy25.png"), 48, 32)
	var last Progress
	res, err := h.Restore(context.Background(), Request{Task: Denoise, Image: img, Noise: 25, Steps: 3, Ensemble: 4,
		Progress: func(p Progress) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Evaluations != 12 || res.Ensemble != 4 || last.Evaluation != 12 || last.Total != 12 {
		t.Fatalf("evaluations %d, ensemble %d, last progress %+v; want 12, 4, 12/12", res.Evaluations, res.Ensemble, last)
	}
	for _, n := range []int{3, -1, 16} {
		_, err := h.Restore(context.Background(), Request{Task: Denoise, Image: img, Noise: 25, Ensemble: n})
		if !errors.Is(err, ErrBadInput) {
			t.Errorf("ensemble %d: got %v, want ErrBadInput", n, err)
		}
	}
}

// flip mirrors each channel of x in place: left–right (cols) and/or
// top–bottom (rows). It is its own inverse. With transpose, it is the
// plain reference turnInto is checked against.
func flip(x *sdk.Tensor, rows, cols bool) {
	for c := 0; c < x.C; c++ {
		p := x.Data[c*x.H*x.W : (c+1)*x.H*x.W]
		if cols {
			for y := 0; y < x.H; y++ {
				r := p[y*x.W : (y+1)*x.W]
				for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
					r[i], r[j] = r[j], r[i]
				}
			}
		}
		if rows {
			for i, j := 0, x.H-1; i < j; i, j = i+1, j-1 {
				a, b := p[i*x.W:(i+1)*x.W], p[j*x.W:(j+1)*x.W]
				for k := range a {
					a[k], b[k] = b[k], a[k]
				}
			}
		}
	}
}

// transpose returns x with rows and columns swapped (its own inverse).
func transpose(x *sdk.Tensor) *sdk.Tensor {
	out := sdk.NewTensor(x.C, x.W, x.H)
	for c := 0; c < x.C; c++ {
		src, dst := x.Data[c*x.H*x.W:(c+1)*x.H*x.W], out.Data[c*x.H*x.W:(c+1)*x.H*x.W]
		for y := 0; y < x.H; y++ {
			for xx := 0; xx < x.W; xx++ {
				dst[xx*x.H+y] = src[y*x.W+xx]
			}
		}
	}
	return out
}

// maxAbsDiff is the largest difference between two same-shaped tensors'
// values.
func maxAbsDiff(a, b *sdk.Tensor) float64 {
	var m float64
	for i, v := range a.Data {
		m = math.Max(m, math.Abs(float64(v-b.Data[i])))
	}
	return m
}
