package main

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/restorekit/restore/host"
	"github.com/restorekit/restore/internal/imageio"
	"github.com/restorekit/restore/sdk"
)

// TestImageFromTensor16 checks that a 16-bit image survives the trip into
// model space and back exactly, and the clipping.
func TestImageFromTensor16(t *testing.T) {
	img := image.NewNRGBA64(image.Rect(0, 0, 31, 17))
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < len(img.Pix); i += 8 {
		binary.BigEndian.PutUint16(img.Pix[i:], uint16(r.IntN(65536)))
		binary.BigEndian.PutUint16(img.Pix[i+2:], uint16(r.IntN(65536)))
		binary.BigEndian.PutUint16(img.Pix[i+4:], uint16(r.IntN(65536)))
		img.Pix[i+6], img.Pix[i+7] = 0xff, 0xff
	}
	if back := host.ImageFromTensor16(host.TensorFromImage(img)); !bytes.Equal(back.Pix, img.Pix) {
		t.Fatal("16-bit values changed on the way through model space")
	}
	tt := sdk.NewTensor(1, 1, 4)
	copy(tt.Data, []float32{2, -2, float32(math.NaN()), 0})
	got := host.ImageFromTensor16(tt)
	for i, want := range []uint16{65535, 0, 0, 32768} {
		if c := got.NRGBA64At(i, 0); c.R != want || c.G != want || c.B != want || c.A != 0xffff {
			t.Errorf("value %g gives %v, want %d", tt.Data[i], c, want)
		}
	}
}

// orientationEXIF is a minimal EXIF payload whose IFD0 holds Orientation.
func orientationEXIF(o uint16) []byte {
	b := []byte("MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01")
	return append(binary.BigEndian.AppendUint16(b, o), 0, 0, 0, 0, 0, 0)
}

// TestPhotoFiles runs restore on photo-tool files: the output keeps the
// input's bit depth, alpha, grayness and metadata, and comes out upright.
func TestPhotoFiles(t *testing.T) {
	noisy, clean := decode(t, fx+"/images/flower-noisy25.png"), decode(t, fx+"/images/flower.png")
	const w, h = 64, 48
	r := rand.New(rand.NewPCG(7, 8))
	rgba16 := image.NewNRGBA64(image.Rect(0, 0, w, h))
	gray16 := image.NewGray16(image.Rect(0, 0, w, h))
	gray8 := image.NewGray(image.Rect(0, 0, w, h))
	alpha := image.NewAlpha16(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBA64Model.Convert(noisy.At(x+100, y+100)).(color.NRGBA64)
			// Low bits an 8-bit file cannot hold.
			c.R, c.G, c.B = c.R^uint16(r.IntN(256)), c.G^uint16(r.IntN(256)), c.B^uint16(r.IntN(256))
			c.A = uint16(x*1000 + y*37 + 1)
			rgba16.SetNRGBA64(x, y, c)
			alpha.SetAlpha16(x, y, color.Alpha16{c.A})
			g := color.Gray16Model.Convert(c).(color.Gray16)
			gray16.SetGray16(x, y, g)
			gray8.SetGray(x, y, color.Gray{uint8(g.Y >> 8)})
		}
	}
	icc := bytes.Repeat([]byte("not a real ICC profile "), 3000) // 69,000 bytes: two APP2 segments in a JPEG
	tests := []struct {
		name, in, out string
		img           image.Image
		like          imageio.Image // the input's metadata
		// expected output
		depth16, gray bool
		w, h          int
		ihdr          [2]byte // PNG bit depth and colour type
	}{
		{"16-bit RGBA PNG", "in.png", "out.png", rgba16, imageio.Image{Depth16: true, Alpha: alpha, ICC: icc, EXIF: orientationEXIF(1)},
			true, false, w, h, [2]byte{16, 6}},
		{"16-bit gray TIFF to PNG", "in.tif", "out.png", gray16, imageio.Image{Depth16: true, Gray: true}, true, true, w, h, [2]byte{16, 0}},
		{"turned gray JPEG", "in.jpg", "out.jpg", gray8, imageio.Image{Gray: true, ICC: icc, EXIF: orientationEXIF(6)}, false, true, h, w, [2]byte{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in, out := filepath.Join(dir, tc.in), filepath.Join(dir, tc.out)
			like := tc.like
			if err := imageio.Write(in, tc.img, &like); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := restore(t, nil, "--task", "denoise", "--noise", "25", "--steps", "4", in, "-o", out)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			got, err := imageio.Read(out, maxPixels)
			if err != nil {
				t.Fatal(err)
			}
			if b := got.Pix.Bounds(); got.Depth16 != tc.depth16 || got.Gray != tc.gray || b.Dx() != tc.w || b.Dy() != tc.h {
				t.Fatalf("%T %v: 16-bit %v gray %v, want %v %v %dx%d", got.Pix, b, got.Depth16, got.Gray, tc.depth16, tc.gray, tc.w, tc.h)
			}
			if tc.ihdr != [2]byte{} {
				data, _ := os.ReadFile(out)
				if [2]byte{data[24], data[25]} != tc.ihdr {
					t.Fatalf("IHDR bit depth %d colour type %d, want %v", data[24], data[25], tc.ihdr)
				}
			}
			if tc.like.Alpha != nil && (got.Alpha == nil || !bytes.Equal(got.Alpha.Pix, tc.like.Alpha.Pix)) {
				t.Fatal("alpha changed")
			}
			if !bytes.Equal(got.ICC, tc.like.ICC) {
				t.Fatalf("ICC profile of %d bytes, want %d", len(got.ICC), len(tc.like.ICC))
			}
			if tc.like.EXIF != nil && !bytes.Equal(got.EXIF, orientationEXIF(1)) {
				t.Fatalf("EXIF %x, want the input's, upright", got.EXIF)
			}
			if tc.depth16 {
				fine := 0
				b := got.Pix.Bounds()
				for y := 0; y < b.Dy(); y++ {
					for x := 0; x < b.Dx(); x++ {
						if r, _, _, _ := got.Pix.At(x, y).RGBA(); r%257 != 0 {
							fine++
						}
					}
				}
				if fine < b.Dx()*b.Dy()/2 {
					t.Fatalf("only %d values use 16 bits", fine)
				}
			}
			// The restoration is one: closer to the clean photo than the input.
			if tc.name == "16-bit RGBA PNG" {
				crop := image.NewNRGBA(image.Rect(0, 0, w, h))
				for y := 0; y < h; y++ {
					for x := 0; x < w; x++ {
						crop.Set(x, y, clean.At(x+100, y+100))
					}
				}
				opaque := func(img image.Image) image.Image {
					o := image.NewNRGBA(image.Rect(0, 0, w, h))
					for y := 0; y < h; y++ {
						for x := 0; x < w; x++ {
							c := color.NRGBA64Model.Convert(img.At(x, y)).(color.NRGBA64)
							o.Set(x, y, color.NRGBA64{c.R, c.G, c.B, 0xffff})
						}
					}
					return o
				}
				before, after := psnr8(crop, opaque(tc.img)), psnr8(crop, opaque(got.Pix))
				t.Logf("%.2f → %.2f dB", before, after)
				if after < before+2 {
					t.Fatalf("%.2f → %.2f dB", before, after)
				}
			}
		})
	}
}

// TestDegradeKeepsForm: degrade gives a gray photo gray noise of the std
// asked for, and a 16-bit photo a 16-bit result.
func TestDegradeKeepsForm(t *testing.T) {
	dir := t.TempDir()
	flat := image.NewGray16(image.Rect(0, 0, 96, 96))
	for i := 0; i < len(flat.Pix); i += 2 {
		flat.Pix[i], flat.Pix[i+1] = 0x80, 0x80
	}
	in, out := filepath.Join(dir, "flat.png"), filepath.Join(dir, "noisy.png")
	if err := imageio.Write(in, flat, nil); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := restore(t, nil, "degrade", "--task", "denoise", "--noise", "25", in, "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got, err := imageio.Read(out, maxPixels)
	if err != nil {
		t.Fatal(err)
	}
	g, ok := got.Pix.(*image.Gray16)
	if !ok {
		t.Fatalf("degraded a 16-bit gray photo into %T", got.Pix)
	}
	var sum, sq float64
	for i := 0; i < len(g.Pix); i += 2 {
		v := (float64(binary.BigEndian.Uint16(g.Pix[i:])) - 0x8080) / 257
		sum += v
		sq += v * v
	}
	n := float64(len(g.Pix) / 2)
	if std := math.Sqrt(sq/n - (sum/n)*(sum/n)); std < 23.5 || std > 26.5 {
		t.Fatalf("noise std %.2f 8-bit levels, want 25", std)
	}
}
