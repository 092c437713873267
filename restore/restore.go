package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/restorekit/restore/host"
	"github.com/restorekit/restore/internal/imageio"
	"github.com/restorekit/restore/internal/psf"
	"github.com/restorekit/restore/internal/suggest"
	"github.com/restorekit/restore/sdk"
)

const restoreUsage = `restore restores damaged photographs by diffusion-prior posterior sampling.

Usage:
  restore --task TASK [flags] INPUT -o OUTPUT
  restore --task TASK [flags] INPUT... | FOLDER [-r] -o OUTDIR
  restore methods
  restore plugins list | describe NAME
  restore degrade --task TASK [flags] INPUT -o OUTPUT
  restore eval --set CASES [--task T] [--method M] [--steps N] [flags]
  restore version

Tasks, with an example each:
  denoise   restore --task denoise --noise 25 noisy.png -o clean.png
  deblur    restore --task deblur --kernel psf.png --noise 2.55 blurred.png -o sharp.png
            restore --task deblur --blur gaussian:3 blurred.png -o sharp.png
            restore --task deblur --blur disk:4 out-of-focus.png -o sharp.png
            restore --task deblur --blur motion:11@30 shaken.png -o sharp.png
  inpaint   restore --task inpaint --mask holes.png damaged.png -o filled.png
  sr        restore --task sr --scale 4 small.png -o large.png

Flags:
`

// taskList names the tasks for messages.
const taskList = "denoise, deblur, inpaint or sr"

func taskNames() []string {
	names := make([]string, len(host.Tasks))
	for i, t := range host.Tasks {
		names[i] = string(t)
	}
	return names
}

// restoreFlags are the restore command's options.
type restoreFlags struct {
	task, kernel, blur, mask string
	noise                    float64
	scale                    int
	steps                    int
	ensemble                 int
	cycle, texture           string
	method, solver, guidance string
	params                   []string
	seed                     uint64
	samples                  int
	recursive, skipExisting  bool
	saveSamples              bool
	start                    float64
	model, ortLib, pluginDir string
	output                   string
	threads                  int
	force, quiet, verbose    bool
	progress                 string
	allowUnverified          bool
	pluginTimeout            time.Duration
	maxPixels                int64
	device                   string
	strictDevice             bool
	tileSize                 int
	version                  bool
}

func newRestoreFlagSet(f *restoreFlags, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet("restore", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.task, "task", "", "what to restore: "+taskList)
	fs.StringVar(&f.kernel, "kernel", "", "blur kernel (PSF) for deblur: gray PNG or whitespace-separated text matrix")
	fs.StringVar(&f.blur, "blur", "", "blur shortcut for deblur instead of --kernel: "+psf.ShortcutHelp+" (pixels, degrees), e.g. disk:4")
	fs.IntVar(&f.scale, "scale", 0, "super-resolution factor for --task sr (2 to 8)")
	fs.StringVar(&f.mask, "mask", "", "inpainting mask: gray PNG, nonzero = missing pixels to fill")
	fs.Float64Var(&f.noise, "noise", -1, "measurement noise std in 8-bit levels, e.g. 25")
	fs.Lookup("noise").DefValue = "estimated from the image"
	fs.StringVar(&f.method, "method", "", "preset of solver, guidance and tuned settings (default: per task; see: restore methods)")
	fs.IntVar(&f.steps, "steps", 0, "denoiser evaluations to spend (default: the method's); each costs --ensemble network evaluations")
	fs.IntVar(&f.ensemble, "ensemble", 0, "average each denoiser evaluation over N flipped and rotated copies: 1 (off), 2, 4 or 8 (default: the method's)")
	fs.StringVar(&f.cycle, "cycle", "", "on: mirror the image a different way at each evaluation (a slightly better prior, no extra evaluations); off: never (default: the method's)")
	fs.StringVar(&f.texture, "texture", "", "on: inpainting adds a posterior sample's fine detail deep inside large holes (a fill as textured as its surroundings, for a little PSNR); off: never (default: the method's)")
	fs.StringVar(&f.solver, "solver", "", "solver plugin, overriding the method's (see: restore plugins list)")
	fs.StringVar(&f.guidance, "guidance", "", "guidance plugin, overriding the method's (see: restore plugins list)")
	fs.StringArrayVar(&f.params, "param", nil, "plugin parameter name=value (repeatable; prefix solver. or guidance. if both take it)")
	fs.Uint64Var(&f.seed, "seed", host.DefaultSeed, "random seed: the same seed gives the same result")
	fs.IntVar(&f.samples, "samples", 1, "posterior samples to draw: OUTPUT's stem + .std.png gets their per-pixel spread, OUTPUT the method's estimate (dpir; diffpir's denoising) or their mean (the other methods)")
	fs.BoolVar(&f.saveSamples, "save-samples", false, "with --samples, also write each sample (OUTPUT's stem + .sample1.png, …)")
	fs.Float64Var(&f.start, "start-sigma", 0, "noise level to start sampling from, in [-1,1] units (default: the method's)")
	fs.StringVar(&f.model, "model", "", "ONNX score model (default: the built-in model)")
	fs.StringVar(&f.ortLib, "ort-lib", "", "ONNX Runtime shared library (default: $ONNXRUNTIME_SHARED_LIBRARY_PATH, then the cache that make ort fills)")
	fs.StringVar(&f.pluginDir, "plugin-dir", "", "third-party plugin directory (default: $RESTORE_PLUGIN_DIR or the user config dir)")
	fs.StringVarP(&f.output, "output", "o", "", "output image (.png, .jpg, .tif): 16-bit, gray, alpha, EXIF and ICC profile as the input")
	fs.IntVar(&f.threads, "threads", 0, "ONNX Runtime threads (default: all cores)")
	fs.BoolVarP(&f.recursive, "recursive", "r", false, "with a folder as INPUT, also restore the images in its subfolders (kept under -o DIR)")
	fs.BoolVar(&f.skipExisting, "skip-existing", false, "leave outputs that already exist as they are (batches can be resumed)")
	fs.BoolVarP(&f.force, "force", "f", false, "overwrite OUTPUT if it exists")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "print nothing but errors")
	fs.StringVar(&f.progress, "progress", "auto", "progress on stderr: auto (a line when stderr is a terminal), json (one object per evaluation), none")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "log plugin and runtime details")
	fs.StringVar(&f.device, "device", host.DeviceAuto, "where the network runs: auto (CUDA, then WebGPU, then the CPU), cpu, cuda or webgpu")
	fs.BoolVar(&f.strictDevice, "strict-device", false, "fail if --device is unavailable instead of falling back to the CPU")
	fs.IntVar(&f.tileSize, "tile-size", host.DefaultTileSize, "evaluate the network on tiles of this side for larger photos (memory follows the tile; -1: never tile)")
	fs.Int64Var(&f.maxPixels, "max-pixels", maxPixels, "refuse images with more pixels than this (checked from the file's header)")
	fs.DurationVar(&f.pluginTimeout, "plugin-timeout", host.DefaultPluginTimeout, "stop a plugin that makes no progress for this long (0: never)")
	fs.BoolVar(&f.allowUnverified, "allow-unverified", false, "start third-party plugins without a matching recorded checksum (development only)")
	fs.BoolVar(&f.version, "version", false, "print versions and exit")
	fs.Usage = func() {
		fmt.Fprint(stderr, restoreUsage)
		fs.PrintDefaults()
	}
	return fs
}

func isUsage(err error) bool {
	var u usageError
	return errors.As(err, &u) || errors.Is(err, host.ErrBadInput) || errors.Is(err, host.ErrPluginNotFound) || errors.Is(err, host.ErrUnverified) || errors.Is(err, host.ErrDevice) ||
		errors.Is(err, sdk.ErrParam)
}

func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f restoreFlags
	fs := newRestoreFlagSet(&f, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return errHelp
		}
		return usageError{suggestFlag(err, fs)}
	}
	if f.version {
		return runVersion(f.ortLib, stdout)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return usagef("no INPUT image given")
	}
	task := host.Task(f.task)
	switch task {
	case host.Denoise, host.Deblur, host.Inpaint, host.SR:
	case "":
		return usagef("--task is required: %s", taskList)
	default:
		hint := ""
		if s := suggest.Closest(f.task, taskNames()); s != "" {
			hint = fmt.Sprintf("; did you mean %q?", s)
		}
		return usagef("unknown task %q (tasks: %s)%s", f.task, taskList, hint)
	}
	if f.output == "" {
		return usagef("no output file: add -o OUTPUT")
	}
	batch := fs.NArg() > 1 || f.recursive || isDir(fs.Arg(0))
	if !batch {
		if _, err := imageio.FormatFromPath(f.output); err != nil {
			return usagef("%s: %v", f.output, err)
		}
		if same, _ := sameFile(fs.Arg(0), f.output); same {
			return usagef("%s: output would overwrite the input", f.output)
		}
	} else if fi, err := os.Stat(f.output); err == nil && !fi.IsDir() {
		return usagef("%s: with several inputs or a folder, -o names a folder (it is a file)", f.output)
	}
	if f.progress != "auto" && f.progress != "json" && f.progress != "none" {
		return usagef("--progress %q: want auto, json or none", f.progress)
	}
	if f.samples < 1 || f.samples > host.MaxSamples {
		return usagef("--samples %d is outside [1, %d]", f.samples, host.MaxSamples)
	}
	if f.saveSamples && f.samples < 2 {
		return usagef("--save-samples needs --samples 2 or more")
	}
	if !batch {
		for _, o := range append([]string{f.output}, extraOutputs(f.output, f.samples, f.saveSamples)...) {
			if _, err := os.Stat(o); err == nil && !f.force && !f.skipExisting {
				return usagef("%s already exists (use --force to overwrite it)", o)
			}
		}
	}
	if f.maxPixels < 1 {
		return usagef("--max-pixels %d: want a positive number", f.maxPixels)
	}
	maxPixels = f.maxPixels
	if f.noise != -1 && (f.noise < 0 || f.noise > 255) {
		return usagef("--noise %g is outside [0, 255]", f.noise)
	}
	for _, o := range []struct{ name, value string }{{"cycle", f.cycle}, {"texture", f.texture}} {
		if o.value != "" && o.value != "on" && o.value != "off" {
			return usagef("--%s %q: want on or off", o.name, o.value)
		}
	}
	if f.ensemble != 0 && f.ensemble != 1 && f.ensemble != 2 && f.ensemble != 4 && f.ensemble != 8 {
		return usagef("--ensemble %d: want 1, 2, 4 or 8", f.ensemble)
	}
	if f.steps < 0 || f.steps > 10000 {
		return usagef("--steps %d is outside [1, 10000]", f.steps)
	}
	params := map[string]string{}
	for _, p := range f.params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return usagef("--param %q: want name=value", p)
		}
		params[k] = v
	}
	// The request without its image: the same for every file.
	base := host.Request{Task: task, Noise: f.noise, Method: f.method, Solver: f.solver, Guidance: f.guidance,
		Params: params, Steps: f.steps, Ensemble: f.ensemble, Cycle: host.Choice(f.cycle), Texture: host.Choice(f.texture), Seed: f.seed, StartSigma: f.start,
		Samples: f.samples, KeepSamples: f.saveSamples}
	var err error
	switch task {
	case host.Deblur:
		switch {
		case f.kernel != "" && f.blur != "":
			return usagef("give --kernel or --blur, not both")
		case f.kernel != "":
			if base.Kernel, err = readKernel(f.kernel); err != nil {
				return usagef("%s: %v", f.kernel, err)
			}
		case f.blur != "":
			if base.Kernel, err = psf.Shortcut(f.blur); err != nil {
				return usagef("--blur: %v", err)
			}
		default:
			return usagef("--task deblur needs --kernel FILE or --blur %s", psf.ShortcutHelp)
		}
	case host.Inpaint:
		if f.mask == "" {
			return usagef("--task inpaint needs --mask FILE")
		}
		if base.Mask, err = readImage(f.mask); err != nil {
			return usagef("%s: %v", f.mask, err)
		}
	}
	if f.kernel != "" && task != host.Deblur || f.mask != "" && task != host.Inpaint {
		return usagef("--kernel goes with --task deblur and --mask with --task inpaint")
	}
	if task == host.SR {
		if f.scale < 2 || f.scale > host.MaxScale {
			return usagef("--task sr needs --scale 2 to %d (got %d)", host.MaxScale, f.scale)
		}
		base.Scale = f.scale
	} else if f.scale != 0 {
		return usagef("--scale goes with --task sr")
	}
	var jobs []job
	if batch {
		if jobs, err = batchJobs(fs.Args(), f.output, f.recursive); err != nil {
			return err
		}
	} else {
		jobs = []job{{input: fs.Arg(0), output: f.output}}
	}

	// On a terminal, bars show progress and everything else prints above them.
	var bar *bars
	if isTerminal(stderr) && f.progress == "auto" && !f.quiet {
		bar = newBars(stderr, len(jobs))
		defer bar.close()
		stderr = bar
	}
	h, err := openHost(f, stderr)
	if err != nil {
		return err
	}
	defer h.Close()
	if !batch {
		if f.skipExisting {
			if _, err := os.Stat(f.output); err == nil {
				fmt.Fprintf(stderr, "restore: %s exists; skipped\n", f.output)
				return nil
			}
		}
		return restoreFile(ctx, h, f, base, jobs[0], stderr, bar)
	}
	failed, skipped, done := 0, 0, 0
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		err := batchFile(ctx, h, f, base, j, stderr, bar)
		if bar != nil {
			bar.done()
		}
		switch {
		case err == errSkipped:
			skipped++
		case err != nil && ctx.Err() != nil:
			return err
		case err != nil:
			fmt.Fprintf(stderr, "restore: %v\n", err)
			failed++
		default:
			done++
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("stopped after %d of %d files: %w", done, len(jobs), err)
	}
	if !f.quiet {
		fmt.Fprintf(stderr, "restore: %d restored, %d skipped, %d failed (of %d files)\n", done, skipped, failed, len(jobs))
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files failed", failed, len(jobs))
	}
	return nil
}

// errSkipped is batchFile's answer for an output that exists, with --skip-existing.
var errSkipped = errors.New("skipped")

// batchFile restores one file of a batch, refusing to overwrite an existing
// output without --force.
func batchFile(ctx context.Context, h *host.Host, f restoreFlags, req host.Request, j job, stderr io.Writer, bar *bars) error {
	exists := false
	for _, o := range append([]string{j.output}, extraOutputs(j.output, f.samples, f.saveSamples)...) {
		if _, err := os.Stat(o); err == nil {
			exists = true
		}
	}
	switch {
	case exists && f.skipExisting:
		return errSkipped
	case exists && !f.force:
		return fmt.Errorf("%s: %s already exists (use --force to overwrite it, or --skip-existing)", j.input, j.output)
	}
	if err := os.MkdirAll(filepath.Dir(j.output), 0o755); err != nil {
		return fmt.Errorf("%s: %w", j.input, err)
	}
	return restoreFile(ctx, h, f, req, j, stderr, bar)
}

// job is one input file and where its restoration goes.
type job struct{ input, output string }

// imageExts are the extensions a folder's files must have to be restored.
var imageExts = map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".tif": true, ".tiff": true}

// batchJobs lists the files to restore: each file input goes to OUT/its
// name; a folder's images go to OUT/their path inside it (all levels with
// recursive, its top level otherwise).
func batchJobs(inputs []string, out string, recursive bool) ([]job, error) {
	var jobs []job
	seen := map[string]string{}
	add := func(in, rel string) error {
		o := filepath.Join(out, rel)
		if prev, dup := seen[o]; dup {
			return usagef("%s and %s would both be written to %s", prev, in, o)
		}
		seen[o] = in
		jobs = append(jobs, job{input: in, output: o})
		return nil
	}
	for _, in := range inputs {
		fi, err := os.Stat(in)
		if err != nil {
			return nil, usagef("%s: %v", in, err)
		}
		if !fi.IsDir() {
			if err := add(in, filepath.Base(in)); err != nil {
				return nil, err
			}
			continue
		}
		err = filepath.WalkDir(in, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != in && !recursive {
					return filepath.SkipDir
				}
				return nil
			}
			if !imageExts[strings.ToLower(filepath.Ext(p))] || strings.HasPrefix(d.Name(), ".") {
				return nil
			}
			rel, err := filepath.Rel(in, p)
			if err != nil {
				return err
			}
			return add(p, rel)
		})
		if err != nil {
			return nil, err
		}
	}
	if len(jobs) == 0 {
		return nil, usagef("no images (%s) in %s", "png, jpg, jpeg, tif, tiff", strings.Join(inputs, " "))
	}
	return jobs, nil
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// restoreFile restores one file with the shared request and writes its
// outputs. Errors name the file.
// bar, when not nil, shows the restoration's progress.
func restoreFile(ctx context.Context, h *host.Host, f restoreFlags, req host.Request, j job, stderr io.Writer, bar *bars) error {
	input := j.input
	in, err := imageio.Read(input, maxPixels)
	if err != nil {
		return usagef("%s: %v", input, err)
	}
	img := in.Pix
	req.Image = img
	if req.Mask != nil {
		m := req.Mask
		if m.Bounds().Dx() != img.Bounds().Dx() || m.Bounds().Dy() != img.Bounds().Dy() {
			return usagef("%s: mask is %dx%d but %s is %dx%d", f.mask, m.Bounds().Dx(), m.Bounds().Dy(),
				input, img.Bounds().Dx(), img.Bounds().Dy())
		}
	}
	outputs := extraOutputs(j.output, f.samples, f.saveSamples)

	switch {
	case f.progress == "json":
		enc := json.NewEncoder(stderr)
		req.Progress = func(p host.Progress) {
			enc.Encode(progressLine{File: input, Evaluation: p.Evaluation, Total: p.Total, Sigma: p.Sigma,
				Elapsed: p.Elapsed.Seconds()})
		}
	case bar != nil:
		req.Progress = bar.image(input)
	}
	res, err := h.Restore(ctx, req)
	if err != nil {
		if errors.Is(err, host.ErrBadInput) {
			return fmt.Errorf("%s: %w", input, err)
		}
		return err
	}
	if b := img.Bounds(); b.Dx()*b.Dy() >= 4<<20 {
		// The restoration's working tensors are garbage now: hand their
		// pages back before encoding allocates, so a large photo's peak
		// memory is the restoration's, not that plus the encoder's.
		debug.FreeOSMemory()
	}
	if res.NoiseEstimated && !f.quiet {
		fmt.Fprintf(stderr, "restore: %s: estimated noise level %.2f (8-bit levels); pass --noise to set it\n", input, res.Noise)
	}
	// The output takes the input's form: bit depth, gray, alpha, EXIF, ICC.
	out := image.Image(res.Image)
	if in.Depth16 {
		out = host.ImageFromTensor16(res.Tensor)
	}
	if err := imageio.Write(j.output, out, in); err != nil {
		return fmt.Errorf("%s: %w", j.output, err)
	}
	if res.Std != nil {
		if err := imageio.Write(outputs[0], host.StdImage(res.Std), nil); err != nil {
			return fmt.Errorf("%s: %w", outputs[0], err)
		}
		for i, im := range res.Samples { // 8-bit from the host, in the output's form
			if err := imageio.Write(outputs[1+i], im, in); err != nil {
				return fmt.Errorf("%s: %w", outputs[1+i], err)
			}
		}
	}
	if !f.quiet {
		stages := res.Solver + " + " + res.Guidance
		if res.Textured {
			stages += ", texture"
		}
		fmt.Fprintf(stderr, "restore: wrote %s (method %s: %s, %d evaluations on %s, %.1fs)\n", j.output, res.Method, stages,
			res.Evaluations, res.Device, res.Elapsed.Round(100*time.Millisecond).Seconds())
		if res.Std != nil {
			var sum float64
			for _, v := range res.Std.Data {
				sum += float64(v)
			}
			what, spread := fmt.Sprintf("the mean of %d samples", f.samples), "their standard deviation"
			if res.SamplesBeside {
				what = fmt.Sprintf("the method's estimate, as without --samples; %d samples drawn beside it", f.samples)
				spread = "their spread about it"
			}
			fmt.Fprintf(stderr, "restore: %s is %s; %s is in %s (%d gray levels per 8-bit level; mean %.2f levels)\n",
				j.output, what, spread, outputs[0], host.StdScale, sum/float64(len(res.Std.Data)))
			if sum == 0 {
				fmt.Fprintf(stderr, "restore: the samples are identical: %s + %s draws the same image whatever the seed (the default method, or one that samples, such as ddnm, gives a spread)\n",
					res.Solver, res.Guidance)
			}
		}
	}
	return nil
}

// progressLine is one line of --progress json: an object per network
// evaluation (seconds since the restoration started).
type progressLine struct {
	File       string  `json:"file"`
	Evaluation int     `json:"evaluation"`
	Total      int     `json:"total"`
	Sigma      float64 `json:"sigma"`
	Elapsed    float64 `json:"elapsed"`
}

// extraOutputs names the files --samples writes beside OUTPUT: the
// standard-deviation map, then each sample when they are kept.
func extraOutputs(output string, samples int, keep bool) []string {
	if samples < 2 {
		return nil
	}
	ext := filepath.Ext(output)
	stem := strings.TrimSuffix(output, ext)
	out := []string{stem + ".std.png"}
	if keep {
		for i := 1; i <= samples; i++ {
			out = append(out, fmt.Sprintf("%s.sample%d%s", stem, i, ext))
		}
	}
	return out
}

func kernelTensor(k [][]float64) *sdk.Tensor {
	t := sdk.NewTensor(1, len(k), len(k[0]))
	for i, row := range k {
		for j, v := range row {
			t.Data[i*len(k[0])+j] = float32(v)
		}
	}
	return t
}

func openHost(f restoreFlags, stderr io.Writer) (*host.Host, error) {
	level := slog.LevelWarn
	if f.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	h, err := host.Open(host.Config{Model: f.model, ORTLib: f.ortLib, PluginDir: f.pluginDir, Threads: f.threads, Logger: logger,
		AllowUnverified: f.allowUnverified, PluginTimeout: pluginTimeout(f.pluginTimeout),
		Device: f.device, StrictDevice: f.strictDevice, TileSize: f.tileSize})
	if err != nil {
		if errors.Is(err, host.ErrModel) && f.model != "" {
			return nil, usageError{err}
		}
		return nil, err
	}
	return h, nil
}

// pluginTimeout maps the flag's 0 (never) to host.Config's negative.
func pluginTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}

// sameFile reports whether a and b name the same existing file.
func sameFile(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// suggestFlag adds "did you mean --x?" to an unknown-flag error.
func suggestFlag(err error, fs *pflag.FlagSet) error {
	msg := err.Error()
	const prefix = "unknown flag: --"
	if !strings.HasPrefix(msg, prefix) {
		return err
	}
	var names []string
	fs.VisitAll(func(fl *pflag.Flag) { names = append(names, fl.Name) })
	if s := suggest.Closest(strings.TrimPrefix(msg, prefix), names); s != "" {
		return fmt.Errorf("%s; did you mean --%s?", msg, s)
	}
	return err
}
