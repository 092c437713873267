package imageio

import (
	"image"

	"github.com/disintegration/imaging"
)

// orient turns img upright for EXIF orientation o (2 to 8; anything else
// returns img). 8-bit images go through imaging, which gives *image.NRGBA;
// imaging works in 8 bits, so 16-bit images are remapped here, keeping 16
// bits (*image.Gray16 stays gray, other types become *image.NRGBA64).
func orient(img image.Image, o int) image.Image {
	switch img.(type) {
	case *image.Gray16, *image.RGBA64, *image.NRGBA64:
		return orient16(img, o)
	}
	switch o {
	case 2:
		return imaging.FlipH(img)
	case 3:
		return imaging.Rotate180(img)
	case 4:
		return imaging.FlipV(img)
	case 5:
		return imaging.Transpose(img)
	case 6:
		return imaging.Rotate270(img) // 90° clockwise
	case 7:
		return imaging.Transverse(img)
	case 8:
		return imaging.Rotate90(img) // 90° counter-clockwise
	}
	return img
}

// orient16 applies orientation o to a 16-bit image by moving whole pixels.
func orient16(img image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return img
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	var src, dst []byte
	var srcStride, dstStride, bpp int
	var out image.Image
	if g, ok := img.(*image.Gray16); ok {
		d := image.NewGray16(image.Rect(0, 0, dw, dh))
		src, srcStride, dst, dstStride, bpp, out = g.Pix[g.PixOffset(b.Min.X, b.Min.Y):], g.Stride, d.Pix, d.Stride, 2, d
	} else {
		s := toNRGBA64(img)
		d := image.NewNRGBA64(image.Rect(0, 0, dw, dh))
		src, srcStride, dst, dstStride, bpp, out = s.Pix, s.Stride, d.Pix, d.Stride, 8, d
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			// Where the pixel at (x, y) of the stored image is shown.
			var dx, dy int
			switch o {
			case 2: // mirrored
				dx, dy = w-1-x, y
			case 3: // upside down
				dx, dy = w-1-x, h-1-y
			case 4: // mirrored upside down
				dx, dy = x, h-1-y
			case 5: // transposed
				dx, dy = y, x
			case 6: // needs 90° clockwise
				dx, dy = h-1-y, x
			case 7: // transversed
				dx, dy = h-1-y, w-1-x
			case 8: // needs 90° counter-clockwise
				dx, dy = y, w-1-x
			}
			copy(dst[dy*dstStride+dx*bpp:dy*dstStride+dx*bpp+bpp], src[y*srcStride+x*bpp:])
		}
	}
	return out
}
