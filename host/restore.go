package host

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"sync"
	"time"

	"github.com/restorekit/restore/sdk"
	"github.com/restorekit/restore/sdk/operator"
)

// MaxSamples bounds Request.Samples.
const MaxSamples = 64

// evalFunc evaluates the network for sample i.
type evalFunc func(ctx context.Context, i int, x *sdk.Tensor, sigma float64) (*sdk.Tensor, error)

// session is one restoration's problem, resolved from a Request: what all
// its posterior samples share.
type session struct {
	task          Task
	y, observed   *sdk.Tensor
	spec          sdk.OperatorSpec
	op            operator.Operator
	init          *sdk.Tensor      // the warm start (a single sample adds its noise to it in place)
	firstNoise    chan *sdk.Tensor // sample 0's starting noise, drawn while the warm start is made
	sigmaY        float64
	sigmaStart    float64
	sigmaMin      float64
	steps         int
	ensemble      int       // copies per denoiser evaluation (1: no ensemble)
	cycle         bool      // turn evaluation i by mirroring i mod 4 (see Request.Cycle)
	texture       *Texture  // the texture stage, nil when it does not run
	textureWeight []float32 // per pixel: how much of the sample's detail the fill takes
	spare         *buffers  // the model's, for turned copies
	solver        sdk.Solver
	guidance      sdk.Guidance
	solverParams  sdk.Params
	samplerParams *sdk.Params // the solver's for posterior samples beside the estimate (Setting.Sampling); nil: none
	addBootstrap  bool        // add a bootstrap's spread to the samples' (Sampling.AddBootstrap)
	apart         *Sampling   // or the restoration that draws them after the estimate (apartSamples); nil: none
	guideParams   sdk.Params
	res           Result // names and noise level, filled as resolved
	release       []func(healthy bool)
	start         time.Time
	progress      func(Progress)
	total         int // evaluations of all samples
	mu            sync.Mutex
	evals         int
	modelErr      error
	sampleSteps   []int         // evaluations per sample
	timeout       time.Duration // plugin watchdog (0: none)
	network       time.Duration // spent in network evaluations
}

// close releases the session's plugins: processes of a restoration that
// succeeded (healthy) are kept for the next one.
func (s *session) close(healthy bool) {
	for _, f := range s.release {
		f(healthy)
	}
}

// Restore restores one image. Cancelling ctx stops it within one network
// evaluation with an error that wraps ctx.Err().
func (h *Host) Restore(ctx context.Context, req Request) (_ Result, err error) {
	start := time.Now()
	if req.Samples < 0 || req.Samples > MaxSamples {
		return Result{}, fmt.Errorf("%w: samples=%d, want 1 to %d", ErrBadInput, req.Samples, MaxSamples)
	}
	s, err := h.newSession(req)
	if s != nil {
		defer func() { s.close(err == nil) }()
	}
	if err != nil {
		return Result{}, err
	}
	k := max(req.Samples, 1)
	// runs: the samples, and with Setting.Sampling the estimate before them,
	// or the estimate alone when a restoration of their own draws them
	// afterwards (apartSamples).
	runs := k
	switch {
	case s.apart != nil:
		runs = 1
	case s.samplerParams != nil:
		runs = k + 1
	}
	s.start, s.progress, s.total = start, req.Progress, s.steps*runs*s.ensemble
	if s.texture != nil {
		s.total += s.texture.Steps
	}
	if s.addBootstrap {
		s.total += k * s.steps * s.ensemble
	}
	switch {
	case s.apart == nil:
	case s.apart.Bootstrap:
		s.total += k * s.total
	default:
		s.total += k * s.apart.Steps
	}
	switch s.timeout = h.cfg.PluginTimeout; {
	case s.timeout == 0:
		s.timeout = DefaultPluginTimeout
	case s.timeout < 0:
		s.timeout = 0
	}
	s.sampleSteps = make([]int, runs)

	outs := make([]*sdk.Tensor, runs)
	errs := make([]error, runs)
	if runs == 1 {
		eval := func(ctx context.Context, _ int, x *sdk.Tensor, sigma float64) (*sdk.Tensor, error) {
			if req.batch != nil {
				return req.batch.b.denoise(ctx, req.batch.i, x, sigma)
			}
			outs, err := h.model.denoiseEnsemble(ctx, []*sdk.Tensor{x}, []float64{sigma}, s.ensemble)
			if err != nil {
				return nil, err
			}
			return outs[0], nil
		}
		outs[0], errs[0] = s.sample(ctx, 0, req.Seed, s.solverParams, eval)
	} else {
		b := newBatcher(h.model, runs, s.ensemble)
		var wg sync.WaitGroup
		for i := range runs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer b.leave()
				seed, params := req.Seed+uint64(i), s.solverParams
				if s.samplerParams != nil && i > 0 {
					params = *s.samplerParams
				}
				outs[i], errs[i] = s.sample(ctx, i, seed, params, b.denoise)
			}()
		}
		wg.Wait()
	}
	for _, err := range errs {
		if err != nil {
			return Result{}, err
		}
	}
	if s.texture != nil {
		if outs[0], err = h.textured(ctx, s, req, outs[0]); err != nil {
			return Result{}, err
		}
	}
	res := s.res
	res.Device = h.model.device
	res.Evaluations = s.evals
	res.NetworkTime = s.network
	samples := outs
	switch {
	case s.apart != nil:
		apart := h.apartSamples
		if s.apart.Bootstrap {
			apart = func(ctx context.Context, s *session, req Request) (Result, error) {
				return h.bootstrapSamples(ctx, s, req, outs[0])
			}
		}
		sub, err := apart(ctx, s, req)
		if err != nil {
			return Result{}, err
		}
		res.Tensor, res.Std, res.Samples, res.SamplesBeside = outs[0], spreadAbout(outs[0], sub.drawn), sub.Samples, true
		samples = nil
	case s.samplerParams != nil:
		samples = outs[1:]
		res.Tensor, res.Std, res.SamplesBeside = outs[0], spreadAbout(outs[0], samples), true
	case k == 1:
		res.Tensor = outs[0]
	default:
		res.Tensor, res.Std = meanStd(outs)
		res.drawn = outs
	}
	if s.addBootstrap {
		breq := req
		breq.KeepSamples = false
		boot, err := h.bootstrapSamples(ctx, s, breq, outs[0])
		if err != nil {
			return Result{}, err
		}
		addVariance(res.Std, spreadAbout(outs[0], boot.drawn))
	}
	res.Evaluations, res.NetworkTime = s.evals, s.network
	res.Image = ImageFromTensor(res.Tensor)
	if req.KeepSamples {
		for _, o := range samples {
			res.Samples = append(res.Samples, ImageFromTensor(o))
		}
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// newSession checks a request and resolves its method, operator, noise
// level, plugins and warm start. The caller closes the session, also on error.
func (h *Host) newSession(req Request) (*session, error) {
	if req.Image == nil {
		return nil, fmt.Errorf("%w: no image", ErrBadInput)
	}
	b := req.Image.Bounds()
	if b.Dx() < 1 || b.Dy() < 1 {
		return nil, fmt.Errorf("%w: empty image", ErrBadInput)
	}
	y := TensorFromImage(req.Image)
	spec, observed, err := problemOperator(req, y)
	if err != nil {
		return nil, err
	}
	op, dom, err := operator.ForProblem(sdk.Problem{Y: y, Operator: spec})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	if observed != nil {
		y = op.Apply(y) // values under the mask are ignored
	}
	method, def, err := methodSetting(req.Method, req.Task)
	if err != nil {
		return nil, err
	}
	s := &session{task: req.Task, y: y, observed: observed, spec: spec, op: op}
	s.res = Result{Noise: req.Noise, Method: method, Solver: req.Solver, Guidance: req.Guidance}
	if s.res.Solver == "" {
		s.res.Solver = def.Solver
	}
	if s.res.Guidance == "" {
		s.res.Guidance = def.Guidance
	}
	if math.IsNaN(req.Noise) || math.IsInf(req.Noise, 0) || req.Noise > 255 {
		return nil, fmt.Errorf("%w: noise level %g", ErrBadInput, req.Noise)
	}
	if req.Noise < 0 {
		s.res.Noise = EstimateNoise(y, observed) * 127.5
		s.res.NoiseEstimated = true
	}
	s.sigmaY = s.res.Noise / 127.5
	s.steps = req.Steps
	if s.steps == 0 {
		s.steps = def.Steps
	}
	if s.steps < 1 || s.steps > 10000 {
		return nil, fmt.Errorf("%w: steps=%d, want 1 to 10000", ErrBadInput, s.steps)
	}
	s.ensemble = cmp.Or(req.Ensemble, def.Ensemble, 1)
	if !validEnsemble(s.ensemble) {
		return nil, fmt.Errorf("%w: ensemble=%d, want 1, 2, 4 or 8", ErrBadInput, s.ensemble)
	}
	s.res.Ensemble = s.ensemble
	switch req.Cycle {
	case ByMethod:
		s.cycle = def.Cycle && h.model.info.Dihedral
	case On:
		if !h.model.info.Dihedral {
			return nil, fmt.Errorf("%w: cycle=on needs a model trained on flipped images (metadata restore.augmentation=dihedral)", ErrBadInput)
		}
		s.cycle = true
	case Off:
	default:
		return nil, fmt.Errorf("%w: cycle=%q, want on, off or empty (the method's)", ErrBadInput, req.Cycle)
	}
	switch req.Texture {
	case ByMethod, On:
		t := def.Texture
		if t == nil || req.Task != Inpaint {
			if req.Texture == On {
				return nil, fmt.Errorf("%w: texture=on: method %s has no texture stage for %s", ErrBadInput, method, req.Task)
			}
			break
		}
		if req.Samples > 1 && !samplesBeside(req, def) {
			break
		}
		if w, deep := textureWeights(observed, t); deep {
			s.texture, s.textureWeight = t, w
			if req.Steps == 0 {
				s.steps = t.MeanSteps
			}
		}
	case Off:
	default:
		return nil, fmt.Errorf("%w: texture=%q, want on, off or empty (the method's)", ErrBadInput, req.Texture)
	}
	s.res.Textured = s.texture != nil
	s.spare = &h.model.spare
	s.res.Cycled = s.cycle

	solverP, releaseSolver, err := h.reg.open(sdk.KindSolver, s.res.Solver)
	if err != nil {
		return nil, err
	}
	s.release = append(s.release, releaseSolver)
	guidanceP, releaseGuidance, err := h.reg.open(sdk.KindGuidance, s.res.Guidance)
	if err != nil {
		return s, err
	}
	s.release = append(s.release, releaseGuidance)
	s.solver = solverP.(sdk.Solver)
	s.guidance = guidanceP.(sdk.Guidance)
	adapted := def.adaptedParams(req.Task, op, s.res.Noise)
	s.solverParams, s.guideParams, err = splitParams(withDefaults(adapted, req.Params, s.solver.Info(), s.guidance.Info()),
		s.solver.Info(), s.guidance.Info())
	if err != nil {
		return s, err
	}
	switch t := s.texture; {
	case !samplesBeside(req, def):
	case t != nil: // deep holes: the texture's sampler (see apartSamples)
		s.apart = t.sampler()
	case def.Sampling.Bootstrap && s.res.Noise == 0:
		return s, fmt.Errorf("%w: %s draws samples by re-measuring its estimate with the photo's noise, and this photo has none", ErrBadInput, s.res.Method)
	case def.Sampling.Method != "" || def.Sampling.Bootstrap:
		s.apart = def.Sampling
		s.addBootstrap = def.Sampling.AddBootstrap && s.res.Noise > 0
	default:
		sampling := maps.Clone(adapted)
		maps.Copy(sampling, def.Sampling.Params)
		p, _, err := splitParams(withDefaults(sampling, req.Params, s.solver.Info(), s.guidance.Info()),
			s.solver.Info(), s.guidance.Info())
		if err != nil {
			return s, err
		}
		s.samplerParams = &p
		s.addBootstrap = def.Sampling.AddBootstrap && s.res.Noise > 0
	}

	startSigma := req.StartSigma
	if startSigma == 0 {
		startSigma = def.startSigma(req.Task, op, s.res.Noise)
	}
	s.sigmaMin = math.Max(h.model.info.SigmaMin, 0.01)
	s.sigmaStart = math.Min(math.Max(startSigmaFor(req.Task, s.sigmaY, startSigma), s.sigmaMin), h.model.info.SigmaMax)
	s.res.StartSigma = s.sigmaStart
	// The first sample's starting noise does not depend on the rough
	// estimate: it is drawn on another core while the estimate is made
	// (on a 512² deblurring, 8 ms of a 25 ms warm start). Not on large
	// photos, where it would add an image-sized tensor to the warm start's
	// peak memory.
	if extra := s.sigmaStart*s.sigmaStart - initNoise(s.task, s.sigmaY); extra > 0 && dom.C*dom.H*dom.W <= maxEarlyNoise {
		s.firstNoise = make(chan *sdk.Tensor, 1)
		go func() {
			s.firstNoise <- startNoise(req.Seed, dom.C, dom.H, dom.W, extra)
		}()
	}
	s.init = warmStart(req.Task, op, y, observed, s.sigmaY)
	return s, nil
}

// samplesBeside reports whether a request draws its samples beside the
// preset's estimate (Setting.Sampling) rather than averaging runs of it.
func samplesBeside(req Request, def Setting) bool {
	return req.Samples > 1 && def.Sampling != nil && req.Solver == "" && !req.drawing
}

// maxEarlyNoise is the largest starting noise (in values) drawn during the
// warm start: 64 MB of float32, a 2.3-megapixel RGB photo (the deblurring
// prox keeps its data term up to a similar size).
const maxEarlyNoise = 16 << 20

// startNoise is the noise of variance extra that a sample with this seed
// starts with, on top of the warm start.
func startNoise(seed uint64, c, h, w int, extra float64) *sdk.Tensor {
	return sdk.NewRNG(seed^0x5eed5eed).Noise(c, h, w, math.Sqrt(extra))
}

// sample draws one posterior sample with the given seed; i numbers the
// sample within the session.
func (s *session) sample(ctx context.Context, i int, seed uint64, params sdk.Params, eval evalFunc) (out *sdk.Tensor, err error) {
	// The watchdog runs while a plugin has the turn: during Begin and Guide,
	// and while the solver works between evaluations; not while the
	// network evaluates.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wd *time.Timer
	turn := s.res.Guidance
	var turnMu sync.Mutex
	if s.timeout > 0 {
		wd = time.AfterFunc(s.timeout, func() {
			turnMu.Lock()
			name := turn
			turnMu.Unlock()
			cancel(fmt.Errorf("%w: %s made no progress for %v; stopped", ErrPlugin, name, s.timeout))
		})
		defer wd.Stop()
	}
	handOver := func(name string, running bool) {
		if wd == nil {
			return
		}
		turnMu.Lock()
		turn = name
		turnMu.Unlock()
		wd.Stop()
		if running {
			wd.Reset(s.timeout)
		}
	}
	defer func() {
		if cause := context.Cause(ctx); err != nil && errors.Is(cause, ErrPlugin) {
			err = cause
		}
	}()

	guider, err := s.guidance.Begin(ctx, sdk.Problem{Y: s.y, Operator: s.spec, SigmaY: s.sigmaY, Seed: seed}, s.guideParams)
	if err != nil {
		return nil, pluginError(ctx, s.res.Guidance, "begin", err)
	}
	defer guider.End()
	// Xt goes only to guidance that reads it: out of process it is another
	// image-sized message per evaluation.
	usesXt := s.guidance.Info().UsesXt
	handOver(s.res.Solver, true)

	// One sample takes the warm start itself (its shape is all that is
	// read of s.init afterwards): on a 24-megapixel photo one image-sized
	// copy less. Several samples each start from a copy.
	x := s.init
	if len(s.sampleSteps) > 1 {
		x = s.init.Clone()
	}
	if extra := s.sigmaStart*s.sigmaStart - initNoise(s.task, s.sigmaY); extra > 0 {
		var noise *sdk.Tensor
		if i == 0 && s.firstNoise != nil {
			noise = <-s.firstNoise
		}
		if noise == nil || !noise.SameShape(x) {
			noise = startNoise(seed, x.C, x.H, x.W, extra)
		}
		for j := range x.Data {
			x.Data[j] += noise.Data[j]
		}
	}

	// A solver may evaluate concurrently (an out-of-process one through
	// several broker calls); s.mu guards the counters.
	guided := sdk.DenoiserFunc(func(ctx context.Context, xt *sdk.Tensor, sigma float64) (*sdk.Tensor, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !xt.SameShape(s.init) {
			return nil, fmt.Errorf("%w: solver passed %v for a %v image", sdk.ErrShape, xt, s.init)
		}
		s.mu.Lock()
		step := s.sampleSteps[i]
		s.mu.Unlock()
		turn := 0 // cycling: evaluation step sees mirroring step mod 4
		if s.cycle {
			turn = step % 4
		}
		in := xt
		if turn != 0 {
			in = &sdk.Tensor{Data: s.spare.take(len(xt.Data))}
			turnInto(in, xt, turn, false)
		}
		handOver("", false)
		t0 := time.Now()
		x0, err := eval(ctx, i, in, sigma)
		s.mu.Lock()
		s.network += time.Since(t0)
		s.mu.Unlock()
		finite := true // of a turned result, checked as it is turned back
		if turn != 0 {
			s.spare.give(in.Data)
			if err == nil {
				back := &sdk.Tensor{Data: s.spare.take(len(x0.Data))}
				finite = turnInto(back, x0, inverseTurn[turn], true)
				s.spare.give(x0.Data)
				x0 = back
			}
		}
		handOver(s.res.Guidance, true)
		if err == nil && (!finite || turn == 0 && !x0.Finite()) {
			err = fmt.Errorf("%w: output has NaN or Inf at evaluation %d (σ=%g)", ErrModel, step+1, sigma)
		}
		if err != nil {
			s.mu.Lock()
			s.modelErr = err
			s.mu.Unlock()
			return nil, err
		}
		gs := sdk.GuideStep{X0: x0, Sigma: sigma, Step: step}
		if usesXt {
			gs.Xt = xt
		}
		out, err := guider.Guide(ctx, gs)
		handOver(s.res.Solver, true)
		if err != nil {
			return nil, pluginError(ctx, s.res.Guidance, "guide", err)
		}
		if !out.SameShape(s.init) {
			return nil, fmt.Errorf("%w: guidance %s returned %v for a %v image", ErrPlugin, s.res.Guidance, out, s.init)
		}
		s.mu.Lock()
		s.sampleSteps[i]++
		s.evals += s.ensemble
		if s.progress != nil {
			s.progress(Progress{Evaluation: s.evals, Total: s.total, Sigma: sigma, Elapsed: time.Since(s.start)})
		}
		s.mu.Unlock()
		return out, nil
	})
	out, err = s.solver.Sample(ctx, guided, sdk.SampleRequest{X: x, SigmaMax: s.sigmaStart, SigmaMin: s.sigmaMin,
		Steps: s.steps, Seed: seed, Params: params})
	if err != nil {
		s.mu.Lock()
		modelErr := s.modelErr
		s.mu.Unlock()
		if modelErr != nil && ctx.Err() == nil {
			return nil, modelErr
		}
		return nil, pluginError(ctx, s.res.Solver, "sample", err)
	}
	if !out.SameShape(s.init) {
		return nil, fmt.Errorf("%w: solver %s returned %v for a %v image", ErrPlugin, s.res.Solver, out, s.init)
	}
	if !out.Finite() {
		return nil, fmt.Errorf("%w: solver %s returned NaN or Inf", ErrPlugin, s.res.Solver)
	}
	return out, nil
}

// spreadAbout returns the samples' per-pixel root mean square difference
// from est (over the samples and channels) in 8-bit levels: the spread of
// samples drawn beside an estimate, about that estimate. If the samples
// come from the posterior p(x | y), and est is any function of y, each
// sample is as far from est on average as the truth is, so this is the
// expected error of est itself — also where est is not the posterior mean
// (the samples' own standard deviation is that error only for the mean).
func spreadAbout(est *sdk.Tensor, xs []*sdk.Tensor) *sdk.Tensor {
	return rmsAbout(est, xs, len(xs))
}

// addVariance sets each value of dst, a spread, to the root of the sum of
// its square and src's: the spread of two independent errors together.
func addVariance(dst, src *sdk.Tensor) {
	for i, v := range src.Data {
		dst.Data[i] = float32(math.Hypot(float64(dst.Data[i]), float64(v)))
	}
}

// meanStd returns the per-value mean of same-shaped samples and their
// per-pixel standard deviation (root mean square over channels) in 8-bit
// levels.
func meanStd(xs []*sdk.Tensor) (*sdk.Tensor, *sdk.Tensor) {
	first := xs[0]
	mean := sdk.NewTensor(first.C, first.H, first.W)
	n := float64(len(xs))
	for j := range mean.Data {
		var sum float64
		for _, x := range xs {
			sum += float64(x.Data[j])
		}
		mean.Data[j] = float32(sum / n)
	}
	return mean, rmsAbout(mean, xs, len(xs)-1) // sample variance (n−1)
}

// rmsAbout returns the per-pixel root of the squared differences of xs
// from centre, summed over the samples and averaged over the channels,
// over dof (1×H×W, model units → 8-bit levels).
func rmsAbout(centre *sdk.Tensor, xs []*sdk.Tensor, dof int) *sdk.Tensor {
	out := sdk.NewTensor(1, centre.H, centre.W)
	plane := centre.H * centre.W
	n := float64(dof * centre.C)
	for p := range plane {
		var v float64
		for c := range centre.C {
			m := float64(centre.Data[c*plane+p])
			for _, x := range xs {
				d := float64(x.Data[c*plane+p]) - m
				v += d * d
			}
		}
		out.Data[p] = float32(math.Sqrt(v/n) * 127.5)
	}
	return out
}
