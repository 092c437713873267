// Package guidance holds restore's built-in guidance plugins: the steps that
// make each denoiser estimate consistent with the measurement.
//
// Every plugin here maps the denoiser's estimate x̂₀ = D(x_t, σ_t) to an
// estimate x̃₀ that respects y = A x + n, n ~ N(0, σ_y²), without a gradient
// through the network: DiffPIR (a proximal step), DDNM (range–null-space
// projection), MPGD (gradient steps on the data term) and DAPS (Langevin
// sampling of x₀ given x̂₀ and y).
package guidance

import (
	"context"
	"fmt"
	"math"

	"github.com/restorekit/restore/sdk"
	"github.com/restorekit/restore/sdk/operator"
)

// domain is the C×H×W shape of the images an operator applies to.
type domain struct{ c, h, w int }

// newOperator validates the measurement and builds the problem's operator A
// with its domain, which operator.ForProblem derives from Y: Y's own shape,
// or Scale times it for super-resolution (OpDownsample).
func newOperator(p sdk.Problem) (operator.Operator, domain, error) {
	if err := p.Y.Validate(); err != nil {
		return nil, domain{}, fmt.Errorf("measurement: %w", err)
	}
	op, s, err := operator.ForProblem(p)
	if err != nil {
		return nil, domain{}, err
	}
	return op, domain{s.C, s.H, s.W}, nil
}

// checkDomain reports an estimate that is not an image of the operator's domain.
func checkDomain(x *sdk.Tensor, d domain) error {
	if err := x.Validate(); err != nil {
		return fmt.Errorf("estimate: %w", err)
	}
	if x.C != d.c || x.H != d.h || x.W != d.w {
		return fmt.Errorf("%w: estimate %v for a %dx%dx%d image", sdk.ErrShape, x, d.c, d.h, d.w)
	}
	return nil
}

// lipschitz returns L ≥ ‖A‖², the Lipschitz constant of ∇½‖A x − y‖²: the
// step sizes of MPGD and DAPS are fractions of 1/L. Identity and masks have
// L = 1. A reflective-boundary blur does not: with a one-sided (motion)
// kernel the reflected border counts some edge pixels twice and ‖A‖² can
// exceed 2. Its entries are non-negative, so Schur's bound
// ‖A‖² ≤ ‖A‖₁‖A‖_∞ = max(Aᵀ1)·max(A1) holds, at the cost of one A and one
// Aᵀ: 1 for a symmetric kernel, and up to about 1.6 times ‖A‖² for the
// one-sided kernels tried. Power iteration would be exact there but costs
// 20 or more of each, over a second per session on a 256×256 image; other
// operators get it, with a 5% margin for its shortfall. One channel
// suffices: operators treat channels alike.
func lipschitz(op operator.Operator, d domain) float64 {
	switch op.(type) {
	case operator.Identity, *operator.Mask:
		return 1
	case *operator.Blur:
		ones := sdk.NewTensor(1, d.h, d.w)
		for i := range ones.Data {
			ones.Data[i] = 1
		}
		// The margin covers the FFT's rounding in the sums.
		return (1 + 1e-4) * maxOf(op.Adjoint(ones)) * maxOf(op.Apply(ones))
	}
	x := sdk.NewRNG(0x11b5c172).Noise(1, d.h, d.w, 1)
	l := 0.0
	for range 20 {
		n := 0.0
		for _, v := range x.Data {
			n += float64(v) * float64(v)
		}
		if n == 0 {
			break
		}
		n = math.Sqrt(n)
		for i, v := range x.Data {
			x.Data[i] = float32(float64(v) / n)
		}
		// ‖AᵀA x‖ for a unit x never exceeds ‖A‖², and approaches it.
		x = op.Adjoint(op.Apply(x))
		l = 0
		for _, v := range x.Data {
			l += float64(v) * float64(v)
		}
		l = math.Sqrt(l)
	}
	if l <= 0 {
		return 1 // A = 0: any step is stable
	}
	return 1.05 * l
}

// maxOf returns the largest element of t.
func maxOf(t *sdk.Tensor) float64 {
	m := math.Inf(-1)
	for _, v := range t.Data {
		m = math.Max(m, float64(v))
	}
	return m
}

// stepSeed derives the random seed of one guidance step from the session's
// seed (SplitMix64's finaliser), so that each step draws its own stream and
// a session replays exactly, in process or out.
func stepSeed(seed uint64, step int) uint64 {
	z := seed + 0x9e3779b97f4a7c15*uint64(step+1)
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// DiffPIR is the proximal step of DiffPIR (Zhu et al. 2023, "Denoising
// Diffusion Models for Plug-and-Play Image Restoration"):
//
//	x̃₀ = argmin_x ‖A x − y‖²/(2σ_y²) + (ρ_t/2)‖x − x̂₀‖²,  ρ_t = λ/σ_t²,
//
// in closed form (FFT for blur, per pixel for masks). The estimate x̂₀ is
// trusted less the noisier the sample it came from.
type DiffPIR struct{}

// Info describes the guidance.
func (DiffPIR) Info() sdk.Info {
	return sdk.Info{
		Name: "diffpir", Version: "1.0.0", Kind: sdk.KindGuidance,
		Summary: "DiffPIR proximal step: closed-form data consistency of each estimate",
		Params: []sdk.Param{
			sdk.FloatParam("lambda", 1, 1e-4, 1e4, "weight λ of the estimate: ρ_t = λ/σ_t²"),
		},
	}
}

// Begin builds the operator for the problem.
func (DiffPIR) Begin(_ context.Context, p sdk.Problem, params sdk.Params) (sdk.Guider, error) {
	op, d, err := newOperator(p)
	if err != nil {
		return nil, fmt.Errorf("diffpir: %w", err)
	}
	return &diffpir{op: op, d: d, y: p.Y, sigmaY: p.SigmaY, lambda: params.Float("lambda")}, nil
}

type diffpir struct {
	op     operator.Operator
	d      domain
	y      *sdk.Tensor
	sigmaY float64
	lambda float64
}

func (g *diffpir) Guide(ctx context.Context, s sdk.GuideStep) (*sdk.Tensor, error) {
	if err := checkDomain(s.X0, g.d); err != nil {
		return nil, fmt.Errorf("diffpir: %w", err)
	}
	rho := g.lambda / (s.Sigma * s.Sigma)
	if o, ok := g.op.(operator.ProxOverwriter); ok { // X0 is ours to overwrite
		return o.ProxOver(s.X0, g.y, g.sigmaY, rho), nil
	}
	return g.op.Prox(s.X0, g.y, g.sigmaY, rho), nil
}

func (g *diffpir) End() error { return nil }

// None leaves the estimate as it is: unconditional sampling, or plain
// denoising when the sampler starts from the noisy photo itself.
type None struct{}

// Info describes the guidance.
func (None) Info() sdk.Info {
	return sdk.Info{Name: "none", Version: "1.0.0", Kind: sdk.KindGuidance,
		Summary: "no guidance: the denoiser's estimate as it is"}
}

// Begin returns the identity guider.
func (None) Begin(context.Context, sdk.Problem, sdk.Params) (sdk.Guider, error) { return none{}, nil }

type none struct{}

func (none) Guide(_ context.Context, s sdk.GuideStep) (*sdk.Tensor, error) { return s.X0, nil }
func (none) End() error                                                    { return nil }
