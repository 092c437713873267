package host

import (
	"context"
	"math"

	"github.com/restorekit/restore/sdk"
)

// Tiling. A photo larger than the tile is denoised tile by tile: tiles of
// one shape per photo (so ONNX Runtime plans and allocates once), at most
// the configured size on each side and as small as covers the photo with
// that many tiles (tileSide), overlapping by at least tileOverlap pixels,
// run tileBatch at a time, and blended with weights that ramp linearly
// across each overlap, so no seam shows. Memory for the network then
// depends on the tile, not the photo.
const (
	// DefaultTileSize is Config.TileSize's default.
	DefaultTileSize = 512
	tileOverlap     = 64
	tileBatch       = 2
)

// tileSide returns the side of the tiles along an axis of n pixels: as many
// tiles as tiles of at most limit pixels need (with tileOverlap between
// neighbours), each as short as covers n with that many, rounded up to a
// multiple of k. A 1024-pixel axis takes three tiles of 384 instead of
// three of 512: the network sees 1.3 megapixels for a 1024² image instead
// of 2.4.
func tileSide(n, limit, k, overlap int) int {
	if n <= limit {
		return n
	}
	count := int(math.Ceil(float64(n-overlap) / float64(limit-overlap)))
	side := (n + (count-1)*overlap + count - 1) / count
	return min(limit, (side+k-1)/k*k)
}

// tileStarts returns the starts of tiles of side t covering n pixels with
// at least overlap pixels shared between neighbours, spread evenly.
func tileStarts(n, t, overlap int) []int {
	if n <= t {
		return []int{0}
	}
	count := int(math.Ceil(float64(n-overlap) / float64(t-overlap)))
	starts := make([]int, count)
	for i := range starts {
		starts[i] = int(math.Round(float64(i) * float64(n-t) / float64(count-1)))
	}
	return starts
}

// ramp is a tile's blending weight along one axis at position p of a tile
// of side t starting at s in an image of n: rising across the overlap with
// the previous tile, falling across the next, 1 elsewhere and at the image's
// own edges.
func ramp(p, s, t, n, overlap int) float64 {
	w := 1.0
	if s > 0 && p < overlap {
		w = math.Min(w, (float64(p)+0.5)/float64(overlap))
	}
	if s+t < n && t-1-p < overlap {
		w = math.Min(w, (float64(t-1-p)+0.5)/float64(overlap))
	}
	return w
}

// denoiseTiled evaluates each input tile by tile.
func (m *model) denoiseTiled(ctx context.Context, xs []*sdk.Tensor, sigmas []float64) ([]*sdk.Tensor, error) {
	t := m.tile
	type tileRef struct {
		item, y0, x0 int
	}
	var refs []tileRef
	x := xs[0]
	k := max(1, m.info.SizeMultiple)
	th, tw := tileSide(x.H, t, k, tileOverlap), tileSide(x.W, t, k, tileOverlap)
	ys, xsStarts := tileStarts(x.H, th, tileOverlap), tileStarts(x.W, tw, tileOverlap)
	for i := range xs {
		for _, y0 := range ys {
			for _, x0 := range xsStarts {
				refs = append(refs, tileRef{i, y0, x0})
			}
		}
	}
	// The tiles form a grid (every row start with every column start), so
	// the blending weights' sum is separable: sumY[y]·sumX[x]. Each result
	// is accumulated in place and becomes the output: on a 24-megapixel
	// photo that keeps one image-sized buffer per input, not two and a
	// weight map.
	sumY, sumX := make([]float64, x.H), make([]float64, x.W)
	for _, y0 := range ys {
		for yy := 0; yy < th; yy++ {
			sumY[y0+yy] += ramp(yy, y0, th, x.H, tileOverlap)
		}
	}
	for _, x0 := range xsStarts {
		for xx := 0; xx < tw; xx++ {
			sumX[x0+xx] += ramp(xx, x0, tw, x.W, tileOverlap)
		}
	}
	rampX := make([]float64, tw)
	acc := make([][]float32, len(xs))
	for i := range xs {
		acc[i] = make([]float32, x.Len())
	}
	for start := 0; start < len(refs); start += tileBatch {
		group := refs[start:min(start+tileBatch, len(refs))]
		in := make([]*sdk.Tensor, tileBatch)
		sg := make([]float64, tileBatch)
		for j := range in {
			r := group[min(j, len(group)-1)] // a short last batch repeats a tile: one shape always
			in[j] = cropTile(xs[r.item], r.y0, r.x0, th, tw)
			sg[j] = sigmas[r.item]
		}
		outs, err := m.runBatch(ctx, in, sg)
		if err != nil {
			return nil, err
		}
		for j, r := range group {
			o := outs[j]
			for xx := range rampX {
				rampX[xx] = ramp(xx, r.x0, tw, x.W, tileOverlap)
			}
			for yy := 0; yy < th; yy++ {
				wy := ramp(yy, r.y0, th, x.H, tileOverlap)
				for xx := 0; xx < tw; xx++ {
					w := wy * rampX[xx]
					p := (r.y0+yy)*x.W + r.x0 + xx
					for c := 0; c < x.C; c++ {
						acc[r.item][c*x.H*x.W+p] += float32(w) * o.Data[(c*th+yy)*tw+xx]
					}
				}
			}
		}
	}
	outs := make([]*sdk.Tensor, len(xs))
	for i := range xs {
		a := acc[i]
		for c := 0; c < x.C; c++ {
			for yy := 0; yy < x.H; yy++ {
				row := a[(c*x.H+yy)*x.W : (c*x.H+yy+1)*x.W]
				for xx := range row {
					row[xx] = float32(float64(row[xx]) / (sumY[yy] * sumX[xx]))
				}
			}
		}
		outs[i] = &sdk.Tensor{C: x.C, H: x.H, W: x.W, Data: a}
	}
	return outs, nil
}

// cropTile copies the th×tw tile of x at (y0, x0).
func cropTile(x *sdk.Tensor, y0, x0, th, tw int) *sdk.Tensor {
	out := sdk.NewTensor(x.C, th, tw)
	for c := 0; c < x.C; c++ {
		for y := 0; y < th; y++ {
			src := (c*x.H+y0+y)*x.W + x0
			copy(out.Data[(c*th+y)*tw:(c*th+y+1)*tw], x.Data[src:src+tw])
		}
	}
	return out
}
