package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"
	xdraw "golang.org/x/image/draw"

	"github.com/restorekit/restore/host"
	"github.com/restorekit/restore/internal/imageio"
	"github.com/restorekit/restore/internal/suggest"
)

const evalUsage = `Usage:
  restore eval --set CASES [--task T ...] [--method M ...] [--steps N ...] [flags]
  restore eval --cases CASES/TASK [flags]

Restores benchmark cases and scores them. CASES is the folder that
../shared/bench/make_cases.py writes (one sub-folder per task, each with a
manifest.json; make bench builds it in out/cases and runs this over all six
tasks):

  /usr/bin/python3 ../shared/bench/make_cases.py --clean ../shared/data/eval/CBSD68 --out CASES

Every (task, method, steps) combination is one row: mean input PSNR, PSNR and
SSIM (8-bit RGB, as ../shared/bench/metrics.py), seconds per image, network
evaluations and, for inpainting, fill sharpness: the mean gradient magnitude
inside the hole over that in a 16-pixel ring around it (the clean image's in
parentheses). --task, --method and --steps repeat or take comma lists.

With --samples K (2 or more) each case also draws K posterior samples, and
the table scores their per-pixel spread (the .std.png map) against the
result's actual error: error / spread is the RMS error over the RMS spread
(the spread times √(1 + 1/K) when the result is the samples' mean; 1: the map
is as large as the errors, more: they are larger than it says),
spread–error corr. their correlation over pixels, NLL the error's mean
negative log-likelihood under a Gaussian of the map's variance (a proper
score of both: lower is better), and skill slope whether the errors grow as
the map does: the pixels ranked by the map and pooled in tenths, the slope of
log RMS error against log RMS spread (1: they do; 0: the map does not say
where the errors are).

Writes into --out: table.md (also printed), table.json (every row and image),
sheet-TASK.png (input | result | truth for the first 3 cases, with the first
method and the most evaluations), psnr-TASK.png (PSNR versus evaluations)
and, with --samples, spread-TASK.png (RMS error against the map's RMS, per
tenth of the pixels).

Flags:
`

// evalSkipFlags are the restore command's flags that make no sense for eval
// (or that eval redefines): they are left out of eval's flag set.
var evalSkipFlags = map[string]bool{
	"task": true, "method": true, "steps": true, "kernel": true, "blur": true, "mask": true, "noise": true,
	"scale": true, "save-samples": true, "output": true, "force": true, "version": true,
}

// caseManifest is the manifest.json that ../shared/bench/make_cases.py writes per task.
type caseManifest struct {
	Task   string `json:"task"`
	Params struct {
		Kind  string `json:"kind"`
		Scale int    `json:"scale"` // sr: the shrink factor
	} `json:"params"`
	Cases []caseEntry `json:"cases"`
}

// caseEntry is one case of a manifest. Its paths are relative to the folder
// that holds the task folders, except Clean, which is as make_cases.py was
// given it.
type caseEntry struct {
	Name      string  `json:"name"`
	Clean     string  `json:"clean"`
	Degraded  string  `json:"degraded"`
	Noise     float64 `json:"noise_sigma_8bit"`
	KernelPNG string  `json:"kernel_png"`
	KernelSrc string  `json:"kernel_source"`
	Mask      string  `json:"mask"`
}

// evalTask is one task folder of a case set, its cases already selected.
type evalTask struct {
	dir   string // the task folder's name, e.g. denoise25
	root  string // the case set: manifest paths are relative to it
	kind  host.Task
	scale int    // sr's factor
	name  string // the manifest's task name
	cases []caseEntry
}

// protocolOrder is the order in which make_cases.py writes its tasks; task
// folders are listed in it, then any others by name.
var protocolOrder = []string{"denoise25", "denoise50", "deblur_levin", "deblur_gauss", "inpaint_random70", "inpaint_box128",
	"denoise15", "sr2", "sr4"}

// evalOptions are eval's own flags.
type evalOptions struct {
	set, cases, out, jsonOut, match string
	tasks, methods                  []string
	steps                           []int
	limit                           int
	estimateNoise                   bool
}

// runEval restores benchmark cases and scores them: PSNR on 8-bit RGB over
// the whole image (peak 255) and SSIM as scikit-image computes it, for every
// (task, method, steps) combination asked for; it prints the Markdown table
// and writes the table, JSON, contact sheets and PSNR plots into --out.
func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f restoreFlags
	base := newRestoreFlagSet(&f, stderr)
	fs := pflag.NewFlagSet("eval", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	var o evalOptions
	fs.StringVar(&o.set, "set", "", "the case set: the folder make_cases.py wrote (task sub-folders with manifest.json)")
	fs.StringSliceVar(&o.tasks, "task", nil, "task folder of --set to run, e.g. denoise25 (repeatable, or a comma list; default: every one present)")
	fs.StringSliceVar(&o.methods, "method", nil, "method preset to run (repeatable, or a comma list; default: each task's; see: restore methods)")
	fs.IntSliceVar(&o.steps, "steps", nil, "denoiser evaluations to spend (repeatable, or a comma list; 0 or default: the method's)")
	fs.IntVar(&o.limit, "limit", 0, "restore only the first N selected cases of each task (0: all)")
	fs.StringVar(&o.match, "match", "", "restore only cases whose name or kernel source contains this, e.g. levin_k3")
	fs.StringVar(&o.out, "out", filepath.Join("out", "eval"), "folder for table.md, table.json, sheet-TASK.png, psnr-TASK.png and spread-TASK.png")
	fs.StringVar(&o.cases, "cases", "", "one task folder instead of --set and --task: CASES/TASK")
	fs.StringVar(&o.jsonOut, "json", "", "also write the report as JSON to this file (one row: that row's object; several: table.json's)")
	fs.BoolVar(&o.estimateNoise, "estimate-noise", false, "estimate each photo's noise level, as restore does without --noise, instead of taking the manifest's (table.json: each image's noise)")
	base.VisitAll(func(fl *pflag.Flag) {
		if !evalSkipFlags[fl.Name] {
			fs.AddFlag(fl)
		}
	})
	fs.Usage = func() {
		fmt.Fprint(stderr, evalUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return errHelp
		}
		return usageError{suggestFlag(err, fs)}
	}
	if fs.NArg() > 0 {
		return usagef("eval: unexpected argument %q (cases come from --set or --cases)", fs.Arg(0))
	}
	if o.limit < 0 {
		return usagef("eval: --limit %d is negative", o.limit)
	}
	if f.samples < 1 || f.samples > host.MaxSamples {
		return usagef("eval: --samples %d is outside [1, %d]", f.samples, host.MaxSamples)
	}
	for _, s := range o.steps {
		if s < 0 || s > 10000 {
			return usagef("eval: --steps %d is outside [1, 10000] (0: the method's)", s)
		}
	}
	params := map[string]string{}
	for _, p := range f.params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return usagef("--param %q: want name=value", p)
		}
		params[k] = v
	}
	tasks, err := selectTasks(o)
	if err != nil {
		return err
	}
	methods, err := checkMethods(o.methods)
	if err != nil {
		return err
	}
	steps := dedupe(o.steps)
	if len(steps) == 0 {
		steps = []int{0}
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}

	h, err := openHost(f, stderr)
	if err != nil {
		return err
	}
	defer h.Close()

	var rows []*evalReport
	for _, t := range tasks {
		ms := methods
		if len(ms) == 0 {
			ms = []string{host.DefaultMethods[t.kind]}
		}
		plot := taskPlot{task: t.name}
		var taskRows []*evalReport
		var sheet *sheetRows // the first method's, with the most evaluations
		for mi, method := range ms {
			if m, _ := host.LookupMethod(method); !hasTask(m, t.kind) {
				fmt.Fprintf(stderr, "restore: eval: method %s has no settings for %s tasks; skipping %s\n", method, t.kind, t.dir)
				continue
			}
			for _, s := range steps {
				rep, kept, err := evalCombination(ctx, h, t, method, s, f, params, o.estimateNoise, mi == 0, stderr)
				if err != nil {
					return err
				}
				rows, taskRows = append(rows, rep), append(taskRows, rep)
				plot.add(method, rep)
				if kept != nil && (sheet == nil || rep.Steps > sheet.evaluations) {
					sheet = kept
				}
			}
		}
		if sheet != nil {
			if err := imageio.Write(filepath.Join(o.out, "sheet-"+t.dir+".png"), contactSheet(sheet), nil); err != nil {
				return err
			}
		}
		if len(plot.series) > 0 {
			if err := imageio.Write(filepath.Join(o.out, "psnr-"+t.dir+".png"), psnrPlot(plot), nil); err != nil {
				return err
			}
		}
		if sp := spreadPlot(t.name, taskRows); sp != nil {
			if err := imageio.Write(filepath.Join(o.out, "spread-"+t.dir+".png"), sp, nil); err != nil {
				return err
			}
		}
	}
	if len(rows) == 0 {
		return usagef("eval: nothing to run (no method has settings for the selected tasks)")
	}
	md := markdownTable(rows)
	if _, err := io.WriteString(stdout, md); err != nil {
		return err
	}
	doc := evalTable{Set: tasks[0].root, Seed: f.seed, Sharpness: sharpnessDoc, Rows: rows}
	if err := writeFileAtomic(filepath.Join(o.out, "table.md"), []byte(md)); err != nil {
		return err
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if err := writeFileAtomic(filepath.Join(o.out, "table.json"), data); err != nil {
		return err
	}
	if o.jsonOut != "" {
		if len(rows) == 1 {
			if data, err = json.MarshalIndent(rows[0], "", "  "); err != nil {
				return err
			}
			data = append(data, '\n')
		}
		if err := writeFileAtomic(o.jsonOut, data); err != nil {
			return err
		}
	}
	if !f.quiet {
		what := "table.md, table.json, sheet-TASK.png, psnr-TASK.png"
		if f.samples > 1 {
			what += ", spread-TASK.png"
		}
		fmt.Fprintf(stderr, "restore: eval wrote %s (%s)\n", o.out, what)
	}
	return nil
}

// selectTasks resolves --set/--task or --cases to task folders, reads their
// manifests and selects their cases with --match and --limit.
func selectTasks(o evalOptions) ([]evalTask, error) {
	set, names := o.set, o.tasks
	switch {
	case o.cases != "" && (o.set != "" || len(o.tasks) > 0):
		return nil, usagef("eval: give --cases CASES/TASK or --set CASES [--task T], not both")
	case o.cases != "":
		set, names = filepath.Dir(filepath.Clean(o.cases)), []string{filepath.Base(filepath.Clean(o.cases))}
		if _, err := os.Stat(filepath.Join(o.cases, "manifest.json")); err != nil {
			return nil, usagef("eval: --cases %s: no manifest.json (make_cases.py writes one per task folder)", o.cases)
		}
	case o.set == "":
		return nil, usagef("eval: --set CASES is required (the folder ../shared/bench/make_cases.py writes; see restore eval --help)")
	default:
		present, err := taskFolders(set)
		if err != nil {
			return nil, err
		}
		if len(names) == 0 {
			names = present
		}
		for _, n := range names {
			if !slices.Contains(present, n) {
				hint := ""
				if s := suggest.Closest(n, present); s != "" {
					hint = fmt.Sprintf("; did you mean %q?", s)
				}
				return nil, usagef("eval: unknown task %q (tasks in %s: %s)%s", n, set, strings.Join(present, ", "), hint)
			}
		}
		names = dedupe(names)
	}
	var tasks []evalTask
	for _, n := range names {
		t, err := readTask(set, n, o.match, o.limit)
		if err != nil {
			return nil, err
		}
		if len(t.cases) == 0 {
			continue
		}
		tasks = append(tasks, t)
	}
	if len(tasks) == 0 {
		return nil, usagef("eval: no case matches --match %q in %s", o.match, strings.Join(names, ", "))
	}
	return tasks, nil
}

// taskFolders lists the sub-folders of set that hold a manifest.json, in
// make_cases.py's order.
func taskFolders(set string) ([]string, error) {
	entries, err := os.ReadDir(set)
	if err != nil {
		return nil, usagef("eval: --set: %v", err)
	}
	var names []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(set, e.Name(), "manifest.json")); e.IsDir() && err == nil {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return nil, usagef("eval: --set %s has no task folders with manifest.json (write them with ../shared/bench/make_cases.py)", set)
	}
	rank := func(n string) int {
		if i := slices.Index(protocolOrder, n); i >= 0 {
			return i
		}
		return len(protocolOrder)
	}
	sort.SliceStable(names, func(i, j int) bool {
		if ri, rj := rank(names[i]), rank(names[j]); ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	return names, nil
}

// readTask reads set/dir/manifest.json and selects its cases.
func readTask(set, dir, match string, limit int) (evalTask, error) {
	path := filepath.Join(set, dir, "manifest.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return evalTask{}, usagef("eval: %v", err)
	}
	var m caseManifest
	if err := json.Unmarshal(data, &m); err != nil {
		return evalTask{}, usagef("eval: %s: %v", path, err)
	}
	t := evalTask{dir: dir, root: set, kind: host.Task(m.Params.Kind), scale: m.Params.Scale, name: m.Task}
	if t.name == "" {
		t.name = dir
	}
	switch t.kind {
	case host.Denoise, host.Deblur, host.Inpaint, host.SR:
	default:
		return evalTask{}, usagef("eval: %s: task kind %q is not one eval scores (%s)", path, m.Params.Kind, taskList)
	}
	for _, c := range m.Cases {
		if limit > 0 && len(t.cases) >= limit {
			break
		}
		if match != "" && !strings.Contains(c.Name, match) && !strings.Contains(c.KernelSrc, match) {
			continue
		}
		t.cases = append(t.cases, c)
	}
	return t, nil
}

// checkMethods validates --method names against host.Methods().
func checkMethods(names []string) ([]string, error) {
	var known []string
	for _, m := range host.Methods() {
		known = append(known, m.Name)
	}
	for _, n := range names {
		if !slices.Contains(known, n) {
			hint := ""
			if s := suggest.Closest(n, known); s != "" {
				hint = fmt.Sprintf("; did you mean %q?", s)
			}
			return nil, usagef("eval: unknown method %q (methods: %s)%s", n, strings.Join(known, ", "), hint)
		}
	}
	return dedupe(names), nil
}

// hasTask reports whether a method has settings for a task.
func hasTask(m host.Method, t host.Task) bool {
	_, ok := m.Tasks[t]
	return ok
}

// dedupe drops repeats, keeping the first of each.
func dedupe[T comparable](xs []T) []T {
	var out []T
	for _, x := range xs {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// sheetCases is how many cases a contact sheet shows.
const sheetCases = 3

// evalCombination restores the cases of one task with one method and step
// budget. With keep, it also returns the first sheetCases images for the
// contact sheet.
func evalCombination(ctx context.Context, h *host.Host, t evalTask, method string, steps int, f restoreFlags,
	params map[string]string, estimateNoise, keep bool, stderr io.Writer) (*evalReport, *sheetRows, error) {
	rep := &evalReport{Task: t.name, Method: method, StepsAsked: steps, Params: f.params, Samples: f.samples}
	var kept *sheetRows
	if keep {
		kept = &sheetRows{task: t.name, method: method}
	}
	for _, c := range t.cases {
		img, err := readImage(filepath.Join(t.root, c.Degraded))
		if err != nil {
			return nil, nil, usagef("eval: %s: %v", filepath.Join(t.root, c.Degraded), err)
		}
		clean, err := readImage(c.Clean)
		if err != nil {
			return nil, nil, usagef("eval: clean image %s: %v (manifest paths to clean images are as make_cases.py was given them)", c.Clean, err)
		}
		want := img.Bounds().Size()
		if t.kind == host.SR {
			want = want.Mul(t.scale)
		}
		if want != clean.Bounds().Size() {
			return nil, nil, usagef("eval: %s is %v but its clean image %s is %v", c.Degraded, img.Bounds().Size(), c.Clean, clean.Bounds().Size())
		}
		req := host.Request{Task: t.kind, Image: img, Noise: c.Noise, Method: method, Solver: f.solver,
			Guidance: f.guidance, Params: params, Steps: steps, Ensemble: f.ensemble, Cycle: host.Choice(f.cycle), Texture: host.Choice(f.texture), Seed: f.seed, StartSigma: f.start, Scale: t.scale, Samples: f.samples}
		if c.KernelPNG != "" {
			if req.Kernel, err = readKernel(filepath.Join(t.root, c.KernelPNG)); err != nil {
				return nil, nil, usagef("eval: %s: %v", c.KernelPNG, err)
			}
		}
		var missing []bool
		if c.Mask != "" {
			if req.Mask, err = readImage(filepath.Join(t.root, c.Mask)); err != nil {
				return nil, nil, usagef("eval: %s: %v", c.Mask, err)
			}
			missing = maskPixels(req.Mask)
		}
		if estimateNoise {
			req.Noise = -1
		}
		start := time.Now()
		res, err := h.Restore(ctx, req)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s: %w", t.name, c.Name, err)
		}
		input := img
		if t.kind == host.SR {
			// the input scored as a classical tool would enlarge it: bicubic
			input = bicubicTo(img, clean.Bounds().Dx(), clean.Bounds().Dy())
		}
		row := evalRow{Name: c.Name, InputPSNR: metric(psnr8(clean, input)), PSNR: metric(psnr8(clean, res.Image)),
			SSIM: metric(ssim8(clean, res.Image)), Seconds: metric(time.Since(start).Seconds()), Evaluations: res.Evaluations,
			FillSharpness: metric(math.NaN()), CleanFillSharpness: metric(math.NaN()),
			Calibration: metric(math.NaN()), SpreadErrorCorrelation: metric(math.NaN()), SpreadNLL: metric(math.NaN()),
			SpreadSkillSlope: metric(math.NaN()), Noise: metric(math.NaN())}
		if res.NoiseEstimated {
			row.Noise = metric(res.Noise)
		}
		if res.Std != nil {
			k := float64(f.samples) // the result is their mean, or (beside) the map is their spread about it
			if res.SamplesBeside {
				k = math.Inf(1)
			}
			sc := spreadScores(clean, res.Image, res.Std, k)
			row.Calibration, row.SpreadErrorCorrelation, row.SpreadNLL = metric(sc.calibration), metric(sc.corr), metric(sc.nll)
			row.SpreadSkillSlope, row.spreadBins = metric(sc.slope()), sc.bins
		}
		if t.kind == host.Inpaint && missing != nil {
			row.FillSharpness = metric(fillSharpness(res.Image, missing).Ratio)
			row.CleanFillSharpness = metric(fillSharpness(clean, missing).Ratio)
		}
		rep.Rows = append(rep.Rows, row)
		rep.Solver, rep.Guidance, rep.Steps = res.Solver, res.Guidance, res.Evaluations
		if kept != nil && len(kept.rows) < sheetCases {
			kept.rows = append(kept.rows, sheetRow{name: c.Name, input: img, result: res.Image, truth: clean,
				inputPSNR: float64(row.InputPSNR), psnr: float64(row.PSNR)})
		}
		if !f.quiet {
			fmt.Fprintf(stderr, "%s %s (%s, %d evaluations): %.2f → %.2f dB, SSIM %.4f, %.1fs\n", t.name, c.Name, method,
				res.Evaluations, row.InputPSNR, row.PSNR, row.SSIM, row.Seconds)
		}
	}
	rep.summarise(t.kind == host.Inpaint)
	if kept != nil {
		kept.evaluations = rep.Steps
		kept.label = rep.Solver + " + " + rep.Guidance
	}
	return rep, kept, nil
}

// rgb8 returns the image as 8-bit RGB planes, quantised as a PNG writer would.
func rgb8(img image.Image) (planes [3][]float64, w, h int) {
	q := host.ImageFromTensor(host.TensorFromImage(img))
	w, h = q.Rect.Dx(), q.Rect.Dy()
	for c := 0; c < 3; c++ {
		planes[c] = make([]float64, w*h)
		for i := 0; i < w*h; i++ {
			planes[c][i] = float64(q.Pix[4*i+c])
		}
	}
	return planes, w, h
}

// bicubicTo enlarges img to w×h by bicubic (Catmull–Rom) interpolation.
func bicubicTo(img image.Image, w, h int) image.Image {
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	xdraw.CatmullRom.Scale(dst, dst.Bounds(), img, img.Bounds(), xdraw.Src, nil)
	return dst
}

// psnr8 is PSNR on 8-bit RGB, whole image, peak 255.
func psnr8(a, b image.Image) float64 {
	pa, _, _ := rgb8(a)
	pb, _, _ := rgb8(b)
	mse, n := 0.0, 0
	for c := range pa {
		for i := range pa[c] {
			d := pa[c][i] - pb[c][i]
			mse += d * d
			n++
		}
	}
	if mse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(mse/float64(n)))
}

// ssim8 is SSIM as scikit-image's structural_similarity computes it with
// channel_axis=-1 and data_range=255: a 7×7 uniform window, sample
// covariances, K1 = 0.01, K2 = 0.03, the mean over the window-valid interior,
// averaged over channels.
func ssim8(a, b image.Image) float64 {
	pa, w, h := rgb8(a)
	pb, _, _ := rgb8(b)
	const win, k1, k2, L = 7, 0.01, 0.03, 255.0
	c1, c2 := (k1*L)*(k1*L), (k2*L)*(k2*L)
	np := float64(win * win)
	cov := np / (np - 1)
	pad := (win - 1) / 2
	total := 0.0
	for c := 0; c < 3; c++ {
		x, y := pa[c], pb[c]
		sum, count := 0.0, 0
		for i := pad; i < h-pad; i++ {
			for j := pad; j < w-pad; j++ {
				var mx, my, mxx, myy, mxy float64
				for di := -pad; di <= pad; di++ {
					for dj := -pad; dj <= pad; dj++ {
						u, v := x[(i+di)*w+j+dj], y[(i+di)*w+j+dj]
						mx += u
						my += v
						mxx += u * u
						myy += v * v
						mxy += u * v
					}
				}
				mx, my, mxx, myy, mxy = mx/np, my/np, mxx/np, myy/np, mxy/np
				vx, vy, vxy := cov*(mxx-mx*mx), cov*(myy-my*my), cov*(mxy-mx*my)
				s := (2*mx*my + c1) * (2*vxy + c2) / ((mx*mx + my*my + c1) * (vx + vy + c2))
				sum += s
				count++
			}
		}
		total += sum / float64(count)
	}
	return total / 3
}
