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
	goruntime "runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/restorekit/restore/fixtures/models"
	"github.com/restorekit/restore/sdk"
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
	// AllowUnverified starts third-party plugins that have no recorded
	// checksum or no longer match it (see InstallPlugin). For development
	// only: a plugin runs with the user's rights.
	AllowUnverified bool
	// Plugins are extra in-process plugins (an embedder's own solvers or
	// guidance), available beside the built-ins under their Info names.
	Plugins []sdk.Plugin
	// Threads is the number of threads ONNX Runtime uses; 0 means every core.
	Threads int
	// Device picks the execution provider: DeviceAuto (the default: CUDA,
	// then WebGPU, then the CPU, whichever ONNX Runtime can open first),
	// DeviceCPU, DeviceCUDA or DeviceWebGPU. A named GPU device that is
	// unavailable falls back to the CPU, with a log line, unless
	// StrictDevice. Host.Device and Result.Device say which one runs.
	Device string
	// TileSize is the largest side of the tiles the network evaluates a
	// larger photo in (rounded up to the model's size multiple), so its
	// memory depends on the tile, not the photo; 0 means DefaultTileSize,
	// negative never tiles. At least 192.
	TileSize int
	// StrictDevice fails Open with ErrDevice instead of falling back.
	StrictDevice bool
	// CUDADeviceID and CUDAMemLimit (bytes, 0: no limit) configure CUDA.
	CUDADeviceID int
	CUDAMemLimit int64
	// Logger receives the host's and the plugins' log; nil discards it.
	Logger *slog.Logger
	// PluginTimeout bounds how long a plugin may go without progress: a
	// guidance call, or a solver between two network evaluations. A plugin
	// past it is stopped (its process killed) and the restoration fails
	// with ErrPlugin. 0 means DefaultPluginTimeout; negative, no limit.
	PluginTimeout time.Duration
}

// DefaultPluginTimeout is Config.PluginTimeout's default.
const DefaultPluginTimeout = 5 * time.Minute

// Host is an open restoration engine.
type Host struct {
	cfg        Config
	logger     *slog.Logger
	model      *model
	ortVersion string
	ortLib     string
	reg        *registry
	closeOnce  sync.Once
}

// Task is a restoration problem.
type Task string

// The tasks.
const (
	Denoise Task = "denoise" // remove Gaussian noise
	Deblur  Task = "deblur"  // invert a known blur (plus noise)
	Inpaint Task = "inpaint" // fill missing pixels
	SR      Task = "sr"      // super-resolution: enlarge Scale-fold
)

// Tasks lists the tasks.
var Tasks = []Task{Denoise, Deblur, Inpaint, SR}

// MaxScale bounds Request.Scale.
const MaxScale = 8

// DefaultSeed is the command line's default seed.
const DefaultSeed = 1

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
	if reg != nil {
		reg.allowUnverified = cfg.AllowUnverified
	}
	if err != nil {
		releaseRuntime()
		return nil, err
	}
	switch {
	case cfg.TileSize == 0:
		cfg.TileSize = DefaultTileSize
	case cfg.TileSize > 0 && cfg.TileSize < 192:
		releaseRuntime()
		return nil, fmt.Errorf("%w: tile size %d, want at least 192", ErrBadInput, cfg.TileSize)
	}
	m, err := loadModel(name, data, cfg.Threads, deviceOptions{device: cfg.Device, strict: cfg.StrictDevice,
		cudaID: cfg.CUDADeviceID, cudaMem: cfg.CUDAMemLimit, logger: logger})
	if m != nil && cfg.TileSize > 0 {
		k := m.info.SizeMultiple
		m.tile = (cfg.TileSize + k - 1) / k * k
	}
	if err != nil {
		releaseRuntime()
		return nil, err
	}
	logger.Debug("host open", "onnxruntime", version, "library", lib, "model", name, "threads", cfg.Threads)
	return &Host{cfg: cfg, logger: logger, model: m, ortVersion: version, ortLib: lib,
		reg: reg}, nil
}

// Close stops the plugin processes kept between restorations and releases
// the model and, with the last host, ONNX Runtime. Closing again does
// nothing.
func (h *Host) Close() error {
	h.closeOnce.Do(func() {
		h.reg.close()
		h.model.close()
		releaseRuntime()
	})
	return nil
}

// RuntimeVersion is the version of the loaded ONNX Runtime library.
func (h *Host) RuntimeVersion() string { return h.ortVersion }

// Device returns the execution provider running the model: "cpu", "cuda"
// or "webgpu".
func (h *Host) Device() string { return h.model.device }

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
	// Scale is super-resolution's factor (2 to MaxScale): the result is
	// Scale times the image's width and height, and the image is taken to be
	// the result shrunk by bicubic resampling with antialiasing (as PIL's
	// Image.resize with BICUBIC does).
	Scale int
	// Noise is the measurement noise's standard deviation in 8-bit levels;
	// negative means estimate it from the image (the estimate is in Result).
	Noise float64
	// Method names a preset (see Methods); empty means the task's default
	// (DefaultMethods). The fields below override any part of it.
	Method string
	// Solver and Guidance name the plugins; empty means the method's.
	Solver, Guidance string
	// Params are plugin parameters, name → value. A name may be prefixed with
	// "solver." or "guidance."; unprefixed, it goes to whichever plugin declares it.
	Params map[string]string
	// Steps is the solver's budget of denoiser evaluations; 0 means the
	// method's. Each costs Ensemble network evaluations.
	Steps int
	// Ensemble averages every denoiser evaluation over this many flipped
	// and rotated copies of its input (1, 2, 4 or 8; 0 means the method's,
	// and 1 turns it off): a sharper prior for as many network evaluations.
	Ensemble int
	// Cycle turns the image at each evaluation: evaluation i sees it
	// mirrored by the i-th (mod 4) of the mirrorings (none, left–right,
	// top–bottom, both) and its result is mirrored back. This is DPIR's
	// periodic geometric self-ensemble: successive steps make different
	// errors, which the iteration averages out instead of repeating one,
	// for no extra network evaluation (two image-sized copies each). It
	// needs a model trained on mirrored images (ModelInfo.Dihedral): On
	// with another model is ErrBadInput, ByMethod leaves it off.
	Cycle Choice
	// Texture adds a posterior sample's fine detail deep inside large
	// holes when inpainting (see Texture; the dpir preset does). It does
	// nothing where no hole is deep enough, nor when the result is the mean
	// of several Samples (with samples drawn beside the estimate, the
	// estimate gets it).
	Texture Choice
	// Seed makes a restoration repeatable; the same seed gives the same result.
	Seed uint64
	// StartSigma is the noise level sampling starts from (model space,
	// [-1, 1]); 0 means the method's warm start.
	StartSigma float64
	// Samples is how many posterior samples to draw; 0 or 1 draws one.
	// With more, Result.Std is their per-pixel spread. A preset whose
	// solver is an optimiser (dpir; diffpir's denoising), whose runs agree
	// whatever the seed, draws them with its Setting.Sampling beside its
	// own estimate (seed Seed; the samples Seed+1 to Seed+Samples), which
	// is then Result.Image: the image a single run gives (evaluated in a
	// batch, a few pixels may round to the next 8-bit level). dpir's
	// one-step denoising's are a bootstrap: the estimate restored again
	// from itself plus fresh noise of the photo's level
	// (Sampling.Bootstrap); deblurring's and diffpir's denoising's are
	// re-noised runs, and the spread adds such a bootstrap's to theirs
	// (Sampling.AddBootstrap). Otherwise
	// (other presets, or another Solver) the samples are runs with seeds
	// Seed, Seed+1, … and Result.Image is their mean. All go through the
	// network together, in batches.
	Samples int
	// KeepSamples keeps every sample in Result.Samples.
	KeepSamples bool
	// Progress, if set, is called after every network evaluation.
	Progress func(Progress)

	drawing bool       // the samples of another restoration (samplerRequest)
	batch   *batchSlot // evaluate through a batcher shared with restorations beside this one
}

// Choice turns an optional part of a method on or off for one request
// (Request.Cycle, Request.Texture).
type Choice string

// The choices.
const (
	ByMethod Choice = ""    // as the method's Setting says
	On       Choice = "on"  // always (ErrBadInput where it cannot be)
	Off      Choice = "off" // never
)

// Progress reports one network evaluation.
type Progress struct {
	Evaluation int // 1-based, counted over all samples
	Total      int // the evaluation budget of all samples
	Sigma      float64
	Elapsed    time.Duration
}

// Result is a restored image and how it was made.
type Result struct {
	Image  *image.NRGBA // the restoration, 8-bit (with several samples: see SamplesBeside)
	Tensor *sdk.Tensor  // the restoration in model space, before quantisation
	// Std is the samples' per-pixel spread (1×H×W, root mean square over
	// the channels, in 8-bit levels); nil for one sample. When Image is
	// their mean it is their standard deviation. When they were drawn
	// beside the estimate (SamplesBeside) it is their root mean square
	// difference from Image: for samples from the posterior, the expected
	// error of Image whatever estimate Image is; for a bootstrap's, the
	// error the estimator makes where the truth is like Image; for both
	// (Sampling.AddBootstrap), the root of the sum of their squares.
	Std *sdk.Tensor
	// Samples holds every sample when Request.KeepSamples is set.
	Samples []*image.NRGBA
	// SamplesBeside reports that the samples were drawn beside the
	// preset's estimate (Setting.Sampling): Image is that estimate, as a
	// single run gives it (see Request.Samples), not the samples' mean.
	SamplesBeside  bool
	Noise          float64 // the noise level used, in 8-bit levels
	NoiseEstimated bool    // Noise was estimated from the image
	Evaluations    int     // network evaluations made (denoiser evaluations × Ensemble)
	Ensemble       int     // copies each denoiser evaluation averaged over (1: none)
	Cycled         bool    // evaluations turned the image in turn (see Request.Cycle)
	Textured       bool    // deep holes got a sample's detail (see Texture)
	StartSigma     float64 // the noise level sampling started from (model space, see Request.StartSigma)
	Method         string
	Device         string // the execution provider that ran the network
	Solver         string
	Guidance       string
	Elapsed        time.Duration
	// NetworkTime is the part of Elapsed spent evaluating the network
	// (summed over samples; with several samples in one batch, the wait for
	// the batch counts too). The rest is solvers, guidance, warm start and
	// plugin traffic.
	NetworkTime time.Duration

	drawn []*sdk.Tensor // the samples whose mean is Tensor (for apartSamples' caller)
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
	case SR:
		if req.Scale < 2 || req.Scale > MaxScale {
			return sdk.OperatorSpec{}, nil, fmt.Errorf("%w: super-resolution scale %d, want 2 to %d", ErrBadInput, req.Scale, MaxScale)
		}
		if int64(y.W)*int64(y.H)*int64(req.Scale*req.Scale) > maxPixels {
			return sdk.OperatorSpec{}, nil, fmt.Errorf("%w: a %dx%d image enlarged %d-fold exceeds %d megapixels",
				ErrBadInput, y.W, y.H, req.Scale, maxPixels/1000000)
		}
		return sdk.OperatorSpec{Kind: sdk.OpDownsample, Scale: req.Scale}, nil, nil
	}
	names := make([]string, len(Tasks))
	for i, t := range Tasks {
		names[i] = string(t)
	}
	return sdk.OperatorSpec{}, nil, fmt.Errorf("%w: unknown task %q (tasks: %s)", ErrBadInput, req.Task, strings.Join(names, ", "))
}

// maxPixels bounds the size of a result (100 megapixels).
const maxPixels = 100_000_000

// withDefaults returns params plus the method's tuned defaults for what
// the request leaves unset, each given to the plugins that declare it.
func withDefaults(defaults, params map[string]string, solver, guidance sdk.Info) map[string]string {
	out := map[string]string{}
	for k, v := range params {
		out[k] = v
	}
	for k, v := range defaults {
		if alt, ok := exclusive[k]; ok && anySet(params, alt) {
			continue
		}
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

// exclusive pairs parameters that cannot both be set: a default for one
// gives way when the request sets the other (DDIM's ζ and η).
var exclusive = map[string]string{"zeta": "eta", "eta": "zeta"}

// anySet reports whether params sets name, with or without a prefix.
func anySet(params map[string]string, name string) bool {
	for _, k := range []string{name, "solver." + name, "guidance." + name} {
		if _, ok := params[k]; ok {
			return true
		}
	}
	return false
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
