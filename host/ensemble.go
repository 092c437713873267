package host

import (
	"context"
	"fmt"
	goruntime "runtime"
	"sync/atomic"

	"github.com/restorekit/restore/internal/par"
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
//
// Cycling (see Request.Cycle) uses the shape-keeping copies one at a time, one
// per evaluation.

// validEnsemble reports whether n copies form a group the transforms
// above average over.
func validEnsemble(n int) bool { return n == 1 || n == 2 || n == 4 || n == 8 }

// flips lists the shape-keeping copies: (mirror rows, mirror columns).
var flips = [4][2]bool{{false, false}, {false, true}, {true, false}, {true, true}}

// inverseTurn[k] is the element that undoes element k: each mirror and
// each transposed element but the two 90° rotations is its own inverse.
var inverseTurn = [8]int{0, 1, 2, 3, 4, 6, 5, 7}

// turnInto writes src turned by the k-th (0 to 7) of the dihedral group's
// elements, in the order above, into dst: one pass, split across the
// cores. dst's Data must hold as many values as src's; its shape is set
// (rows and columns swapped for k ≥ 4). With check, it also reports
// whether every value is finite, looked at while still in the cache (a
// network output is checked anyway: this saves reading it again).
func turnInto(dst, src *sdk.Tensor, k int, check bool) (finite bool) {
	transposed, mirrorRows, mirrorCols := k >= 4, flips[k%4][0], flips[k%4][1]
	h, w := src.H, src.W
	if transposed {
		h, w = w, h
	}
	dst.C, dst.H, dst.W = src.C, h, w
	plane := h * w
	const block = 16 // rows of dst done together, so a transpose reads src a cache line at a time
	rowBlocks := (h + block - 1) / block
	var bad atomic.Bool
	par.Chunks(src.C*rowBlocks, goruntime.GOMAXPROCS(0), func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			c, y0 := r/rowBlocks, r%rowBlocks*block
			y1 := min(y0+block, h)
			dp := dst.Data[c*plane : (c+1)*plane]
			turnRows(dp, src.Data[c*plane:(c+1)*plane], y0, y1, h, w, transposed, mirrorRows, mirrorCols)
			if rows := (sdk.Tensor{C: 1, H: y1 - y0, W: w, Data: dp[y0*w : y1*w]}); check && !rows.Finite() {
				bad.Store(true)
			}
		}
	})
	return check && !bad.Load()
}

// turnRows writes rows y0 to y1 of one channel of turnInto's dst (h×w) from
// the channel s of its src.
func turnRows(dp, s []float32, y0, y1, h, w int, transposed, mirrorRows, mirrorCols bool) {
	if transposed { // dst[y][x] = src[x'][y'], x' and y' mirrored as asked
		// Rows y0..y1 of dst read a short run of every row of src, the
		// same run (or, mirrored, its mirror image) of each.
		s0, step := y0, 1
		if mirrorRows {
			s0, step = h-1-y0, -1
		}
		for x := range w {
			sx := x
			if mirrorCols {
				sx = w - 1 - x
			}
			row := s[sx*h : sx*h+h]
			for y, sy := y0, s0; y < y1; y, sy = y+1, sy+step {
				dp[y*w+x] = row[sy]
			}
		}
		return
	}
	for y := y0; y < y1; y++ {
		sy := y
		if mirrorRows {
			sy = h - 1 - y
		}
		d, row := dp[y*w:y*w+w], s[sy*w:sy*w+w]
		if mirrorCols {
			reverse(d, row)
		} else {
			copy(d, row)
		}
	}
}

// reverse writes src back to front into dst (of the same length), four
// values per bounds check.
func reverse(dst, src []float32) {
	n := len(src)
	dst = dst[:n]
	i := 0
	for ; i+4 <= n; i += 4 {
		s := src[n-i-4 : n-i]
		d := dst[i : i+4]
		d[0], d[1], d[2], d[3] = s[3], s[2], s[1], s[0]
	}
	for ; i < n; i++ {
		dst[i] = src[n-1-i]
	}
}

// turned returns a copy of x turned by element k, except for the identity
// (k = 0), which returns x itself.
func turned(x *sdk.Tensor, k int) *sdk.Tensor {
	if k == 0 {
		return x
	}
	c := sdk.NewTensor(x.C, x.H, x.W)
	turnInto(c, x, k, false)
	return c
}

// unturn returns x turned back from element k: a new tensor, or x itself
// for the identity.
func unturn(x *sdk.Tensor, k int) *sdk.Tensor {
	return turned(x, inverseTurn[k])
}

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
	// The shape-keeping copies go through the network in one batch, then
	// (for 8) the transposed ones in another.
	for first := 0; first < n; first += 4 {
		var batch []*sdk.Tensor
		var sg []float64
		for k := first; k < min(n, first+4); k++ {
			for i, x := range xs {
				batch = append(batch, turned(x, k))
				sg = append(sg, sigmas[i])
			}
		}
		outs, err := m.denoiseBatch(ctx, batch, sg)
		if err != nil {
			return nil, err
		}
		for j, o := range outs {
			o = unturn(o, first+j/len(xs))
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
