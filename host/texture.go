package host

import (
	"context"
	"math"
	"time"

	"github.com/restorekit/restore/sdk"
	"github.com/restorekit/restore/sdk/operator"
)

// Texture is an inpainting setting's second stage. Deep inside a large
// hole the measurement says nothing, and an estimate that minimises the
// squared error (DPIR's) is smooth there: the mean of every fill the prior
// allows. A posterior sample is as textured as a photo but places its
// structures at random, which costs twice the error. The textured fill
// takes each where it is cheap: the large scales from the estimate, the
// fine detail (the sample minus its Gaussian blur of Scale pixels) from a
// sample, times Gain (a few tens of evaluations draw a sample smoother
// than a photo). The detail fades in with the distance to the nearest
// known pixel, from none at Near pixels to all of it at Near + Ramp. The
// stage runs only for a mask with a pixel Deep or more pixels from any
// known one: not for scattered missing pixels or thin scratches, which
// the estimate fills well, and which would only lose the estimate's
// steps to the sample. This is the split of Deng (2018, "Enhancing image
// quality via style transfer for single image super-resolution"), who
// joined the low frequencies of a PSNR-oriented result with the high
// ones of a perceptual one.
type Texture struct {
	// MeanSteps replaces the setting's Steps for the estimate when the
	// stage runs (a request's Steps overrides both).
	MeanSteps int
	// Method, Steps, StartSigma and Params draw the sample.
	Method     string
	Steps      int
	StartSigma float64
	Params     map[string]string
	// Scale is the blur (standard deviation, pixels) that splits fine
	// detail from the rest; Gain multiplies the detail.
	Scale, Gain float64
	// Near and Ramp place the fade, in pixels from the nearest known
	// pixel; Deep is how far a pixel must be for the stage to run.
	Near, Ramp, Deep float64
}

// textureWeights returns, per pixel, how much of the sample's detail a
// textured fill takes (see Texture), and whether any pixel lies Deep or
// more from the known ones (1 in observed).
func textureWeights(observed *sdk.Tensor, t *Texture) ([]float32, bool) {
	d := distanceToKnown(observed)
	w := make([]float32, len(d))
	deep := false
	for i, v := range d {
		w[i] = float32(min(max((v-t.Near)/t.Ramp, 0), 1))
		deep = deep || v >= t.Deep
	}
	return w, deep
}

// distanceToKnown returns each pixel's distance to the nearest known pixel
// of observed (1 = known), 0 for known ones: the Euclidean distance by
// chamfer propagation (steps of 1 and √2, two passes), within 8% of it.
// With no known pixel every distance is +Inf.
func distanceToKnown(observed *sdk.Tensor) []float64 {
	h, w := observed.H, observed.W
	d := make([]float64, h*w)
	for i := range d {
		if observed.Data[i] == 1 {
			continue
		}
		d[i] = math.Inf(1)
	}
	relax := func(i, y, x int, dy, dx int, step float64) {
		y, x = y+dy, x+dx
		if y < 0 || y >= h || x < 0 || x >= w {
			return
		}
		if v := d[y*w+x] + step; v < d[i] {
			d[i] = v
		}
	}
	for y := range h {
		for x := range w {
			i := y*w + x
			relax(i, y, x, 0, -1, 1)
			relax(i, y, x, -1, -1, math.Sqrt2)
			relax(i, y, x, -1, 0, 1)
			relax(i, y, x, -1, 1, math.Sqrt2)
		}
	}
	for y := h - 1; y >= 0; y-- {
		for x := w - 1; x >= 0; x-- {
			i := y*w + x
			relax(i, y, x, 0, 1, 1)
			relax(i, y, x, 1, 1, math.Sqrt2)
			relax(i, y, x, 1, 0, 1)
			relax(i, y, x, 1, -1, math.Sqrt2)
		}
	}
	return d
}

// addDetail adds gain × weight × (sample − its Gaussian blur of std scale
// pixels) to est, per channel, in place.
func addDetail(est, sample *sdk.Tensor, weight []float32, scale, gain float64) error {
	r := int(math.Ceil(3 * scale))
	k := sdk.NewTensor(1, 2*r+1, 2*r+1)
	for i := -r; i <= r; i++ {
		for j := -r; j <= r; j++ {
			k.Data[(i+r)*(2*r+1)+j+r] = float32(math.Exp(-float64(i*i+j*j) / (2 * scale * scale)))
		}
	}
	blur, err := operator.NewBlur(k, sample.H, sample.W)
	if err != nil {
		return err
	}
	smooth := blur.Apply(sample)
	n := sample.H * sample.W
	for c := range sample.C {
		for i, wt := range weight {
			if wt == 0 {
				continue
			}
			j := c*n + i
			est.Data[j] += float32(gain) * wt * (sample.Data[j] - smooth.Data[j])
		}
	}
	return nil
}

// apartSamples draws a request's Samples as a restoration of their own,
// with s.apart's method, seeds Seed+1 to Seed+Samples. Inside holes deep
// enough for the texture stage it is the stage's sampler: the optimiser
// re-noised (ζ = 1) stays close to its own smooth fill and its
// samples barely spread, where the texture's sampler, which starts from far
// higher noise, draws varied fills (session 14, the first 8
// inpaint_box128 cases: errors 11.7 times the spread, against 2.3).
func (h *Host) apartSamples(ctx context.Context, s *session, req Request) (Result, error) {
	sreq := samplerRequest(req, s.res.Noise, s.apart, req.Seed+1)
	sreq.Samples, sreq.KeepSamples = req.Samples, req.KeepSamples
	return h.sub(ctx, s, req, sreq)
}

// sampler is the texture stage's sampler, as a Sampling.
func (t *Texture) sampler() *Sampling {
	return &Sampling{Method: t.Method, Steps: t.Steps, StartSigma: t.StartSigma, Params: t.Params}
}

// samplerRequest is the restoration by which a sampler a draws from req's
// problem (noise level noise) with this seed, without a texture stage. Its
// runs are the samples: never an estimate with samples beside it, even
// where a's method would draw them so.
func samplerRequest(req Request, noise float64, a *Sampling, seed uint64) Request {
	return Request{Task: req.Task, Image: req.Image, Mask: req.Mask, Kernel: req.Kernel, Scale: req.Scale,
		Noise: noise, Method: a.Method, Params: a.Params, Steps: a.Steps, StartSigma: a.StartSigma,
		Seed: seed, Texture: Off, drawing: true}
}

// sub runs a restoration within a session's (the texture stage's sample,
// apartSamples), counting its evaluations and time as the session's and
// reporting its progress as the session's.
func (h *Host) sub(ctx context.Context, s *session, req, sreq Request) (Result, error) {
	offset := s.evals
	if req.Progress != nil {
		sreq.Progress = func(p Progress) {
			p.Evaluation += offset
			p.Total = s.total
			p.Elapsed = time.Since(s.start)
			req.Progress(p)
		}
	}
	res, err := h.Restore(ctx, sreq)
	if err != nil {
		return Result{}, err
	}
	s.mu.Lock()
	s.evals += res.Evaluations
	s.network += res.NetworkTime
	s.mu.Unlock()
	return res, nil
}

// textured draws the sample of s's Texture stage for req and adds its
// detail to est. Its evaluations and network time count in s.
func (h *Host) textured(ctx context.Context, s *session, req Request, est *sdk.Tensor) (*sdk.Tensor, error) {
	t := s.texture
	res, err := h.sub(ctx, s, req, samplerRequest(req, s.res.Noise, t.sampler(), req.Seed))
	if err != nil {
		return nil, err
	}
	out := est.Clone()
	if err := addDetail(out, res.Tensor, s.textureWeight, t.Scale, t.Gain); err != nil {
		return nil, err
	}
	return out, nil
}
