// Command euler, the README's example plugin: Euler steps on the probability-flow ODE.
package main

import (
	"context"
	"math"

	"github.com/restorekit/restore/sdk"
)

type euler struct{}

func (euler) Info() sdk.Info {
	return sdk.Info{Name: "example-euler", Version: "1.0.0", Kind: sdk.KindSolver, Summary: "Euler, probability-flow ODE"}
}

func (euler) Sample(ctx context.Context, d sdk.Denoiser, r sdk.SampleRequest) (*sdk.Tensor, error) {
	x, ratio := r.X.Clone(), math.Pow(r.SigmaMin/r.SigmaMax, 1/float64(max(r.Steps-1, 1)))
	for i, s := 0, r.SigmaMax; ; i, s = i+1, s*ratio {
		d0, err := d.Denoise(ctx, x, s)
		if err != nil || i == r.Steps-1 {
			return d0, err
		}
		for j := range x.Data { // x ← x + (σ' − σ)·(x − D)/σ
			x.Data[j] += float32(ratio-1) * (x.Data[j] - d0.Data[j])
		}
	}
}
func main() { sdk.Serve(euler{}) }
