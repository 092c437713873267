package host

import (
	"context"
	"fmt"
	"math"

	"github.com/restorekit/restore/sdk"
)

// bootstrapSamples draws req.Samples samples beside the estimate est by a
// parametric bootstrap (Sampling.Bootstrap): each is the same restoration,
// as req asks for it, of the estimate measured again, A est plus fresh
// noise of the photo's level, clipped to the photo's range as a camera
// clips. Their spread about est is the estimator's error where the truth
// is like est: its noise (what the photo's noise leaves, and where) and,
// from restoring an already restored image, its bias. Sample i's noise
// comes from seed req.Seed+i, its restoration's seed too; they run one
// after another, each batched as a single restoration is.
func (h *Host) bootstrapSamples(ctx context.Context, s *session, req Request, est *sdk.Tensor) (Result, error) {
	var out Result
	clean := s.op.Apply(est)
	for i := 1; i <= max(req.Samples, 1); i++ {
		seed := req.Seed + uint64(i)
		y := remeasure(clean, s.sigmaY, seed)
		sreq := req
		sreq.Image, sreq.Noise, sreq.Seed = ImageFromTensor16(y), s.res.Noise, seed
		sreq.Samples, sreq.KeepSamples, sreq.Progress, sreq.drawing = 1, false, nil, true
		res, err := h.sub(ctx, s, req, sreq)
		if err != nil {
			return Result{}, fmt.Errorf("bootstrap sample %d: %w", i, err)
		}
		out.drawn = append(out.drawn, res.Tensor)
		if req.KeepSamples {
			out.Samples = append(out.Samples, res.Image)
		}
	}
	return out, nil
}

// remeasure is a measurement Ax plus Gaussian noise of standard deviation
// sigma (model space), clipped to [-1, 1], the noise drawn from seed.
func remeasure(ax *sdk.Tensor, sigma float64, seed uint64) *sdk.Tensor {
	y := sdk.NewRNG(seed^0xb0075742).Noise(ax.C, ax.H, ax.W, sigma)
	for i, v := range ax.Data {
		y.Data[i] = float32(math.Min(1, math.Max(-1, float64(y.Data[i]+v))))
	}
	return y
}
