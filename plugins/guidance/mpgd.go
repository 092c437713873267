package guidance

import (
	"context"
	"fmt"

	"github.com/restorekit/restore/sdk"
	"github.com/restorekit/restore/sdk/operator"
)

// MPGD is the guidance of MPGD (He et al. 2024, "Manifold Preserving Guided
// Diffusion"), which is DPS (Chung et al. 2023) with the gradient taken with
// respect to x̂₀ instead of through the network: gradient steps on the data
// term ½‖A x − y‖², starting from the estimate,
//
//	x_{k+1} = x_k − α_t Aᵀ(A x_k − y),  x_0 = x̂₀,  x̃₀ = x_K  (K = iters),
//	α_t = η σ_t² / (L σ_t² + σ_y²),
//
// with L ≥ ‖A‖² (1 for masks and the identity) and η the step parameter.
// Early, while σ_t ≫ σ_y, α_t is η/L, the largest step that is stable for
// any A (it must stay below 2/L); once the sample is cleaner than the
// measurement, α_t shrinks like σ_t²/σ_y² and the estimate is trusted over
// y. For A = I and one step with η = 1 this is exactly DiffPIR's proximal
// step with λ = 1. DPS's own rule, ζ/‖y − A x̂₀‖, is not used: its step
// depends on the image size and grows without bound as the residual vanishes.
type MPGD struct{}

// Info describes the guidance.
func (MPGD) Info() sdk.Info {
	return sdk.Info{
		Name: "mpgd", Version: "1.0.0", Kind: sdk.KindGuidance,
		Summary: "MPGD: gradient steps on ‖A x − y‖² from the estimate, no network gradient",
		Params: []sdk.Param{
			sdk.FloatParam("step", 1, 0, 1.9, "step η in units of 1/‖A‖²: α_t = η σ_t²/(‖A‖² σ_t² + σ_y²)"),
			sdk.IntParam("iters", 1, 1, 100, "gradient steps per estimate"),
		},
	}
}

// Begin builds the operator and bounds its norm.
func (MPGD) Begin(_ context.Context, p sdk.Problem, params sdk.Params) (sdk.Guider, error) {
	op, d, err := newOperator(p)
	if err != nil {
		return nil, fmt.Errorf("mpgd: %w", err)
	}
	return &mpgd{op: op, d: d, y: p.Y, sigmaY: p.SigmaY, lip: lipschitz(op, d),
		step: params.Float("step"), iters: params.Int("iters")}, nil
}

type mpgd struct {
	op     operator.Operator
	d      domain
	y      *sdk.Tensor
	sigmaY float64
	lip    float64 // L ≥ ‖A‖²
	step   float64
	iters  int
}

func (g *mpgd) Guide(ctx context.Context, s sdk.GuideStep) (*sdk.Tensor, error) {
	if err := checkDomain(s.X0, g.d); err != nil {
		return nil, fmt.Errorf("mpgd: %w", err)
	}
	s2 := s.Sigma * s.Sigma
	alpha := g.step / g.lip // σ_y = 0: the data term alone
	if g.sigmaY > 0 {
		alpha = g.step * s2 / (g.lip*s2 + g.sigmaY*g.sigmaY)
	}
	if alpha == 0 {
		return s.X0, nil
	}
	x := s.X0.Clone()
	for range g.iters {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r := g.op.Apply(x)
		for i, v := range g.y.Data {
			r.Data[i] -= v
		}
		grad := g.op.Adjoint(r)
		for i, v := range grad.Data {
			x.Data[i] = float32(float64(x.Data[i]) - alpha*float64(v))
		}
	}
	return x, nil
}

func (g *mpgd) End() error { return nil }
