package solvers

import (
	"context"
	"math"

	"github.com/restorekit/restore/sdk"
)

// PC is the predictor–corrector sampler of Song et al. 2021 (Algorithm 2,
// VE SDE), with score ∇log p_σ(x) = (D(x, σ) − x)/σ². From σ_i to σ_{i+1}
// the predictor is Euler–Maruyama on the reverse SDE with σ² as the time
// variable (where it reads dx = −∇log p dσ² + dw̄; Song et al.'s "reverse
// diffusion" predictor):
//
//	x ← x + (σ_i² − σ_{i+1}²)·(D(x, σ_i) − x)/σ_i² + √(σ_i² − σ_{i+1}²)·z,
//
// then corrector_steps Langevin steps at σ_{i+1}, each with fresh z:
//
//	g = (D(x, σ_{i+1}) − x)/σ_{i+1}²,  ε = 2·(snr·‖z‖/‖g‖)²,  x ← x + ε·g + √(2ε)·z.
//
// A step costs 1 + corrector_steps evaluations and a final evaluation at
// σ_min gives the result; where the budget does not divide evenly the last
// step runs fewer corrector steps.
type PC struct{}

// Info describes the solver.
func (PC) Info() sdk.Info {
	return sdk.Info{
		Name: "pc", Version: "1.0.0", Kind: sdk.KindSolver,
		Summary: "predictor–corrector: reverse-SDE predictor + Langevin corrector (1 + corrector_steps evaluations per step)",
		Params: append(scheduleParams(),
			sdk.FloatParam("snr", 0.16, 0, 1, "Langevin signal-to-noise ratio: sets the corrector's step size"),
			sdk.IntParam("corrector_steps", 1, 0, 10, "Langevin steps after each predictor step, one evaluation each")),
	}
}

// Sample runs the loop.
func (PC) Sample(ctx context.Context, d sdk.Denoiser, req sdk.SampleRequest) (*sdk.Tensor, error) {
	nc, snr := req.Params.Int("corrector_steps"), req.Params.Float("snr")
	s, lastCost, err := plan(req, 1+nc)
	if err != nil {
		return nil, err
	}
	rng := sdk.NewRNG(req.Seed)
	x := req.X.Clone()
	z := make([]float64, len(x.Data))
	for i := 0; i+1 < len(s); i++ {
		si, next := s[i], s[i+1]
		d0, err := denoise(ctx, d, x, si)
		if err != nil {
			return nil, err
		}
		dv := si*si - next*next
		k, amp := dv/(si*si), math.Sqrt(dv)
		for j := range x.Data {
			x.Data[j] += float32(k*float64(d0.Data[j]-x.Data[j]) + amp*rng.Normal())
		}
		steps := nc
		if i == len(s)-2 {
			steps = lastCost - 1
		}
		for range steps {
			dc, err := denoise(ctx, d, x, next)
			if err != nil {
				return nil, err
			}
			var zz, gg float64
			for j := range z {
				z[j] = rng.Normal()
				zz += z[j] * z[j]
				g := float64(dc.Data[j] - x.Data[j])
				gg += g * g
			}
			if gg == 0 {
				continue
			}
			// ε = 2(snr·‖z‖/‖g‖)² with ‖g‖² = ‖D − x‖²/σ⁴.
			eps := 2 * snr * snr * zz / gg * math.Pow(next, 4)
			step, amp := eps/(next*next), math.Sqrt(2*eps)
			for j := range z {
				x.Data[j] += float32(step*float64(dc.Data[j]-x.Data[j]) + amp*z[j])
			}
		}
	}
	return denoise(ctx, d, x, s[len(s)-1])
}

// SRA is Rößler's (2010) SRA1 stochastic Runge–Kutta method for SDEs with
// additive noise (strong order 1.5, two drift evaluations per step), applied
// to the reverse SDE run with τ = −σ as time, so that the step
// h = σ_i − σ_{i+1} is positive:
//
//	dx = a(x, σ) dτ + b(σ) dW_τ,  a(x, σ) = 2(D(x, σ) − x)/σ,  b(σ) = √(2σ).
//
// With ξ₁, ξ₂ ~ N(0, 1), ΔW = √h·ξ₁ and ΔZ = (√h/2)·(ξ₁ + ξ₂/√3) (the mean
// of the Brownian increment over the step, I₍₁,₀₎/h), the SRA1 tableau
// (c⁽⁰⁾ = (0, ¾), A⁽⁰⁾₂₁ = ¾, B⁽⁰⁾₂₁ = 3/2, c⁽¹⁾ = (1, 0), α = (⅓, ⅔),
// β⁽¹⁾ = (1, 0), β⁽²⁾ = (−1, 1)) gives
//
//	H = x + ¾h·a(x, σ_i) + (3/2)·b(σ_{i+1})·ΔZ
//	x ← x + h·(a(x, σ_i)/3 + 2·a(H, σ_i − ¾h)/3) + b(σ_{i+1})·(ΔW − ΔZ) + b(σ_i)·ΔZ.
//
// A final evaluation at σ_min gives the result. When the budget is even the
// last step is an Euler–Maruyama step (as in EulerMaruyama) so that the
// spare evaluation is used.
type SRA struct{}

// Info describes the solver.
func (SRA) Info() sdk.Info {
	return sdk.Info{
		Name: "sra", Version: "1.0.0", Kind: sdk.KindSolver,
		Summary: "Rößler's SRA1 stochastic Runge–Kutta on the reverse SDE (two evaluations per step)",
		Params:  scheduleParams(),
	}
}

// Sample runs the loop.
func (SRA) Sample(ctx context.Context, d sdk.Denoiser, req sdk.SampleRequest) (*sdk.Tensor, error) {
	s, lastCost, err := plan(req, 2)
	if err != nil {
		return nil, err
	}
	rng := sdk.NewRNG(req.Seed)
	x := req.X.Clone()
	noise := make([]float32, len(x.Data))
	for i := 0; i+1 < len(s); i++ {
		si, next := s[i], s[i+1]
		h := si - next
		d0, err := denoise(ctx, d, x, si)
		if err != nil {
			return nil, err
		}
		if i == len(s)-2 && lastCost == 1 {
			k, amp := 2*h/si, math.Sqrt(si*si-next*next)
			for j := range x.Data {
				x.Data[j] += float32(k*float64(d0.Data[j]-x.Data[j]) + amp*rng.Normal())
			}
			break
		}
		bi, bn := math.Sqrt(2*si), math.Sqrt(2*next)
		sh := math.Sqrt(h)
		mid := si - 0.75*h
		stage := sdk.NewTensor(x.C, x.H, x.W)
		for j := range x.Data {
			xi1, xi2 := rng.Normal(), rng.Normal()
			dw := sh * xi1
			dz := sh / 2 * (xi1 + xi2/math.Sqrt(3))
			a1 := 2 * float64(d0.Data[j]-x.Data[j]) / si
			stage.Data[j] = x.Data[j] + float32(0.75*h*a1+1.5*bn*dz)
			noise[j] = float32(bn*(dw-dz) + bi*dz)
		}
		d1, err := denoise(ctx, d, stage, mid)
		if err != nil {
			return nil, err
		}
		for j := range x.Data {
			a1 := 2 * float64(d0.Data[j]-x.Data[j]) / si
			a2 := 2 * float64(d1.Data[j]-stage.Data[j]) / mid
			x.Data[j] += float32(h*(a1+2*a2)/3) + noise[j]
		}
	}
	return denoise(ctx, d, x, s[len(s)-1])
}
