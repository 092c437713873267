package host

import (
	"image"
	"image/color"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTensorFromImageFast checks TensorFromImage's direct readers against
// the generic conversion (color.NRGBA64Model on At) for every image type
// they serve, on sub-images (offset bounds) with random pixels, translucent
// ones included.
func TestTensorFromImageFast(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	rect := image.Rect(0, 0, 37, 23)
	fill := func(pix []uint8) {
		for i := range pix {
			pix[i] = uint8(r.IntN(256))
		}
	}
	nrgba := image.NewNRGBA(rect)
	fill(nrgba.Pix)
	rgba := image.NewRGBA(rect)
	for i := 0; i < len(rgba.Pix); i += 4 { // premultiplied: colour ≤ alpha
		a := uint8(r.IntN(256))
		if i%8 == 0 {
			a = 255
		}
		rgba.Pix[i+3] = a
		for c := range 3 {
			rgba.Pix[i+c] = uint8(r.IntN(int(a) + 1))
		}
	}
	for i := 3; i < len(nrgba.Pix); i += 8 {
		nrgba.Pix[i] = 255 // half opaque, half not
	}
	nrgba64 := image.NewNRGBA64(rect)
	fill(nrgba64.Pix)
	rgba64 := image.NewRGBA64(rect)
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		for x := rect.Min.X; x < rect.Max.X; x++ {
			a := uint16(r.IntN(65536))
			if x%2 == 0 {
				a = 0xffff
			}
			rgba64.SetRGBA64(x, y, color.RGBA64{uint16(r.IntN(int(a) + 1)), uint16(r.IntN(int(a) + 1)), uint16(r.IntN(int(a) + 1)), a})
		}
	}
	gray := image.NewGray(rect)
	fill(gray.Pix)
	gray16 := image.NewGray16(rect)
	fill(gray16.Pix)
	ycc := image.NewYCbCr(rect, image.YCbCrSubsampleRatio420)
	fill(ycc.Y)
	fill(ycc.Cb)
	fill(ycc.Cr)
	sub := image.Rect(3, 2, 31, 21)
	for _, tc := range []struct {
		name string
		img  image.Image
	}{
		{"NRGBA", nrgba.SubImage(sub)}, {"RGBA", rgba.SubImage(sub)}, {"NRGBA64", nrgba64.SubImage(sub)},
		{"RGBA64", rgba64.SubImage(sub)}, {"Gray", gray.SubImage(sub)}, {"Gray16", gray16.SubImage(sub)},
		{"YCbCr", ycc.SubImage(sub)}, {"Paletted", image.NewPaletted(sub, color.Palette{color.White, color.Black})},
	} {
		got := TensorFromImage(tc.img)
		want := TensorFromImage(genericImage{tc.img})
		if !slices.Equal(got.Data, want.Data) {
			t.Errorf("%s: the direct reader differs from the generic conversion", tc.name)
		}
	}
}

// genericImage hides an image's type, so that TensorFromImage takes the
// generic path.
type genericImage struct{ image.Image }
