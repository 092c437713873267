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

func TestTileSide(t *testing.T) {
	tests := []struct{ n, limit, k, want int }{
		{300, 512, 8, 300},   // fits: one tile, the image's own size
		{512, 512, 8, 512},   // exactly one tile
		{513, 512, 8, 296},   // two tiles, each as short as covers 513 with 64 overlap
		{1024, 512, 8, 384},  // three of 384, not three of 512
		{6000, 512, 8, 488},  // fourteen of 488
		{1000, 512, 8, 376},  // three of 376
		{1000, 512, 16, 384}, // rounded up to the model's multiple
	}
	for _, tc := range tests {
		got := tileSide(tc.n, tc.limit, tc.k, tileOverlap)
		if got != tc.want {
			t.Errorf("tileSide(%d, %d, %d) = %d, want %d", tc.n, tc.limit, tc.k, got, tc.want)
		}
		if got > tc.limit {
			t.Errorf("n=%d: side %d exceeds the limit %d", tc.n, got, tc.limit)
		}
		s := tileStarts(tc.n, got, tileOverlap)
		if s[len(s)-1]+got != tc.n {
			t.Errorf("n=%d side %d: starts %v do not reach the end", tc.n, got, s)
		}
		for i := 1; i < len(s); i++ {
			if s[i-1]+got-s[i] < tileOverlap {
				t.Errorf("n=%d side %d: tiles %d and %d overlap by %d", tc.n, got, i-1, i, s[i-1]+got-s[i])
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
