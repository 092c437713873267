// Package host is the restore engine that photo tools embed: it runs the
// score model through ONNX Runtime, composes solver and guidance plugins
// (built in, or third-party executables over go-plugin) and restores images.
//
//	h, err := host.Open(host.Config{})
//	if err != nil { ... }
//	defer h.Close()
//	res, err := h.Restore(ctx, host.Request{Task: host.Denoise, Image: img, Noise: 25})
//
// A Host is safe for concurrent Restore calls.
package host

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"math"
	goruntime "runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/restorekit/restore/fixtures/models"
	"github.com/restorekit/restore/sdk"
	"github.com/restorekit/restore/sdk/operator"
)

// Config configures a Host. The zero value is usable: the built-in model,
// ONNX Runtime found as FindRuntime describes, and all cores.
type Config struct {
	// Model is the path of an ONNX score model; empty means the default
	// model shipped inside restore.
	Model string
	// ORTLib is the path of ONNX Runtime's shared library (see FindRuntime).
	ORTLib string
	// PluginDir holds third-party plugin executables; empty means
	// $RESTORE_PLUGIN_DIR, or restore/plugins in the user's config directory.
	PluginDir string
	// Plugins are extra in-process plugins (an embedder's own solvers or
	// guidance), available beside the built-ins under their Info names.
	Plugins []sdk.Plugin
	// Threads is the number of threads ONNX Runtime uses; 0 means every core.
	Threads int
	// Logger receives the host's and the plugins' log; nil discards it.
	Logger *slog.Logger
}

// Host is an open restoration engine.
type Host struct {
	cfg        Config
	logger     *slog.Logger
	model      *model
	ortVersion string
	ortLib     string
	reg        *registry
}

// Task is a restoration problem.
type Task string

// The tasks.
const (
	Denoise Task = "denoise" // remove Gaussian noise
	Deblur  Task = "deblur"  // invert a known blur (plus noise)
	Inpaint Task = "inpaint" // fill missing pixels
)

// Tasks lists the tasks.
var Tasks = []Task{Denoise, Deblur, Inpaint}

// Default solver and seed. Guidance, steps and the starting noise level
// default per task (see Defaults).
const (
	DefaultSolver = "ddim"
	DefaultSeed   = 1
)

// TaskDefaults is what a task uses where a Request leaves a field unset,
// tuned on CBSD68 cases (../shared/bench/make_cases.py) with `restore eval`.
type TaskDefaults struct {
	Guidance   string
	Steps      int
	StartSigma float64           // 0: start at the noise level itself (denoising)
	Params     map[string]string // applied when the chosen plugin takes them
}

var taskDefaults = map[Task]TaskDefaults{
	// The noisy photo is already a sample at σ = σ_y: deterministic DDIM
	// from there needs no guidance.
	Denoise: {Guidance: "none", Steps: 10, Params: map[string]string{"zeta": "0"}},
	Deblur:  {Guidance: "diffpir", Steps: 20, StartSigma: 0.15, Params: map[string]string{"zeta": "0.6", "lambda": "0.5"}},
	Inpaint: {Guidance: "diffpir", Steps: 20, StartSigma: 0.2, Params: map[string]string{"zeta": "1"}},
}

// Defaults returns a task's defaults.
func Defaults(t Task) TaskDefaults { return taskDefaults[t] }

// ErrBadInput reports a request that cannot be restored as given.
var ErrBadInput = errors.New("bad input")

// Open loads ONNX Runtime and the score model.
func Open(cfg Config) (*Host, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Threads <= 0 {
		cfg.Threads = goruntime.NumCPU()
	}
	if cfg.PluginDir == "" {
		cfg.PluginDir = DefaultPluginDir()
	}
	lib, err := FindRuntime(cfg.ORTLib)
	if err != nil {
		return nil, err
	}
	version, err := acquireRuntime(lib)
	if err != nil {
		return nil, err
	}
	name, data := "built-in model", models.Default()
	if cfg.Model != "" {
		name = cfg.Model
		if data, err = readModelFile(cfg.Model); err != nil {
			releaseRuntime()
			return nil, err
		}
	}
	reg, err := newRegistry(cfg.PluginDir, cfg.Plugins, logger)
	if err != nil {
		releaseRuntime()
		return nil, err
	}
	m, err := loadModel(name, data, cfg.Threads)
	if err != nil {
		releaseRuntime()
		return nil, err
	}
	logger.Debug("host open", "onnxruntime", version, "library", lib, "model", name, "threads", cfg.Threads)
	return &Host{cfg: cfg, logger: logger, model: m, ortVersion: version, ortLib: lib,
		reg: reg}, nil
}

// Close releases the model and, with the last host, ONNX Runtime.
func (h *Host) Close() error {
	h.model.close()
	releaseRuntime()
	return nil
}

// RuntimeVersion is the version of the loaded ONNX Runtime library.
func (h *Host) RuntimeVersion() string { return h.ortVersion }

// Model describes the loaded score model.
func (h *Host) Model() ModelInfo { return h.model.info }

// Plugins lists the built-in plugins and those in the plugin directory.
// Plugins that could not be asked for their Info come back as errors.
func (h *Host) Plugins() ([]PluginInfo, []error) { return h.reg.list() }

// Request is one restoration.
type Request struct {
	Task  Task
	Image image.Image // the degraded photo
	// Kernel is the blur's point spread function for Deblur, rows of
	// non-negative weights (normalised by their sum). The blurred image is the
	// true convolution of the sharp one with it, with reflective boundaries.
	Kernel [][]float64
	// Mask marks the pixels to fill for Inpaint: nonzero = missing. Its size
	// must be the image's. The image's values under the mask are ignored.
	Mask image.Image
	// Noise is the measurement noise's standard deviation in 8-bit levels;
	// negative means estimate it from the image (the estimate is in Result).
	Noise float64
	// Solver and Guidance name the plugins; empty means DefaultSolver and
	// the task's default guidance.
	Solver, Guidance string
	// Params are plugin parameters, name → value. A name may be prefixed with
	// "solver." or "guidance."; unprefixed, it goes to whichever plugin declares it.
	Params map[string]string
	// Steps is the budget of network evaluations; 0 means the task's default.
	Steps int
	// Seed makes a restoration repeatable; the same seed gives the same result.
	Seed uint64
	// StartSigma is the noise level sampling starts from (model space,
	// [-1, 1]); 0 means the task's default warm start.
	StartSigma float64
	// Progress, if set, is called after every network evaluation.
	Progress func(Progress)
}

// Progress reports one network evaluation.
type Progress struct {
	Evaluation int // 1-based
	Total      int // the step budget
	Sigma      float64
	Elapsed    time.Duration
}

// Result is a restored image and how it was made.
type Result struct {
	Image          *image.NRGBA // the restoration, 8-bit
	Tensor         *sdk.Tensor  // the restoration in model space, before quantisation
	Noise          float64      // the noise level used, in 8-bit levels
	NoiseEstimated bool         // Noise was estimated from the image
	Evaluations    int          // network evaluations made
	Solver         string
	Guidance       string
	Elapsed        time.Duration
}

// Restore restores one image. Cancelling ctx stops it within one network
// evaluation with an error that wraps ctx.Err().
func (h *Host) Restore(ctx context.Context, req Request) (Result, error) {
	start := time.Now()
	if req.Image == nil {
		return Result{}, fmt.Errorf("%w: no image", ErrBadInput)
	}
	b := req.Image.Bounds()
	if b.Dx() < 1 || b.Dy() < 1 {
		return Result{}, fmt.Errorf("%w: empty image", ErrBadInput)
	}
	y := TensorFromImage(req.Image)
	spec, observed, err := problemOperator(req, y)
	if err != nil {
		return Result{}, err
	}
	op, err := operator.New(spec, y.C, y.H, y.W)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	if observed != nil {
		y = op.Apply(y) // values under the mask are ignored
	}
	def := taskDefaults[req.Task]
	res := Result{Noise: req.Noise, Solver: req.Solver, Guidance: req.Guidance}
	if res.Solver == "" {
		res.Solver = DefaultSolver
	}
	if res.Guidance == "" {
		res.Guidance = def.Guidance
	}
	if math.IsNaN(req.Noise) || math.IsInf(req.Noise, 0) || req.Noise > 255 {
		return Result{}, fmt.Errorf("%w: noise level %g", ErrBadInput, req.Noise)
	}
	if req.Noise < 0 {
		res.Noise = EstimateNoise(y, observed) * 127.5
		res.NoiseEstimated = true
	}
	sigmaY := res.Noise / 127.5
	steps := req.Steps
	if steps == 0 {
		steps = def.Steps
	}
	if steps < 1 || steps > 10000 {
		return Result{}, fmt.Errorf("%w: steps=%d, want 1 to 10000", ErrBadInput, steps)
	}

	solverP, releaseSolver, err := h.reg.open(sdk.KindSolver, res.Solver)
	if err != nil {
		return Result{}, err
	}
	defer releaseSolver()
	guidanceP, releaseGuidance, err := h.reg.open(sdk.KindGuidance, res.Guidance)
	if err != nil {
		return Result{}, err
	}
	defer releaseGuidance()
	solver := solverP.(sdk.Solver)
	guidance := guidanceP.(sdk.Guidance)
	sp, gp, err := splitParams(withTaskDefaults(req.Task, req.Params, solver.Info(), guidance.Info()), solver.Info(), guidance.Info())
	if err != nil {
		return Result{}, err
	}

	guider, err := guidance.Begin(ctx, sdk.Problem{Y: y, Operator: spec, SigmaY: sigmaY, Seed: req.Seed}, gp)
	if err != nil {
		return Result{}, pluginError(ctx, res.Guidance, "begin", err)
	}
	defer guider.End()

	startSigma := req.StartSigma
	if startSigma == 0 {
		startSigma = def.StartSigma
	}
	init, sigmaStart := warmStart(req.Task, op, y, observed, sigmaY, startSigma)
	sigmaMin := math.Max(h.model.info.SigmaMin, 0.01)
	sigmaStart = math.Min(math.Max(sigmaStart, sigmaMin), h.model.info.SigmaMax)
	x := init
	if extra := sigmaStart*sigmaStart - initNoise(req.Task, sigmaY); extra > 0 {
		noise := sdk.NewRNG(req.Seed^0x5eed5eed).Noise(y.C, y.H, y.W, math.Sqrt(extra))
		for i := range x.Data {
			x.Data[i] += noise.Data[i]
		}
	}

	// A solver may evaluate concurrently (an out-of-process one through
	// several broker calls); mu guards the session's counters.
	var (
		mu       sync.Mutex
		evals    int
		modelErr error
	)
	guided := sdk.DenoiserFunc(func(ctx context.Context, xt *sdk.Tensor, sigma float64) (*sdk.Tensor, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !xt.SameShape(y) {
			return nil, fmt.Errorf("%w: solver passed %v for a %v image", sdk.ErrShape, xt, y)
		}
		mu.Lock()
		step := evals
		mu.Unlock()
		x0, err := h.model.denoise(ctx, xt, sigma)
		if err == nil && !x0.Finite() {
			err = fmt.Errorf("%w: output has NaN or Inf at evaluation %d (σ=%g)", ErrModel, step+1, sigma)
		}
		if err != nil {
			mu.Lock()
			modelErr = err
			mu.Unlock()
			return nil, err
		}
		out, err := guider.Guide(ctx, sdk.GuideStep{X0: x0, Xt: xt, Sigma: sigma, Step: step})
		if err != nil {
			return nil, pluginError(ctx, res.Guidance, "guide", err)
		}
		if !out.SameShape(y) {
			return nil, fmt.Errorf("%w: guidance %s returned %v for a %v image", ErrPlugin, res.Guidance, out, y)
		}
		mu.Lock()
		evals++
		p := Progress{Evaluation: evals, Total: steps, Sigma: sigma, Elapsed: time.Since(start)}
		if req.Progress != nil {
			req.Progress(p)
		}
		mu.Unlock()
		return out, nil
	})
	out, err := solver.Sample(ctx, guided, sdk.SampleRequest{X: x, SigmaMax: sigmaStart, SigmaMin: sigmaMin,
		Steps: steps, Seed: req.Seed, Params: sp})
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		if modelErr != nil && ctx.Err() == nil {
			return Result{}, modelErr
		}
		return Result{}, pluginError(ctx, res.Solver, "sample", err)
	}
	if !out.SameShape(y) {
		return Result{}, fmt.Errorf("%w: solver %s returned %v for a %v image", ErrPlugin, res.Solver, out, y)
	}
	if !out.Finite() {
		return Result{}, fmt.Errorf("%w: solver %s returned NaN or Inf", ErrPlugin, res.Solver)
	}
	res.Tensor = out
	res.Image = ImageFromTensor(out)
	res.Evaluations = evals
	res.Elapsed = time.Since(start)
	return res, nil
}

// pluginError classifies a plugin's error: cancellation and parameter errors
// keep their identity, anything else is ErrPlugin naming the plugin.
func pluginError(ctx context.Context, name, call string, err error) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", name, ctx.Err())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, sdk.ErrParam), errors.Is(err, ErrModel), errors.Is(err, ErrPlugin):
		return err
	}
	return fmt.Errorf("%w: %s (%s): %w", ErrPlugin, name, call, err)
}

// problemOperator turns the request's task into an operator description.
// For inpainting it also returns the observed-pixel mask.
func problemOperator(req Request, y *sdk.Tensor) (sdk.OperatorSpec, *sdk.Tensor, error) {
	switch req.Task {
	case Denoise:
		return sdk.OperatorSpec{Kind: sdk.OpIdentity}, nil, nil
	case Deblur:
		if len(req.Kernel) == 0 || len(req.Kernel[0]) == 0 {
			return sdk.OperatorSpec{}, nil, fmt.Errorf("%w: deblurring needs a kernel", ErrBadInput)
		}
		kh, kw := len(req.Kernel), len(req.Kernel[0])
		k := sdk.NewTensor(1, kh, kw)
		for i, row := range req.Kernel {
			if len(row) != kw {
				return sdk.OperatorSpec{}, nil, fmt.Errorf("%w: kernel row %d has %d values, row 1 has %d", ErrBadInput, i+1, len(row), kw)
			}
			for j, v := range row {
				k.Data[i*kw+j] = float32(v)
			}
		}
		return sdk.OperatorSpec{Kind: sdk.OpBlur, Kernel: k}, nil, nil
	case Inpaint:
		if req.Mask == nil {
			return sdk.OperatorSpec{}, nil, fmt.Errorf("%w: inpainting needs a mask", ErrBadInput)
		}
		mb := req.Mask.Bounds()
		if mb.Dx() != y.W || mb.Dy() != y.H {
			return sdk.OperatorSpec{}, nil, fmt.Errorf("%w: mask is %dx%d, image is %dx%d", ErrBadInput, mb.Dx(), mb.Dy(), y.W, y.H)
		}
		m := maskObserved(req.Mask)
		return sdk.OperatorSpec{Kind: sdk.OpMask, Mask: m}, m, nil
	}
	names := make([]string, len(Tasks))
	for i, t := range Tasks {
		names[i] = string(t)
	}
	return sdk.OperatorSpec{}, nil, fmt.Errorf("%w: unknown task %q (tasks: %s)", ErrBadInput, req.Task, strings.Join(names, ", "))
}

// withTaskDefaults returns params plus the task's tuned defaults for what
// the request leaves unset.
func withTaskDefaults(task Task, params map[string]string, solver, guidance sdk.Info) map[string]string {
	out := map[string]string{}
	for k, v := range params {
		out[k] = v
	}
	for k, v := range taskDefaults[task].Params {
		_, set := params[k]
		_, setS := params["solver."+k]
		_, setG := params["guidance."+k]
		if set || setS || setG {
			continue
		}
		for _, in := range []sdk.Info{solver, guidance} {
			for _, p := range in.Params {
				if p.Name == k {
					out[string(in.Kind)+"."+k] = v
				}
			}
		}
	}
	return out
}

// splitParams routes "name=value" pairs to the solver or the guidance.
func splitParams(all map[string]string, solver, guidance sdk.Info) (sdk.Params, sdk.Params, error) {
	declares := func(in sdk.Info, name string) bool {
		for _, p := range in.Params {
			if p.Name == name {
				return true
			}
		}
		return false
	}
	sv, gv := map[string]string{}, map[string]string{}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := all[k]
		switch {
		case strings.HasPrefix(k, string(sdk.KindSolver)+"."):
			sv[strings.TrimPrefix(k, "solver.")] = v
		case strings.HasPrefix(k, string(sdk.KindGuidance)+"."):
			gv[strings.TrimPrefix(k, "guidance.")] = v
		case declares(solver, k) && declares(guidance, k):
			return sdk.Params{}, sdk.Params{}, fmt.Errorf("%w: both %s and %s take %q; write solver.%s or guidance.%s",
				sdk.ErrParam, solver.Name, guidance.Name, k, k, k)
		case declares(solver, k):
			sv[k] = v
		case declares(guidance, k):
			gv[k] = v
		default:
			return sdk.Params{}, sdk.Params{}, fmt.Errorf("%w: neither solver %s nor guidance %s takes %q (see `restore plugins describe NAME`)",
				sdk.ErrParam, solver.Name, guidance.Name, k)
		}
	}
	sp, err := solver.Resolve(sv)
	if err != nil {
		return sdk.Params{}, sdk.Params{}, err
	}
	gp, err := guidance.Resolve(gv)
	if err != nil {
		return sdk.Params{}, sdk.Params{}, err
	}
	return sp, gp, nil
}
