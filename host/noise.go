package host

import (
	"math"
	"sort"

	"github.com/restorekit/restore/sdk"
	"gonum.org/v1/gonum/mat"
)

// EstimateNoise estimates the standard deviation of additive white Gaussian
// noise in t (in t's units). observed, if not nil, is 1×H×W and marks the
// pixels to use (1 = use).
//
// It reads the noise from the eigenvalues of the covariance of the image's
// patches (Chen, Zhu and Heng, "An Efficient Statistical Method for Image
// Noise Level Estimation", ICCV 2015): a photo's structure lies in a few
// directions of patch space and the noise in all of them alike, so the
// smallest eigenvalues are the noise variance alone. Patches are 8×8 (4×4,
// then 2×2, where a mask leaves too few whole ones). Clipping hides noise,
// so a first estimate σ₁ leaves out every patch with a clipped value (at
// either end of the range); but those are the patches where the noise
// happened to be large, and under heavy noise σ₁ reads low (45.7 for 50
// levels on CBSD68). A second estimate σ₂ keeps the patches whose mean (in
// every channel) lies more than 2σ₁ from either end, whatever their values
// (48.3); it reads low where the values it keeps clip (on a photo with wide
// white areas, 42.2 where σ₁ reads 44.5). Both err low, so the larger is
// taken. Where even 2×2 patches are too few it falls back to
// Donoho's rule, the median absolute value of the finest diagonal Haar
// wavelet coefficients over 0.6745, which mistakes fine texture for noise.
func EstimateNoise(t *sdk.Tensor, observed *sdk.Tensor) float64 {
	for _, r := range []int{8, 4, 2} {
		if s1, ok := patchNoise(t, observed, r, 0); ok {
			if s2, ok := patchNoise(t, observed, r, 2*s1); ok {
				return math.Max(s1, s2)
			}
			return s1
		}
	}
	return haarNoise(t, observed)
}

// maxNoisePatches bounds the patches patchNoise reads: on a large photo a
// regular subset of them, so that estimating costs about as much on 24
// megapixels as on one.
const maxNoisePatches = 20000

// patchNoise is Chen et al.'s estimate from r×r patches (all channels
// together): with margin 0, of the patches without a clipped value; else of
// those whose mean in every channel lies more than margin (model units)
// from either end of the range. ok is false when fewer than four whole,
// observed and kept patches per dimension of patch space are found.
func patchNoise(t *sdk.Tensor, observed *sdk.Tensor, r int, margin float64) (sigma float64, ok bool) {
	if t.H < r || t.W < r {
		return 0, false
	}
	d := r * r * t.C
	// Stride 3 as the authors' code reads 8×8 patches, wider on large
	// photos; every position for the small patches a mask leaves.
	stride := 1
	if r == 8 {
		stride = 3
	}
	for (t.H-r)/stride*((t.W-r)/stride) > maxNoisePatches {
		stride++
	}
	plane := t.H * t.W
	cols := make([]float64, 0, ((t.H-r)/stride+1)*((t.W-r)/stride+1)*d) // patch-major: patch j's values at j*d
	patch := make([]float64, d)
	for y := 0; y+r <= t.H; y += stride {
	next:
		for x := 0; x+r <= t.W; x += stride {
			k := 0
			for c := range t.C {
				var sum float64
				for dy := range r {
					row := (y+dy)*t.W + x
					for dx := range r {
						i := row + dx
						if observed != nil && observed.Data[i] == 0 {
							continue next
						}
						v := t.Data[c*plane+i]
						if margin == 0 && (v <= -1 || v >= 1) {
							continue next
						}
						patch[k] = float64(v)
						sum += float64(v)
						k++
					}
				}
				if m := sum / float64(r*r); margin > 0 && (m < -1+margin || m > 1-margin) {
					continue next
				}
			}
			cols = append(cols, patch...)
		}
	}
	n := len(cols) / d
	if n < 4*d {
		return 0, false
	}
	// Centre each dimension, then the covariance XᵀX / n.
	for j := range d {
		var m float64
		for p := range n {
			m += cols[p*d+j]
		}
		m /= float64(n)
		for p := range n {
			cols[p*d+j] -= m
		}
	}
	x := mat.NewDense(n, d, cols)
	var cov mat.SymDense
	cov.SymOuterK(1/float64(n), x.T())
	var es mat.EigenSym
	if !es.Factorize(&cov, false) {
		return 0, false
	}
	ev := es.Values(nil)
	sort.Float64s(ev)
	// The largest set of the smallest eigenvalues whose mean is also their
	// median: those that are noise alone.
	var mean float64
	for cnt := d; cnt >= 1; cnt-- {
		var sum float64
		for _, e := range ev[:cnt] {
			sum += e
		}
		mean = sum / float64(cnt)
		above, below := 0, 0
		for _, e := range ev[:cnt] {
			switch {
			case e > mean:
				above++
			case e < mean:
				below++
			}
		}
		if above == below {
			break
		}
	}
	return math.Sqrt(math.Max(mean, 0)), true
}

// haarNoise is Donoho's rule over the 2×2 blocks whose pixels are all
// observed: the median absolute finest diagonal Haar coefficient / 0.6745.
func haarNoise(t *sdk.Tensor, observed *sdk.Tensor) float64 {
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
