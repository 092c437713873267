package main

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// The readers face files from anywhere: whatever the bytes, they must
// return an image or kernel within the limits, or an error — never panic.
// `make fuzz` runs each target for a bounded time; `go test` runs the seeds.

func fuzzFile(t *testing.T, data []byte, name string) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func FuzzReadImage(f *testing.F) {
	for _, name := range []string{"flower-small4.png", "dog-holes.mask.png"} {
		if data, err := os.ReadFile(filepath.Join(fx, "images", name)); err == nil {
			f.Add(data)
		}
	}
	var tiny bytes.Buffer
	png.Encode(&tiny, image.NewNRGBA64(image.Rect(0, 0, 3, 2)))
	f.Add(tiny.Bytes())
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add([]byte("\xff\xd8\xff\xe0garbage"))
	// Decoding an allowed 100-megapixel image takes seconds: fuzz under a
	// smaller limit so the engine explores formats, not allocation.
	defer func(n int64) { maxPixels = n }(maxPixels)
	maxPixels = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := readImage(fuzzFile(t, data, "in.png"))
		if err != nil {
			return
		}
		b := img.Bounds()
		if b.Dx() < 1 || b.Dy() < 1 || int64(b.Dx())*int64(b.Dy()) > maxPixels {
			t.Fatalf("readImage accepted a %dx%d image", b.Dx(), b.Dy())
		}
	})
}

func FuzzReadKernel(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join(fx, "kernels", "motion15.txt")); err == nil {
		f.Add(data, false)
	}
	if data, err := os.ReadFile(filepath.Join(fx, "kernels", "motion15.png")); err == nil {
		f.Add(data, true)
	}
	f.Add([]byte("0.25 0.25\n0.25 0.25\n"), false)
	f.Add([]byte("1e308 1e308\nNaN 1\n"), false)
	f.Add([]byte("-1 2\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, isPNG bool) {
		name := "k.txt"
		if isPNG {
			name = "k.png"
		}
		k, err := readKernel(fuzzFile(t, data, name))
		if err != nil {
			return
		}
		if len(k) == 0 || len(k) > 255 || len(k[0]) == 0 || len(k[0]) > 255 {
			t.Fatalf("accepted a kernel of %d rows", len(k))
		}
		var sum float64
		for _, row := range k {
			if len(row) != len(k[0]) {
				t.Fatal("accepted a ragged kernel")
			}
			for _, v := range row {
				if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("accepted the weight %g", v)
				}
				sum += v
			}
		}
		if math.Abs(sum-1) > 1e-6 {
			t.Fatalf("kernel sums to %g, want 1 after normalising", sum)
		}
	})
}
