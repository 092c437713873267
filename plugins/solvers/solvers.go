// Package solvers holds restore's built-in solver plugins: the sampling
// loops that integrate the reverse diffusion over a (guided) denoiser.
package solvers

import (
	"context"
	"fmt"
	"math"

	"github.com/restorekit/restore/sdk"
	"github.com/restorekit/restore/sdk/schedule"
)

// scheduleParams are the parameters every built-in solver shares.
func scheduleParams() []sdk.Param {
	return []sdk.Param{
		sdk.ChoiceParam("schedule", schedule.Karras, schedule.Names, "σ schedule from σ_max to σ_min"),
		sdk.FloatParam("rho", 7, 1, 20, "Karras schedule exponent"),
	}
}

// sigmas returns the schedule of n evaluations for a request.
func sigmas(req sdk.SampleRequest, n int) ([]float64, error) {
	if req.Steps < 1 {
		return nil, fmt.Errorf("%w: steps=%d, need at least 1", sdk.ErrParam, req.Steps)
	}
	return schedule.Sigmas(req.Params.String("schedule"), n, req.SigmaMax, req.SigmaMin, req.Params.Float("rho"))
}

// plan splits req.Steps evaluations between steps that cost cost
// evaluations each and the one final evaluation whose estimate is the
// result. It returns the σ levels (one more than the steps: the last step
// ends at σ_min, where the final evaluation is made) and what the last step
// may spend, from 1 to cost: where the budget does not divide evenly the
// last step is cut short (for a two-evaluation method, it falls back to a
// first-order step). A budget of 1 gives the single level σ_max.
func plan(req sdk.SampleRequest, cost int) (levels []float64, lastCost int, err error) {
	if req.Steps < 1 {
		return nil, 0, fmt.Errorf("%w: steps=%d, need at least 1", sdk.ErrParam, req.Steps)
	}
	steps := (req.Steps - 1 + cost - 1) / cost
	lastCost = req.Steps - 1 - (steps-1)*cost
	levels, err = sigmas(req, steps+1)
	return levels, lastCost, err
}

// loop is the skeleton first-order solvers share: evaluate the denoiser at
// each σ of the schedule, let step move x from σ_i to σ_{i+1}, and return
// the last estimate.
func loop(ctx context.Context, d sdk.Denoiser, req sdk.SampleRequest,
	step func(x, d0 *sdk.Tensor, si, next float64, rng *sdk.RNG)) (*sdk.Tensor, error) {
	s, err := sigmas(req, req.Steps)
	if err != nil {
		return nil, err
	}
	rng := sdk.NewRNG(req.Seed)
	x := req.X.Clone()
	for i, si := range s {
		d0, err := denoise(ctx, d, x, si)
		if err != nil {
			return nil, err
		}
		if i == len(s)-1 {
			return d0, nil
		}
		step(x, d0, si, s[i+1], rng)
	}
	return x, nil
}

// denoise calls d and checks what came back.
func denoise(ctx context.Context, d sdk.Denoiser, x *sdk.Tensor, sigma float64) (*sdk.Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out, err := d.Denoise(ctx, x, sigma)
	if err != nil {
		return nil, err
	}
	if !x.SameShape(out) {
		return nil, fmt.Errorf("%w: denoiser returned %v for %v", sdk.ErrShape, out, x)
	}
	return out, nil
}

// EulerMaruyama integrates the reverse SDE dx = −2σ∇log p_σ(x) dσ + √(2σ) dw̄
// with the Euler–Maruyama method: from σ_i to σ_{i+1},
//
//	x ← x + 2(σ_{i+1} − σ_i)/σ_i · (x − D(x, σ_i)) + √(σ_i² − σ_{i+1}²)·z.
//
// One evaluation per step; the last evaluation's estimate is the result.
type EulerMaruyama struct{}

// Info describes the solver.
func (EulerMaruyama) Info() sdk.Info {
	return sdk.Info{
		Name: "euler-maruyama", Version: "1.0.0", Kind: sdk.KindSolver,
		Summary: "Euler–Maruyama on the reverse SDE (one evaluation per step)",
		Params:  scheduleParams(),
	}
}

// Sample runs the loop.
func (EulerMaruyama) Sample(ctx context.Context, d sdk.Denoiser, req sdk.SampleRequest) (*sdk.Tensor, error) {
	return loop(ctx, d, req, func(x, d0 *sdk.Tensor, si, next float64, rng *sdk.RNG) {
		drift := 2 * (next - si) / si
		noise := math.Sqrt(si*si - next*next)
		for j := range x.Data {
			x.Data[j] += float32(drift*float64(x.Data[j]-d0.Data[j]) + noise*rng.Normal())
		}
	})
}

// DDIM is the DDIM update in σ form. With ε̂ = (x − D)/σ_i it has two
// ways to re-inject noise, chosen by two parameters of which at most one may
// be non-zero:
//
// ζ (zeta), as DiffPIR writes it:
//
//	x ← D + σ_{i+1}·(√(1−ζ)·ε̂ + √ζ·z);
//
// η (eta), as the DDIM paper and k-diffusion's ancestral step write it:
//
//	σ_up = η·√(σ_{i+1}²·(σ_i² − σ_{i+1}²)/σ_i²),  σ_down = √(σ_{i+1}² − σ_up²),
//	x ← D + σ_down·ε̂ + σ_up·z.
//
// ζ = η = 0 is the deterministic DDIM, which in this σ form is exactly
// Euler's method on the probability-flow ODE. η = 1 is ancestral sampling,
// and any η converges to the data distribution as the steps shrink. ζ > 0
// re-draws a fixed share of the noise however small the step, so it does
// not: on Gaussian data ζ = 0.3 leaves the variance about 8% short even at
// 1000 steps (DiffPIR relies on guidance, not on this, for its results).
// Both default to 0 (deterministic); setting both above 0 is an error.
type DDIM struct{}

// Info describes the solver.
func (DDIM) Info() sdk.Info {
	return sdk.Info{
		Name: "ddim", Version: "2.0.0", Kind: sdk.KindSolver,
		Summary: "DDIM with stochasticity ζ (DiffPIR's form) or η (DDIM's form, η=1 ancestral); 0 is deterministic",
		Params: append(scheduleParams(),
			sdk.FloatParam("zeta", 0, 0, 1, "share of fresh noise re-injected per step (DiffPIR's ζ); 0 to use eta"),
			sdk.FloatParam("eta", 0, 0, 1, "DDIM's η: σ_up = η·σ_{i+1}·√(1 − σ_{i+1}²/σ_i²); needs zeta=0")),
	}
}

// Sample runs the loop.
func (DDIM) Sample(ctx context.Context, d sdk.Denoiser, req sdk.SampleRequest) (*sdk.Tensor, error) {
	zeta, eta := req.Params.Float("zeta"), req.Params.Float("eta")
	if eta > 0 && zeta > 0 {
		return nil, fmt.Errorf("%w: ddim: eta=%g and zeta=%g are two forms of the same noise; set one of them to 0", sdk.ErrParam, eta, zeta)
	}
	if eta > 0 {
		return loop(ctx, d, req, func(x, d0 *sdk.Tensor, si, next float64, rng *sdk.RNG) {
			up := eta * math.Sqrt(next*next*(si*si-next*next)/(si*si))
			down := math.Sqrt(max(next*next-up*up, 0))
			for j := range x.Data {
				eps := float64(x.Data[j]-d0.Data[j]) / si
				x.Data[j] = d0.Data[j] + float32(down*eps+up*rng.Normal())
			}
		})
	}
	a, b := math.Sqrt(1-zeta), math.Sqrt(zeta)
	return loop(ctx, d, req, func(x, d0 *sdk.Tensor, si, next float64, rng *sdk.RNG) {
		for j := range x.Data {
			eps := float64(x.Data[j]-d0.Data[j]) / si
			x.Data[j] = d0.Data[j] + float32(next*(a*eps+b*rng.Normal()))
		}
	})
}

// PnP is plug-and-play half-quadratic splitting as DPIR runs it (Zhang et
// al., "Plug-and-Play Image Restoration with Deep Denoiser Prior", TPAMI
// 2021): the next iterate is the (guided) estimate itself, not re-noised,
//
//	x ← D̃(x, σ_i),
//
// so with DiffPIR's proximal guidance each step is z = prox(D(x, σ_i)) and
// the denoiser is asked to remove σ_{i+1} from it. It is an optimiser, not a
// sampler: on Gaussian data it converges to the mean, not to samples. One
// evaluation per step.
//
// ζ (zeta) > 0 makes it draw samples instead: each iterate gets fresh noise
// of σ_{i+1}·√ζ, x ← D̃(x, σ_i) + σ_{i+1}·√ζ·z (at ζ = 1, DDIM's step with
// DiffPIR's ζ = 1). The host uses it to draw samples beside an optimiser's
// estimate (host.Setting.Sampling). They are narrower than the posterior:
// on Gaussian data (variance s²) the spread follows v ← a_i²·v + ζσ_{i+1}²
// with a_i = s²/(s²+σ_i²), below s² at any ζ ≤ 1.
type PnP struct{}

// Info describes the solver.
func (PnP) Info() sdk.Info {
	return sdk.Info{
		Name: "pnp", Version: "1.1.0", Kind: sdk.KindSolver,
		Summary: "plug-and-play HQS (DPIR): each estimate is the next iterate, no re-noising (zeta > 0: fresh noise, samples)",
		Params: append(scheduleParams(),
			sdk.FloatParam("zeta", 0, 0, 1, "fresh noise added to each iterate, as a share of the next σ's variance (0: the optimiser)")),
	}
}

// Sample runs the loop. Each estimate becomes the next iterate as it is
// (no image-sized copy per step); the denoiser only reads its input, so
// req.X itself is the first.
func (PnP) Sample(ctx context.Context, d sdk.Denoiser, req sdk.SampleRequest) (*sdk.Tensor, error) {
	s, err := sigmas(req, req.Steps)
	if err != nil {
		return nil, err
	}
	amp := math.Sqrt(req.Params.Float("zeta"))
	rng := sdk.NewRNG(req.Seed)
	x := req.X
	for i, si := range s {
		if x, err = denoise(ctx, d, x, si); err != nil {
			return nil, err
		}
		if amp > 0 && i < len(s)-1 {
			a := amp * s[i+1]
			for j := range x.Data {
				x.Data[j] += float32(a * rng.Normal())
			}
		}
	}
	return x, nil
}
