package host

import (
	"context"
	"testing"
)

func TestTileStarts(t *testing.T) {
	for _, tc := range []struct{ n, t int }{{100, 256}, {256, 256}, {300, 256}, {1000, 256}, {4000, 512}, {513, 512}} {
		s := tileStarts(tc.n, tc.t, tileOverlap)
		if s[0] != 0 || s[len(s)-1]+min(tc.t, tc.n) != tc.n {
			t.Fatalf("n=%d t=%d: starts %v do not cover the image", tc.n, tc.t, s)
		}
		for i := 1; i < len(s); i++ {
			if s[i-1]+tc.t-s[i] < tileOverlap {
				t.Fatalf("n=%d t=%d: tiles %d and %d overlap by %d", tc.n, tc.t, i-1, i, s[i-1]+tc.t-s[i])
			}
		}
	}
}

// TestTilingIsSeamless denoises and deblurs an image that fits both ways,
// whole and in 192-pixel tiles: the results must be within 0.1 dB of each
// other (the bound) — in fact far closer.
func TestTilingIsSeamless(t *testing.T) {
	whole := openHost(t, Config{TileSize: -1})
	tiled := openHost(t, Config{TileSize: 192})
	img := readPNG(t, fixtures+"/images/flower-noisy25.png") // 256×256: 2×2 tiles of 192
	truth := readPNG(t, fixtures+"/images/flower.png")
	req := Request{Task: Denoise, Image: img, Noise: 25}
	a, err := whole.Restore(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tiled.Restore(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	pa, pb, between := psnr(truth, a.Image), psnr(truth, b.Image), psnr(a.Image, b.Image)
	t.Logf("whole %.3f dB, tiled %.3f dB; tiled vs whole %.1f dB", pa, pb, between)
	if d := pa - pb; d > 0.1 || d < -0.1 {
		t.Fatalf("tiling changed PSNR by %.3f dB", d)
	}
	if between < 40 {
		t.Fatalf("tiled result is only %.1f dB from the untiled one", between)
	}
}
