package host

import (
	"math"

	"github.com/restorekit/restore/sdk"
	"github.com/restorekit/restore/sdk/operator"
)

// deblurTikhonov is the regularisation of the deblurring warm start,
// relative to the data term (measured best on the fixtures: 0.04).
const deblurTikhonov = 0.04

// startSigmaFor is the σ a restoration starts at: start, or σ_y for
// denoising when start is 0 (the noisy photo itself is a sample at σ_y).
func startSigmaFor(task Task, sigmaY, start float64) float64 {
	if task == Denoise && start == 0 {
		return sigmaY
	}
	return start
}

// warmStart returns the rough estimate sampling starts from, at the σ of
// startSigmaFor: sampling starts from a noised rough estimate instead of
// pure noise, so a restoration takes tens of evaluations (Chung et al.,
// "Come-Closer-Diffuse-Faster", 2022). For denoising the noisy photo itself
// is a sample at σ = σ_y.
func warmStart(task Task, op operator.Operator, y, observed *sdk.Tensor, sigmaY float64) *sdk.Tensor {
	switch task {
	case Deblur:
		// A Tikhonov deconvolution that stays close to the blurred photo where
		// the kernel loses information: argmin ‖Ax − y‖²/(2σ_y²) + ρ/2‖x − y‖²
		// with ρσ_y² = deblurTikhonov (σ_y floored as the blur's prox does).
		s := math.Max(sigmaY, 1e-3)
		return op.Prox(y, y, s, deblurTikhonov/(s*s))
	case Inpaint:
		return fillHoles(y, observed)
	case SR:
		// The least-norm solution of A x = y: sharp where y says something,
		// smooth elsewhere.
		x, err := op.PseudoInverse(y)
		if err != nil { // not for a Downsample; kept for other operators
			x = op.Adjoint(y)
		}
		return x
	}
	return y.Clone()
}

// initNoise is the noise variance the rough estimate already carries.
func initNoise(task Task, sigmaY float64) float64 {
	if task == Denoise {
		return sigmaY * sigmaY
	}
	return 0
}

// fillHoles fills missing pixels by normalised convolution: a Gaussian-weighted
// average of the observed pixels around each hole, at growing scales until
// every pixel is reached.
func fillHoles(y, observed *sdk.Tensor) *sdk.Tensor {
	out := y.Clone()
	n := y.H * y.W
	done := make([]bool, n)
	for i, v := range observed.Data {
		done[i] = v == 1
	}
	for s := 1.0; s < 4*float64(max(y.H, y.W)); s *= 2 {
		r := int(math.Ceil(2 * s))
		k := sdk.NewTensor(1, 2*r+1, 2*r+1)
		for i := -r; i <= r; i++ {
			for j := -r; j <= r; j++ {
				k.Data[(i+r)*(2*r+1)+j+r] = float32(math.Exp(-float64(i*i+j*j) / (2 * s * s)))
			}
		}
		if 2*r+1 > 4*max(y.H, y.W) {
			break
		}
		blur, err := operator.NewBlur(k, y.H, y.W)
		if err != nil {
			break
		}
		num := blur.Apply(y) // y is already zero where missing
		den := blur.Apply(observed)
		left := false
		for i := 0; i < n; i++ {
			if done[i] {
				continue
			}
			if d := float64(den.Data[i]); d > 1e-3 {
				for c := 0; c < y.C; c++ {
					out.Data[c*n+i] = float32(float64(num.Data[c*n+i]) / d)
				}
				done[i] = true
			} else {
				left = true
			}
		}
		if !left {
			break
		}
	}
	return out
}
