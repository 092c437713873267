package imageio

import (
	"image"
	"image/color"

	xdraw "golang.org/x/image/draw"
)

// straight returns the 16-bit non-premultiplied colour and alpha of img at
// (x, y), as color.NRGBA64Model converts it.
func straight(img image.Image, x, y int) (r, g, b, a uint16) {
	switch m := img.(type) {
	case *image.NRGBA:
		p := m.Pix[m.PixOffset(x, y):]
		return uint16(p[0]) * 0x101, uint16(p[1]) * 0x101, uint16(p[2]) * 0x101, uint16(p[3]) * 0x101
	case *image.NRGBA64:
		p := m.Pix[m.PixOffset(x, y):]
		return uint16(p[0])<<8 | uint16(p[1]), uint16(p[2])<<8 | uint16(p[3]), uint16(p[4])<<8 | uint16(p[5]), uint16(p[6])<<8 | uint16(p[7])
	}
	var c color.RGBA64
	if m, ok := img.(image.RGBA64Image); ok {
		c = m.RGBA64At(x, y)
	} else {
		r, g, b, a := img.At(x, y).RGBA()
		c = color.RGBA64{uint16(r), uint16(g), uint16(b), uint16(a)}
	}
	if c.A == 0xffff || c.A == 0 {
		return c.R, c.G, c.B, c.A
	}
	un := func(v uint16) uint16 { return uint16(uint32(v) * 0xffff / uint32(c.A)) }
	return un(c.R), un(c.G), un(c.B), c.A
}

// toNRGBA64 returns img as an *image.NRGBA64 with its origin at (0, 0).
func toNRGBA64(img image.Image) *image.NRGBA64 {
	if m, ok := img.(*image.NRGBA64); ok && m.Rect.Min == (image.Point{}) {
		return m
	}
	b := img.Bounds()
	out := image.NewNRGBA64(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, g, bl, a := straight(img, b.Min.X+x, b.Min.Y+y)
			put16(out.Pix[y*out.Stride+8*x:], r, g, bl, a)
		}
	}
	return out
}

func put16(p []byte, vs ...uint16) {
	for i, v := range vs {
		p[2*i], p[2*i+1] = byte(v>>8), byte(v)
	}
}

// alphaOf returns img's alpha channel, or nil when every pixel is opaque.
func alphaOf(img image.Image) *image.Alpha16 {
	if o, ok := img.(interface{ Opaque() bool }); ok && o.Opaque() {
		return nil
	}
	b := img.Bounds()
	out := image.NewAlpha16(image.Rect(0, 0, b.Dx(), b.Dy()))
	opaque := true
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			var a uint16
			switch m := img.(type) {
			case *image.NRGBA:
				a = uint16(m.Pix[m.PixOffset(b.Min.X+x, b.Min.Y+y)+3]) * 0x101
			default:
				_, _, _, a = straight(img, b.Min.X+x, b.Min.Y+y)
			}
			opaque = opaque && a == 0xffff
			put16(out.Pix[y*out.Stride+2*x:], a)
		}
	}
	if opaque {
		return nil
	}
	return out
}

// luminance is color.Gray16Model's: Rec. 601 weights, rounded.
func luminance(r, g, b uint16) uint16 {
	return uint16((19595*uint32(r) + 38470*uint32(g) + 7471*uint32(b) + 1<<15) >> 16)
}

// shape gives img the form of like for format (see Write): bit depth,
// grayness and alpha.
func shape(img image.Image, format string, like *Image) image.Image {
	depth16 := like.Depth16 && format != "jpeg"
	alpha := like.Alpha
	if format == "jpeg" {
		alpha = nil
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if alpha != nil && alpha.Bounds().Size() != b.Size() {
		scaled := image.NewAlpha16(image.Rect(0, 0, w, h))
		xdraw.CatmullRom.Scale(scaled, scaled.Bounds(), alpha, alpha.Bounds(), xdraw.Src, nil)
		alpha = scaled
	}
	alphaAt := func(x, y int) uint16 {
		if alpha == nil {
			return 0xffff
		}
		return alpha.Alpha16At(alpha.Rect.Min.X+x, alpha.Rect.Min.Y+y).A
	}
	at := func(x, y int) (r, g, bl uint16) {
		r, g, bl, _ = straight(img, b.Min.X+x, b.Min.Y+y)
		if like.Gray {
			v := luminance(r, g, bl)
			return v, v, v
		}
		return r, g, bl
	}
	switch {
	case like.Gray && alpha == nil && depth16:
		out := image.NewGray16(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v, _, _ := at(x, y)
				put16(out.Pix[y*out.Stride+2*x:], v)
			}
		}
		return out
	case like.Gray && alpha == nil:
		out := image.NewGray(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v, _, _ := at(x, y)
				out.Pix[y*out.Stride+x] = uint8(v >> 8)
			}
		}
		return out
	case depth16:
		out := image.NewNRGBA64(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				r, g, bl := at(x, y)
				put16(out.Pix[y*out.Stride+8*x:], r, g, bl, alphaAt(x, y))
			}
		}
		return out
	default:
		out := image.NewNRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				r, g, bl := at(x, y)
				p := out.Pix[y*out.Stride+4*x:]
				p[0], p[1], p[2], p[3] = uint8(r>>8), uint8(g>>8), uint8(bl>>8), uint8(alphaAt(x, y)>>8)
			}
		}
		return out
	}
}
