package main

import (
	"image"
	"math"
)

// ringWidth is how far around the hole fill sharpness looks for the known
// pixels it compares with.
const ringWidth = 16

// sharpness is fillSharpness's measurement of one image.
type sharpness struct {
	Inside, Ring   float64 // mean gradient magnitude, 8-bit luminance levels per pixel
	InsideN, RingN int     // pixels each mean is over
	Ratio          float64 // Inside / Ring; NaN when either region has no pixels or Ring is 0
}

// fillSharpness tells whether an inpainted hole is as sharp as what surrounds
// it: the mean gradient magnitude inside the hole over that in the ring of
// known pixels within ringWidth pixels of it (Chebyshev distance, so a box
// hole gets a square frame). missing marks the hole, row-major over img's
// bounds. Gradients are central differences on the 8-bit luminance
// (Rec. 601: 0.299 R + 0.587 G + 0.114 B, of the image quantised to 8 bits),
// |∇L| = √(((L[x+1]−L[x−1])/2)² + ((L[y+1]−L[y−1])/2)²), counted at a pixel
// only when it and its four neighbours lie in the same region, so the seam
// between fill and known pixels counts for neither side. A flat fill scores
// 0; a fill with the texture of its surroundings about 1.
func fillSharpness(img image.Image, missing []bool) sharpness {
	planes, w, h := rgb8(img)
	s := sharpness{Ratio: math.NaN()}
	if len(missing) != w*h || w < 3 || h < 3 {
		return s
	}
	lum := make([]float64, w*h)
	for i := range lum {
		lum[i] = 0.299*planes[0][i] + 0.587*planes[1][i] + 0.114*planes[2][i]
	}
	near := dilateBox(missing, w, h, ringWidth)
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			i := y*w + x
			hole := missing[i]
			if missing[i-1] != hole || missing[i+1] != hole || missing[i-w] != hole || missing[i+w] != hole {
				continue // the stencil straddles the seam
			}
			if !hole && !near[i] {
				continue // known, but too far from the hole
			}
			gx, gy := (lum[i+1]-lum[i-1])/2, (lum[i+w]-lum[i-w])/2
			g := math.Hypot(gx, gy)
			if hole {
				s.Inside += g
				s.InsideN++
			} else {
				s.Ring += g
				s.RingN++
			}
		}
	}
	if s.InsideN > 0 {
		s.Inside /= float64(s.InsideN)
	}
	if s.RingN > 0 {
		s.Ring /= float64(s.RingN)
	}
	if s.InsideN > 0 && s.RingN > 0 && s.Ring > 0 {
		s.Ratio = s.Inside / s.Ring
	}
	return s
}

// dilateBox marks every pixel within Chebyshev distance r of a set pixel: a
// (2r+1)² box, as running counts along rows, then along columns.
func dilateBox(set []bool, w, h, r int) []bool {
	rows := make([]bool, w*h)
	for y := 0; y < h; y++ {
		line := set[y*w : (y+1)*w]
		count := 0
		for x := 0; x < min(r, w); x++ { // the window [x-r, x+r] before x = 0
			if line[x] {
				count++
			}
		}
		for x := 0; x < w; x++ {
			if x+r < w && line[x+r] {
				count++
			}
			if x-r-1 >= 0 && line[x-r-1] {
				count--
			}
			rows[y*w+x] = count > 0
		}
	}
	out := make([]bool, w*h)
	for x := 0; x < w; x++ {
		count := 0
		for y := 0; y < min(r, h); y++ {
			if rows[y*w+x] {
				count++
			}
		}
		for y := 0; y < h; y++ {
			if y+r < h && rows[(y+r)*w+x] {
				count++
			}
			if y-r-1 >= 0 && rows[(y-r-1)*w+x] {
				count--
			}
			out[y*w+x] = count > 0
		}
	}
	return out
}

// maskPixels reads an inpainting mask as restore does: nonzero = missing.
func maskPixels(mask image.Image) []bool {
	b := mask.Bounds()
	out := make([]bool, 0, b.Dx()*b.Dy())
	if g, ok := mask.(*image.Gray); ok {
		for y := 0; y < b.Dy(); y++ {
			for _, v := range g.Pix[y*g.Stride : y*g.Stride+b.Dx()] {
				out = append(out, v != 0)
			}
		}
		return out
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := mask.At(x, y).RGBA()
			out = append(out, r|g|bl != 0)
		}
	}
	return out
}
