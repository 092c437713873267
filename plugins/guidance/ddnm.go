package guidance

import (
	"context"
	"fmt"
	"math"

	"github.com/restorekit/restore/sdk"
	"github.com/restorekit/restore/sdk/operator"
)

// DDNM is the range–null-space projection of DDNM (Wang, Yu and Zhang 2023,
// "Zero-Shot Image Restoration Using Denoising Diffusion Null-Space Model"):
// the range-space part of the estimate is replaced by the measurement's and
// the null-space part is kept,
//
//	x̃₀ = A⁺y + (I − A⁺A) x̂₀ = x̂₀ − A⁺(A x̂₀ − y),
//
// so that A x̃₀ = y where A⁺ is exact (identity, masks). With a noisy
// measurement the correction carries noise of σ_y (times the gain of A⁺)
// into x̃₀; following DDNM+ it is scaled so that it never carries more than
// σ_t/c, the sample's own noise level over c:
//
//	x̃₀ = x̂₀ − γ λ_t A⁺(A x̂₀ − y),  λ_t = min(1, σ_t/(c σ_y))  (λ_t = 1 when σ_y = 0).
//
// A blur has no exact pseudo-inverse; A⁺ is the regularised inverse filter
// conj(K)/(|K|² + ε) on the FFT grid (operator.Blur.PseudoInverse), whose
// gain, at most 1/(2√ε) (ε ≤ 1, |K| ≤ 1), is what carries the noise. There
// the guard g = σ_t/(c σ_y) acts on the regulariser first,
//
//	ε_t = max(ε, min(1, 1/(4g²))),  λ_t = min(1, 2g),
//
// which bounds the gain by g, as for the other operators, while frequencies
// the kernel keeps well (|K| ≫ √ε_t) are still corrected in full: DDNM+'s
// per-singular-value rule in the soft form that a Tikhonov filter allows.
// The filter treats the image's border as periodic after a smooth
// extension, while A reflects it, so there A x̃₀ = y holds only away from
// the border (exactly enough in the interior for small ε).
type DDNM struct{}

// Info describes the guidance.
func (DDNM) Info() sdk.Info {
	return sdk.Info{
		Name: "ddnm", Version: "1.0.0", Kind: sdk.KindGuidance,
		Summary: "DDNM range–null-space projection (DDNM+ noise guard for noisy measurements)",
		Params: []sdk.Param{
			sdk.FloatParam("gamma", 1, 0, 1, "weight γ of the correction: 1 projects onto A x = y, 0 leaves the estimate"),
			sdk.FloatParam("c", 1, 0.01, 100, "noise guard: the correction carries at most σ_t/c of measurement noise"),
			sdk.FloatParam("epsilon", 1e-3, 1e-8, 1, "regulariser ε of the blur pseudo-inverse conj(K)/(|K|²+ε)"),
		},
	}
}

// Begin builds the operator and the pseudo-inverse of the measurement.
func (DDNM) Begin(_ context.Context, p sdk.Problem, params sdk.Params) (sdk.Guider, error) {
	op, d, err := newOperator(p)
	if err != nil {
		return nil, fmt.Errorf("ddnm: %w", err)
	}
	g := &ddnm{op: op, d: d, y: p.Y, sigmaY: p.SigmaY,
		gamma: params.Float("gamma"), c: params.Float("c"), eps: params.Float("epsilon")}
	if b, ok := op.(*operator.Blur); ok {
		g.blur = b
	}
	// A⁺y at the base regulariser, computed once; a step with a larger ε_t computes its own.
	if g.ay, err = g.pinv(g.eps)(p.Y); err != nil {
		return nil, fmt.Errorf("ddnm: %w", err)
	}
	return g, nil
}

type ddnm struct {
	op       operator.Operator
	blur     *operator.Blur // op, when it is a blur: its regulariser varies by step
	d        domain
	y, ay    *sdk.Tensor // y and A⁺y at ε
	sigmaY   float64
	gamma, c float64
	eps      float64
}

// pinv returns A⁺ with regulariser eps (which only a blur has). It uses a
// copy of the blur, so that concurrent steps never share a regulariser.
func (g *ddnm) pinv(eps float64) func(*sdk.Tensor) (*sdk.Tensor, error) {
	if g.blur == nil {
		return g.op.PseudoInverse
	}
	b := *g.blur
	b.Epsilon = eps
	return b.PseudoInverse
}

func (g *ddnm) Guide(ctx context.Context, s sdk.GuideStep) (*sdk.Tensor, error) {
	if err := checkDomain(s.X0, g.d); err != nil {
		return nil, fmt.Errorf("ddnm: %w", err)
	}
	lambda, eps := g.gamma, g.eps
	if g.sigmaY > 0 {
		guard := s.Sigma / (g.c * g.sigmaY) // the largest gain of A⁺ the noise guard allows
		if !(guard > 0) {
			return s.X0, nil // a clean sample: nothing the noisy measurement could add
		}
		if g.blur != nil {
			eps = math.Max(eps, math.Min(1, 1/(4*guard*guard)))
			lambda *= math.Min(1, 2*guard)
		} else {
			lambda *= math.Min(1, guard)
		}
	}
	if lambda == 0 {
		return s.X0, nil
	}
	pinv := g.pinv(eps)
	ay := g.ay
	if eps != g.eps {
		var err error
		if ay, err = pinv(g.y); err != nil {
			return nil, fmt.Errorf("ddnm: %w", err)
		}
	}
	// x̂₀ − λ A⁺A x̂₀ + λ A⁺y rather than x̂₀ − λ A⁺(A x̂₀ − y): the same up to
	// rounding, and exact where A⁺A is a 0/1 projection, so a mask or the
	// identity reproduces y bit for bit on what it observed.
	aax, err := pinv(g.op.Apply(s.X0))
	if err != nil {
		return nil, fmt.Errorf("ddnm: %w", err)
	}
	out := sdk.NewTensor(s.X0.C, s.X0.H, s.X0.W)
	for i, x := range s.X0.Data {
		out.Data[i] = float32(float64(x) - lambda*float64(aax.Data[i]) + lambda*float64(ay.Data[i]))
	}
	return out, nil
}

func (g *ddnm) End() error { return nil }
