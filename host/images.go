package host

import (
	"image"
	"image/color"
	"math"

	"github.com/restorekit/restore/sdk"
)

// TensorFromImage converts an image to a 3×H×W tensor in model space [-1, 1]
// (16 bits of each channel are used; alpha is ignored).
func TensorFromImage(img image.Image) *sdk.Tensor {
	b := img.Bounds()
	h, w := b.Dy(), b.Dx()
	t := sdk.NewTensor(3, h, w)
	n := h * w
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBA64Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
			i := y*w + x
			t.Data[i] = float32(c.R)/32767.5 - 1
			t.Data[n+i] = float32(c.G)/32767.5 - 1
			t.Data[2*n+i] = float32(c.B)/32767.5 - 1
		}
	}
	return t
}

// level quantises a model-space value in [-1, 1] to an integer level in
// [0, top]: round((v+1)/2·top), clipped; NaN gives 0.
func level(v float32, top float64) float64 {
	f := math.Round((float64(v) + 1) * top / 2)
	if !(f >= 0) { // also catches NaN
		return 0
	}
	return math.Min(f, top)
}

// ImageFromTensor converts a 3×H×W (or 1×H×W) tensor in [-1, 1] to an 8-bit
// image, clipping and rounding as a PNG writer would.
func ImageFromTensor(t *sdk.Tensor) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, t.W, t.H))
	n := t.H * t.W
	q := func(v float32) uint8 { return uint8(level(v, 255)) }
	for i := 0; i < n; i++ {
		r := q(t.Data[i])
		g, b := r, r
		if t.C >= 3 {
			g, b = q(t.Data[n+i]), q(t.Data[2*n+i])
		}
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = r, g, b, 255
	}
	return img
}

// ImageFromTensor16 converts a 3×H×W (or 1×H×W) tensor in [-1, 1] to an
// opaque 16-bit image, each value quantised to round((v+1)/2·65535) and
// clipped to [0, 65535]: Result.Tensor at the precision of a 16-bit PNG or
// TIFF, where ImageFromTensor gives 8 bits.
func ImageFromTensor16(t *sdk.Tensor) *image.NRGBA64 {
	img := image.NewNRGBA64(image.Rect(0, 0, t.W, t.H))
	n := t.H * t.W
	q := func(v float32) uint16 { return uint16(level(v, 65535)) }
	for i := 0; i < n; i++ {
		r := q(t.Data[i])
		g, b := r, r
		if t.C >= 3 {
			g, b = q(t.Data[n+i]), q(t.Data[2*n+i])
		}
		p := img.Pix[8*i : 8*i+8]
		p[0], p[1], p[2], p[3] = uint8(r>>8), uint8(r), uint8(g>>8), uint8(g)
		p[4], p[5], p[6], p[7] = uint8(b>>8), uint8(b), 0xff, 0xff
	}
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
