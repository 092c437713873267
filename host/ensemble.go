package host

import (
	"context"
	"fmt"

	"github.com/restorekit/restore/sdk"
)

// Self-ensemble (the "x8" of DPIR and DRUNet): the denoiser is evaluated
// on flipped and rotated copies of its input and the results, turned back,
// are averaged. A denoiser trained on flips and rotations is equivariant
// only approximately; the average removes part of its error for the price
// of one network evaluation per copy. The copies are the dihedral group's
// elements, the shape-keeping ones first (so 2 and 4 copies go through the
// network in one batch):
//
//	identity, mirror left–right, mirror top–bottom, rotate 180°,
//	then the same four after a transpose (the 90° rotations and the two diagonal mirrors).

// validEnsemble reports whether n copies form a group the transforms
// above average over.
func validEnsemble(n int) bool { return n == 1 || n == 2 || n == 4 || n == 8 }

// flip mirrors each channel of x in place: left–right (cols) and/or
// top–bottom (rows). It is its own inverse.
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

// flips lists the shape-keeping copies: (mirror rows, mirror columns).
var flips = [4][2]bool{{false, false}, {false, true}, {true, false}, {true, true}}

// denoiseEnsemble evaluates D(xs[i], sigmas[i]) averaged over n copies
// (1, 2, 4 or 8; see above): n network evaluations per input.
func (m *model) denoiseEnsemble(ctx context.Context, xs []*sdk.Tensor, sigmas []float64, n int) ([]*sdk.Tensor, error) {
	if n <= 1 {
		return m.denoiseBatch(ctx, xs, sigmas)
	}
	if !validEnsemble(n) {
		return nil, fmt.Errorf("%w: ensemble of %d copies; want 1, 2, 4 or 8", ErrBadInput, n)
	}
	sums := make([]*sdk.Tensor, len(xs))
	for i, x := range xs {
		sums[i] = sdk.NewTensor(x.C, x.H, x.W)
	}
	halves := 1 // the shape-keeping copies, then (for 8) the transposed ones
	if n == 8 {
		halves = 2
	}
	for half := range halves {
		var batch []*sdk.Tensor
		var sg []float64
		for _, f := range flips[:min(n, 4)] {
			for i, x := range xs {
				c := x.Clone()
				if half == 1 {
					c = transpose(c)
				}
				flip(c, f[0], f[1])
				batch = append(batch, c)
				sg = append(sg, sigmas[i])
			}
		}
		outs, err := m.denoiseBatch(ctx, batch, sg)
		if err != nil {
			return nil, err
		}
		for j, o := range outs {
			f := flips[j/len(xs)]
			flip(o, f[0], f[1])
			if half == 1 {
				o = transpose(o)
			}
			s := sums[j%len(xs)]
			for k, v := range o.Data {
				s.Data[k] += v
			}
		}
	}
	inv := 1 / float32(n)
	for _, s := range sums {
		for k := range s.Data {
			s.Data[k] *= inv
		}
	}
	return sums, nil
}
