package host

import (
	"image"
	"image/color"
	"math"
	goruntime "runtime"

	"github.com/restorekit/restore/internal/par"
	"github.com/restorekit/restore/sdk"
)

// TensorFromImage converts an image to a 3×H×W tensor in model space [-1, 1]
// (16 bits of each channel are used; alpha is ignored). The decoders'
// usual types (8- and 16-bit RGBA and grey, and JPEG's YCbCr) are read
// directly, rows split across the cores, giving exactly what the generic
// conversion through color.NRGBA64Model gives (TestTensorFromImageFast);
// others, and translucent pixels of premultiplied types, take that path.
func TensorFromImage(img image.Image) *sdk.Tensor {
	b := img.Bounds()
	h, w := b.Dy(), b.Dx()
	t := sdk.NewTensor(3, h, w)
	n := h * w
	set := func(i int, r, g, bl uint32) {
		t.Data[i] = float32(r)/32767.5 - 1
		t.Data[n+i] = float32(g)/32767.5 - 1
		t.Data[2*n+i] = float32(bl)/32767.5 - 1
	}
	generic := func(x, y int) {
		c := color.NRGBA64Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
		set(y*w+x, uint32(c.R), uint32(c.G), uint32(c.B))
	}
	// rgba reads 4 samples of depth bytes per pixel from pix (row y at
	// off + y·stride). With opaqueOnly, translucent pixels take the
	// generic path (its rounding through premultiplied 16-bit values is
	// what the result must match); NRGBA64's values pass through as they
	// are.
	rgba := func(pix []uint8, off, stride, depth int, opaqueOnly bool) func(y int) {
		return func(y int) {
			p := pix[off+y*stride:]
			for x := 0; x < w; x++ {
				q := p[4*depth*x : 4*depth*(x+1)]
				var v [4]uint32
				for c := range v {
					if depth == 1 {
						v[c] = uint32(q[c]) * 0x101
					} else {
						v[c] = uint32(q[2*c])<<8 | uint32(q[2*c+1])
					}
				}
				if opaqueOnly && v[3] != 0xffff {
					generic(x, y)
					continue
				}
				set(y*w+x, v[0], v[1], v[2])
			}
		}
	}
	var row func(y int)
	switch m := img.(type) {
	case *image.NRGBA:
		row = rgba(m.Pix, m.PixOffset(b.Min.X, b.Min.Y), m.Stride, 1, true)
	case *image.RGBA:
		row = rgba(m.Pix, m.PixOffset(b.Min.X, b.Min.Y), m.Stride, 1, true)
	case *image.NRGBA64:
		row = rgba(m.Pix, m.PixOffset(b.Min.X, b.Min.Y), m.Stride, 2, false)
	case *image.RGBA64:
		row = rgba(m.Pix, m.PixOffset(b.Min.X, b.Min.Y), m.Stride, 2, true)
	case *image.Gray:
		row = func(y int) {
			p := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w; x++ {
				v := uint32(p[x]) * 0x101
				set(y*w+x, v, v, v)
			}
		}
	case *image.Gray16:
		row = func(y int) {
			p := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w; x++ {
				v := uint32(p[2*x])<<8 | uint32(p[2*x+1])
				set(y*w+x, v, v, v)
			}
		}
	case *image.YCbCr:
		row = func(y int) {
			for x := 0; x < w; x++ {
				r, g, bl, _ := m.YCbCrAt(b.Min.X+x, b.Min.Y+y).RGBA()
				set(y*w+x, r, g, bl)
			}
		}
	default:
		row = func(y int) {
			for x := 0; x < w; x++ {
				generic(x, y)
			}
		}
	}
	eachRow(h, row)
	return t
}

// eachRow runs row(y) for every y < h, the rows split across the cores.
func eachRow(h int, row func(y int)) {
	par.Chunks(h, goruntime.GOMAXPROCS(0), func(_, lo, hi int) {
		for y := lo; y < hi; y++ {
			row(y)
		}
	})
}

// level quantises a model-space value in [-1, 1] to an integer level in
// [0, top]: round((v+1)/2·top), clipped; NaN gives 0.
func level(v float32, top float64) float64 {
	if f := math.Round((float64(v) + 1) * top / 2); f >= 0 { // not NaN either
		return min(f, top)
	}
	return 0
}

// ImageFromTensor converts a 3×H×W (or 1×H×W) tensor in [-1, 1] to an 8-bit
// image, clipping and rounding as a PNG writer would.
func ImageFromTensor(t *sdk.Tensor) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, t.W, t.H))
	if t.C < 3 {
		eachLevel(t, 255, func(i int, r, g, b uint32) {
			img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = uint8(r), uint8(g), uint8(b), 255
		})
		return img
	}
	// Colour images, the common case, without a call per pixel: a
	// 512² photo converts in a third of the time.
	n := t.H * t.W
	eachRow(t.H, func(y int) {
		lo, hi := y*t.W, (y+1)*t.W
		r, g, b := t.Data[lo:hi], t.Data[n+lo:n+hi], t.Data[2*n+lo:2*n+hi]
		pix := img.Pix[4*lo : 4*hi]
		for x := range r {
			p := pix[4*x : 4*x+4 : 4*x+4]
			p[0], p[1], p[2], p[3] = uint8(level(r[x], 255)), uint8(level(g[x], 255)), uint8(level(b[x], 255)), 255
		}
	})
	return img
}

// eachLevel calls set(i, r, g, b) for every pixel i of t (3×H×W, or 1×H×W
// as grey) with its channels quantised to levels in [0, top], rows split
// across the cores.
func eachLevel(t *sdk.Tensor, top float64, set func(i int, r, g, b uint32)) {
	n := t.H * t.W
	q := func(v float32) uint32 { return uint32(level(v, top)) }
	eachRow(t.H, func(y int) {
		for i := y * t.W; i < (y+1)*t.W; i++ {
			r := q(t.Data[i])
			g, b := r, r
			if t.C >= 3 {
				g, b = q(t.Data[n+i]), q(t.Data[2*n+i])
			}
			set(i, r, g, b)
		}
	})
}

// ImageFromTensor16 converts a 3×H×W (or 1×H×W) tensor in [-1, 1] to an
// opaque 16-bit image, each value quantised to round((v+1)/2·65535) and
// clipped to [0, 65535]: Result.Tensor at the precision of a 16-bit PNG or
// TIFF, where ImageFromTensor gives 8 bits.
func ImageFromTensor16(t *sdk.Tensor) *image.NRGBA64 {
	img := image.NewNRGBA64(image.Rect(0, 0, t.W, t.H))
	eachLevel(t, 65535, func(i int, r, g, b uint32) {
		p := img.Pix[8*i : 8*i+8]
		p[0], p[1], p[2], p[3] = uint8(r>>8), uint8(r), uint8(g>>8), uint8(g)
		p[4], p[5], p[6], p[7] = uint8(b>>8), uint8(b), 0xff, 0xff
	})
	return img
}

// maskObserved turns a mask image (nonzero = missing, as OpenCV's inpaint
// takes it) into a 1×H×W tensor that is 1 where a pixel was observed.
func maskObserved(m image.Image) *sdk.Tensor {
	b := m.Bounds()
	t := sdk.NewTensor(1, b.Dy(), b.Dx())
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			if color.Gray16Model.Convert(m.At(b.Min.X+x, b.Min.Y+y)).(color.Gray16).Y == 0 {
				t.Data[y*b.Dx()+x] = 1
			}
		}
	}
	return t
}

// StdScale is the gray level per 8-bit level of standard deviation in
// StdImage: a spread of 32 levels or more shows white.
const StdScale = 8

// StdImage renders a 1×H×W standard-deviation map (8-bit levels, as
// Result.Std) as a gray image, StdScale gray levels per level.
func StdImage(std *sdk.Tensor) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, std.W, std.H))
	for i, v := range std.Data[:std.H*std.W] {
		img.Pix[i] = uint8(math.Min(255, math.Round(float64(v)*StdScale)))
	}
	return img
}
