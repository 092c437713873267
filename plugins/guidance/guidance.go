// Package guidance holds restore's built-in guidance plugins: the steps that
// make each denoiser estimate consistent with the measurement.
package guidance

import (
	"context"
	"fmt"

	"github.com/restorekit/restore/sdk"
	"github.com/restorekit/restore/sdk/operator"
)

// DiffPIR is the proximal step of DiffPIR (Zhu et al. 2023):
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
	if err := p.Y.Validate(); err != nil {
		return nil, fmt.Errorf("diffpir: measurement: %w", err)
	}
	op, err := operator.New(p.Operator, p.Y.C, p.Y.H, p.Y.W)
	if err != nil {
		return nil, fmt.Errorf("diffpir: %w", err)
	}
	return &diffpir{op: op, y: p.Y, sigmaY: p.SigmaY, lambda: params.Float("lambda")}, nil
}

type diffpir struct {
	op     operator.Operator
	y      *sdk.Tensor
	sigmaY float64
	lambda float64
}

func (g *diffpir) Guide(ctx context.Context, s sdk.GuideStep) (*sdk.Tensor, error) {
	if !s.X0.SameShape(g.y) {
		return nil, fmt.Errorf("%w: estimate %v for measurement %v", sdk.ErrShape, s.X0, g.y)
	}
	rho := g.lambda / (s.Sigma * s.Sigma)
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
