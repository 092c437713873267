package main

import (
	"math"
	"testing"
)

// TestMetricsMatchScikitImage compares with ../shared/bench/metrics.py
// (scikit-image 0.19.3) on fixture pairs; the expected values are its output.
func TestMetricsMatchScikitImage(t *testing.T) {
	tests := []struct {
		a, b       string
		psnr, ssim float64
	}{
		{"flower.png", "flower-noisy25.png", 21.1092, 0.253346},
		{"dog.png", "dog-blurred.png", 23.8602, 0.420412},
	}
	for _, tc := range tests {
		a, b := decode(t, fx+"/images/"+tc.a), decode(t, fx+"/images/"+tc.b)
		if p := psnr8(a, b); math.Abs(p-tc.psnr) > 1e-3 {
			t.Errorf("%s vs %s: PSNR %.4f, scikit-image %.4f", tc.a, tc.b, p, tc.psnr)
		}
		if s := ssim8(a, b); math.Abs(s-tc.ssim) > 2e-6 {
			t.Errorf("%s vs %s: SSIM %.6f, scikit-image %.6f", tc.a, tc.b, s, tc.ssim)
		}
	}
}
