package host

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/restorekit/restore/sdk"
)

// batchSlot puts a restoration's network evaluations into a batcher shared
// with others running beside it (bootstrapSamples), as run i.
type batchSlot struct {
	b *batcher
	i int
}

// bootstrapSamples draws req.Samples samples beside the estimate est by a
// parametric bootstrap (Sampling.Bootstrap): each is the same restoration,
// as req asks for it, of the estimate measured again, A est plus fresh
// noise of the photo's level, clipped to the photo's range as a camera
// clips. Their spread about est is the estimator's error where the truth
// is like est: its noise (what the photo's noise leaves, and where) and,
// from restoring an already restored image, its bias. Sample i's noise
// comes from seed req.Seed+i, its restoration's seed too. The restorations
// run side by side, their evaluations batched through the network.
func (h *Host) bootstrapSamples(ctx context.Context, s *session, req Request, est *sdk.Tensor) (Result, error) {
	k := max(req.Samples, 1)
	clean := s.op.Apply(est)
	b := newBatcher(h.model, k, s.ensemble)
	results := make([]Result, k)
	errs := make([]error, k)

	// Progress counts every restoration's evaluations after the estimate's.
	var mu sync.Mutex
	s.mu.Lock()
	done := s.evals
	s.mu.Unlock()
	seen := make([]int, k)

	var wg sync.WaitGroup
	for i := range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer b.leave()
			seed := req.Seed + uint64(i+1)
			sreq := req
			sreq.Image, sreq.Noise, sreq.Seed = ImageFromTensor16(remeasure(clean, s.sigmaY, seed)), s.res.Noise, seed
			sreq.Samples, sreq.KeepSamples, sreq.drawing, sreq.batch = 1, false, true, &batchSlot{b, i}
			sreq.Progress = nil
			if req.Progress != nil {
				sreq.Progress = func(p Progress) {
					mu.Lock()
					defer mu.Unlock()
					done += p.Evaluation - seen[i]
					seen[i] = p.Evaluation
					p.Evaluation, p.Total, p.Elapsed = done, s.total, time.Since(s.start)
					req.Progress(p)
				}
			}
			results[i], errs[i] = h.Restore(ctx, sreq)
		}()
	}
	wg.Wait()

	var out Result
	for i, res := range results {
		if errs[i] != nil {
			return Result{}, fmt.Errorf("bootstrap sample %d: %w", i+1, errs[i])
		}
		s.mu.Lock()
		s.evals += res.Evaluations
		s.network += res.NetworkTime
		s.mu.Unlock()
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
