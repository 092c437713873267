package guidance

import (
	"context"
	"fmt"
	"math"

	"github.com/restorekit/restore/sdk"
	"github.com/restorekit/restore/sdk/operator"
)

// minSigmaY stands in for σ_y = 0 in DAPS: the posterior it samples needs a
// finite data weight. 1e-3 in model space is an eighth of an 8-bit level.
const minSigmaY = 1e-3

// DAPS is the x₀ update of DAPS (Zhang et al. 2024, "Improving Diffusion
// Inverse Problem Solving with Decoupled Noise Annealing", CVPR 2025):
// instead of correcting x̂₀, it draws x̃₀ from an approximate posterior
//
//	p(x₀ | x_t, y) ∝ exp(−‖x₀ − x̂₀‖²/(2r_t²) − ‖A x₀ − y‖²/(2σ_y²)),  r_t = r_scale·σ_t,
//
// by K unadjusted Langevin steps from x₀ = x̂₀ (DAPS uses r_t = σ_t),
//
//	x ← x − h_t ((x − x̂₀)/r_t² + Aᵀ(A x − y)/σ_y²) + √(2h_t) ξ,  ξ ~ N(0, I),
//	h_t = lr / (1/r_t² + L/σ_y²),
//
// with L ≥ ‖A‖². The step is lr·r_t² while the prior term dominates and
// never more than lr times the inverse Lipschitz constant of the gradient,
// so the chain is stable for any σ_t and σ_y (lr ≤ 1). With lr = 1/2 a
// direction as stiff as that bound relaxes by half each step, and its
// stationary variance is 4/3 of the posterior's (Langevin's discretisation
// bias); flatter directions, such as a mask's missing pixels when σ_y ≪ r_t,
// barely leave x̂₀ in K steps, as in DDNM. σ_y = 0 is replaced
// by minSigmaY. The noise is drawn from sdk.NewRNG seeded by the problem's
// seed and the step's index, so a session replays exactly.
//
// The chain costs K applications of A and Aᵀ per estimate and no network
// evaluation: little for masks, four FFT filters per Langevin step for a blur.
//
// Because the measurement is linear and Gaussian, that posterior is itself
// Gaussian, and the default sampler ("exact") draws from it directly by
// perturb-and-MAP (Papandreou & Yuille 2010): perturb both the estimate and
// the measurement by their own noise and take the proximal step,
//
//	x̃₀ = argmin_x ‖A x − (y + σ_y ξ₂)‖²/(2σ_y²) + ‖x − (x̂₀ + r_t ξ₁)‖²/(2r_t²),
//
// one closed-form Prox, so an exact sample costs what DiffPIR's step does.
// "langevin" runs the chain above instead, as the DAPS paper does.
type DAPS struct{}

// Info describes the guidance.
func (DAPS) Info() sdk.Info {
	return sdk.Info{
		Name: "daps", Version: "1.0.0", Kind: sdk.KindGuidance,
		Summary: "DAPS: Langevin sampling of x₀ given the estimate and the measurement",
		Params: []sdk.Param{
			sdk.ChoiceParam("sampler", "exact", []string{"exact", "langevin"}, "exact: perturb-and-MAP draw from the Gaussian posterior; langevin: the paper's chain"),
			sdk.IntParam("langevin_steps", 20, 1, 1000, "Langevin steps per estimate"),
			sdk.FloatParam("r_scale", 1, 0.01, 100, "spread of x₀ around the estimate, r_t = r_scale·σ_t"),
			sdk.FloatParam("lr", 0.5, 1e-4, 1, "Langevin step as a fraction of the stable bound: h_t = lr/(1/r_t² + ‖A‖²/σ_y²)"),
		},
	}
}

// Begin builds the operator and bounds its norm.
func (DAPS) Begin(_ context.Context, p sdk.Problem, params sdk.Params) (sdk.Guider, error) {
	op, d, err := newOperator(p)
	if err != nil {
		return nil, fmt.Errorf("daps: %w", err)
	}
	g := &daps{op: op, d: d, y: p.Y, sigmaY: math.Max(p.SigmaY, minSigmaY), rawSigmaY: p.SigmaY, seed: p.Seed,
		exact: params.String("sampler") == "exact", steps: params.Int("langevin_steps"),
		rScale: params.Float("r_scale"), lr: params.Float("lr")}
	if !g.exact {
		g.lip = lipschitz(op, d)
	}
	return g, nil
}

type daps struct {
	op     operator.Operator
	d      domain
	y      *sdk.Tensor
	sigmaY float64 // at least minSigmaY
	// rawSigmaY is the problem's σ_y: the exact sampler needs no floor (the
	// operator's Prox enforces A x = y where σ_y = 0).
	rawSigmaY float64
	seed      uint64
	exact     bool
	lip       float64 // L ≥ ‖A‖² (langevin)
	steps     int
	rScale    float64
	lr        float64
}

func (g *daps) Guide(ctx context.Context, s sdk.GuideStep) (*sdk.Tensor, error) {
	if err := checkDomain(s.X0, g.d); err != nil {
		return nil, fmt.Errorf("daps: %w", err)
	}
	r := g.rScale * s.Sigma
	if !(r > 0) {
		return s.X0, nil // a clean sample: the posterior is the estimate itself
	}
	rng := sdk.NewRNG(stepSeed(g.seed, s.Step))
	if g.exact {
		z := s.X0.Clone()
		for i := range z.Data {
			z.Data[i] += float32(r * rng.Normal())
		}
		y := g.y
		if g.rawSigmaY > 0 {
			y = g.y.Clone()
			for i := range y.Data {
				y.Data[i] += float32(g.rawSigmaY * rng.Normal())
			}
		}
		return g.op.Prox(z, y, g.rawSigmaY, 1/(r*r)), nil
	}
	prior, data := 1/(r*r), 1/(g.sigmaY*g.sigmaY)
	h := g.lr / (prior + g.lip*data)
	noise := math.Sqrt(2 * h)
	x0, x := s.X0, s.X0.Clone()
	for range g.steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res := g.op.Apply(x)
		for i, v := range g.y.Data {
			res.Data[i] -= v
		}
		grad := g.op.Adjoint(res)
		for i, v := range x.Data {
			xi := float64(v)
			xi -= h * ((xi-float64(x0.Data[i]))*prior + float64(grad.Data[i])*data)
			x.Data[i] = float32(xi + noise*rng.Normal())
		}
	}
	return x, nil
}

func (g *daps) End() error { return nil }
