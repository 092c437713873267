package host

import (
	"context"
	"math"
	"testing"

	"github.com/restorekit/restore/sdk"
	"github.com/restorekit/restore/sdk/schedule"
)

// TestModelAtLargeSigma checks the shipped model where restorations rarely
// go but samplers from noise start: one evaluation at every σ up to the
// σ_max it declares stays finite and inside the data range, and an
// unconditional sample (Euler on the probability-flow ODE, 24 Karras steps
// from σ_max) is a picture, not NaN, a flat field or a saturated one.
func TestModelAtLargeSigma(t *testing.T) {
	h := openHost(t, Config{})
	info := h.Model()
	ctx := context.Background()
	const side = 64
	for _, sigma := range []float64{info.SigmaMax, 40, 20, 5, 1} {
		x := sdk.NewRNG(7).Noise(3, side, side, sigma)
		d, err := h.model.denoise(ctx, x, sigma)
		if err != nil {
			t.Fatalf("σ=%g: %v", sigma, err)
		}
		lo, hi := extent(d.Data)
		if !d.Finite() || lo < -1.5 || hi > 1.5 {
			t.Errorf("D(noise, σ=%g) spans [%g, %g], want finite within [-1.5, 1.5]", sigma, lo, hi)
		}
	}

	sigmas, err := schedule.Sigmas(schedule.Karras, 24, info.SigmaMax, info.SigmaMin, 7)
	if err != nil {
		t.Fatal(err)
	}
	x := sdk.NewRNG(11).Noise(3, side, side, sigmas[0])
	for i, s := range sigmas {
		d, err := h.model.denoise(ctx, x, s)
		if err != nil {
			t.Fatalf("step %d (σ=%g): %v", i, s, err)
		}
		next := 0.0
		if i+1 < len(sigmas) {
			next = sigmas[i+1]
		}
		for j := range x.Data { // x ← x + (σ' − σ)·(x − D)/σ
			x.Data[j] += float32((next - s) / s * float64(x.Data[j]-d.Data[j]))
		}
	}
	if !x.Finite() {
		t.Fatal("the unconditional sample holds NaN or Inf")
	}
	lo, hi := extent(x.Data)
	var sum, sq float64
	saturated := 0
	for _, v := range x.Data {
		sum += float64(v)
		sq += float64(v) * float64(v)
		if math.Abs(float64(v)) > 0.98 {
			saturated++
		}
	}
	n := float64(len(x.Data))
	std := math.Sqrt(sq/n - (sum/n)*(sum/n))
	frac := float64(saturated) / n
	t.Logf("sample: range [%.3f, %.3f], std %.3f, %.1f%% of values beyond ±0.98", lo, hi, std, 100*frac)
	if lo < -1.2 || hi > 1.2 {
		t.Errorf("sample spans [%g, %g], outside the data range", lo, hi)
	}
	if std < 0.02 {
		t.Errorf("sample is flat (std %.4f)", std)
	}
	if frac > 0.25 {
		t.Errorf("%.0f%% of the sample is saturated", 100*frac)
	}
}

func extent(v []float32) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, f := range v {
		lo, hi = min(lo, float64(f)), max(hi, float64(f))
	}
	return lo, hi
}
