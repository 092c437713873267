package host

import (
	"sort"

	"github.com/restorekit/restore/sdk"
)

// EstimateNoise estimates the standard deviation of additive white Gaussian
// noise in t (in t's units) by Donoho's rule: the median absolute value of
// the finest diagonal Haar wavelet coefficients, divided by 0.6745. observed,
// if not nil, is 1×H×W and marks the pixels to use (1 = use).
func EstimateNoise(t *sdk.Tensor, observed *sdk.Tensor) float64 {
	var coef []float64
	for c := 0; c < t.C; c++ {
		p := t.Data[c*t.H*t.W : (c+1)*t.H*t.W]
		for y := 0; y+1 < t.H; y += 2 {
			for x := 0; x+1 < t.W; x += 2 {
				i := y*t.W + x
				if observed != nil && (observed.Data[i] == 0 || observed.Data[i+1] == 0 ||
					observed.Data[i+t.W] == 0 || observed.Data[i+t.W+1] == 0) {
					continue
				}
				hh := (float64(p[i]) - float64(p[i+1]) - float64(p[i+t.W]) + float64(p[i+t.W+1])) / 2
				if hh < 0 {
					hh = -hh
				}
				coef = append(coef, hh)
			}
		}
	}
	if len(coef) == 0 {
		return 0
	}
	sort.Float64s(coef)
	return coef[len(coef)/2] / 0.6745
}
