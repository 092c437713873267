package solvers

import (
	"context"
	"math"

	"github.com/restorekit/restore/sdk"
)

// Euler integrates the probability-flow ODE dx/dσ = (x − D(x, σ))/σ with
// Euler's method: from σ_i to σ_{i+1},
//
//	x ← x + (σ_{i+1} − σ_i)·(x − D(x, σ_i))/σ_i.
//
// One evaluation per step; the last evaluation's estimate is the result.
// Deterministic: the seed is not used.
type Euler struct{}

// Info describes the solver.
func (Euler) Info() sdk.Info {
	return sdk.Info{
		Name: "euler", Version: "1.0.0", Kind: sdk.KindSolver,
		Summary: "Euler on the probability-flow ODE (one evaluation per step, deterministic)",
		Params:  scheduleParams(),
	}
}

// Sample runs the loop.
func (Euler) Sample(ctx context.Context, d sdk.Denoiser, req sdk.SampleRequest) (*sdk.Tensor, error) {
	return loop(ctx, d, req, func(x, d0 *sdk.Tensor, si, next float64, _ *sdk.RNG) {
		k := (next - si) / si
		for j := range x.Data {
			x.Data[j] += float32(k * float64(x.Data[j]-d0.Data[j]))
		}
	})
}

// Heun is EDM's stochastic sampler (Karras et al. 2022, Algorithm 2): Heun's
// second-order method on the probability-flow ODE, with optional "churn"
// that first raises the noise level. From σ_i to σ_{i+1}, over N levels,
//
//	γ = min(s_churn/N, √2 − 1) if s_tmin ≤ σ_i ≤ s_tmax, else 0
//	σ̂ = min(σ_i·(1 + γ), σ_max),  x̂ = x + s_noise·√(σ̂² − σ_i²)·z
//	d = (x̂ − D(x̂, σ̂))/σ̂,  x' = x̂ + (σ_{i+1} − σ̂)·d
//	d' = (x' − D(x', σ_{i+1}))/σ_{i+1}
//	x ← x̂ + (σ_{i+1} − σ̂)·(d + d')/2.
//
// Each step costs two evaluations; a final one at σ_min gives the result,
// which is the estimate EDM's last Euler step to σ = 0 returns. When the
// budget is even, one evaluation would be left over, so the last step is
// an Euler step (x ← x'). Unlike EDM, σ̂ is capped at σ_max so that the
// denoiser is never asked about noise above the requested range (the first
// step therefore never churns). With s_churn = 0 (the default) it is
// deterministic.
type Heun struct{}

// Info describes the solver.
func (Heun) Info() sdk.Info {
	return sdk.Info{
		Name: "heun", Version: "1.0.0", Kind: sdk.KindSolver,
		Summary: "EDM's Heun sampler with optional churn (two evaluations per step)",
		Params: append(scheduleParams(),
			sdk.FloatParam("s_churn", 0, 0, 1000, "total churn: each step raises σ by γ = min(s_churn/N, √2−1); 0 is deterministic"),
			sdk.FloatParam("s_tmin", 0, 0, 1e6, "churn only where σ ≥ s_tmin"),
			sdk.FloatParam("s_tmax", 1000, 0, 1e6, "churn only where σ ≤ s_tmax"),
			sdk.FloatParam("s_noise", 1, 0, 2, "scale of the churn noise")),
	}
}

// Sample runs the loop.
func (Heun) Sample(ctx context.Context, d sdk.Denoiser, req sdk.SampleRequest) (*sdk.Tensor, error) {
	s, lastCost, err := plan(req, 2)
	if err != nil {
		return nil, err
	}
	p := req.Params
	gamma := min(p.Float("s_churn")/float64(len(s)), math.Sqrt2-1)
	tmin, tmax, snoise := p.Float("s_tmin"), p.Float("s_tmax"), p.Float("s_noise")
	rng := sdk.NewRNG(req.Seed)
	x := req.X.Clone()
	for i := 0; i+1 < len(s); i++ {
		si, next := s[i], s[i+1]
		hat := si
		if gamma > 0 && si >= tmin && si <= tmax {
			hat = min(si*(1+gamma), req.SigmaMax)
		}
		if hat > si {
			amp := snoise * math.Sqrt(hat*hat-si*si)
			for j := range x.Data {
				x.Data[j] += float32(amp * rng.Normal())
			}
		}
		d0, err := denoise(ctx, d, x, hat)
		if err != nil {
			return nil, err
		}
		dt := next - hat
		pred := x.Clone()
		for j := range pred.Data {
			pred.Data[j] += float32(dt * float64(x.Data[j]-d0.Data[j]) / hat)
		}
		if i == len(s)-2 && lastCost == 1 {
			x = pred
			break
		}
		d1, err := denoise(ctx, d, pred, next)
		if err != nil {
			return nil, err
		}
		for j := range x.Data {
			slope := float64(x.Data[j]-d0.Data[j])/hat + float64(pred.Data[j]-d1.Data[j])/next
			x.Data[j] += float32(dt * slope / 2)
		}
	}
	return denoise(ctx, d, x, s[len(s)-1])
}

// DPMPP2M is DPM-Solver++(2M) (Lu et al. 2022) as k-diffusion's
// sample_dpmpp_2m writes it: a multistep second-order exponential
// integrator of the probability-flow ODE in t = −log σ. From σ_i to σ_{i+1},
// with h = t_{i+1} − t_i and r = h_{i−1}/h,
//
//	D' = (1 + 1/(2r))·D(x, σ_i) − 1/(2r)·D(x_{i−1}, σ_{i−1})   (D' = D on the first step)
//	x ← (σ_{i+1}/σ_i)·x + (1 − σ_{i+1}/σ_i)·D'.
//
// One evaluation per step (it reuses the previous one); the last
// evaluation's estimate is the result. Deterministic: the seed is not used.
type DPMPP2M struct{}

// Info describes the solver.
func (DPMPP2M) Info() sdk.Info {
	return sdk.Info{
		Name: "dpmpp-2m", Version: "1.0.0", Kind: sdk.KindSolver,
		Summary: "DPM-Solver++(2M): second-order multistep, one evaluation per step, deterministic",
		Params:  scheduleParams(),
	}
}

// Sample runs the loop.
func (DPMPP2M) Sample(ctx context.Context, d sdk.Denoiser, req sdk.SampleRequest) (*sdk.Tensor, error) {
	var old []float32 // the previous estimate, copied so the denoiser may reuse its buffers
	var hLast float64
	return loop(ctx, d, req, func(x, d0 *sdk.Tensor, si, next float64, _ *sdk.RNG) {
		h := math.Log(si / next)
		ratio := next / si
		a, b := 1.0, 0.0 // first order on the first step (and where σ does not move)
		if old == nil {
			old = make([]float32, len(d0.Data))
		} else if h > 0 && hLast > 0 {
			r := hLast / h
			a, b = 1+1/(2*r), 1/(2*r)
		}
		for j := range x.Data {
			dd := a*float64(d0.Data[j]) - b*float64(old[j])
			x.Data[j] = float32(ratio*float64(x.Data[j]) + (1-ratio)*dd)
		}
		copy(old, d0.Data)
		hLast = h
	})
}
