package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/restorekit/restore/host"
)

// caseManifest is the manifest.json that ../shared/bench/make_cases.py writes per task.
type caseManifest struct {
	Task   string `json:"task"`
	Params struct {
		Kind string `json:"kind"`
	} `json:"params"`
	Cases []struct {
		Name      string  `json:"name"`
		Clean     string  `json:"clean"`
		Degraded  string  `json:"degraded"`
		Noise     float64 `json:"noise_sigma_8bit"`
		KernelPNG string  `json:"kernel_png"`
		KernelSrc string  `json:"kernel_source"`
		Mask      string  `json:"mask"`
	} `json:"cases"`
}

// evalRow is one restored case.
type evalRow struct {
	Name        string  `json:"name"`
	InputPSNR   float64 `json:"input_psnr"`
	PSNR        float64 `json:"psnr"`
	SSIM        float64 `json:"ssim"`
	Seconds     float64 `json:"seconds"`
	Evaluations int     `json:"evaluations"`
}

// evalReport is what `restore eval` writes as JSON.
type evalReport struct {
	Task      string    `json:"task"`
	Method    string    `json:"method"`
	Solver    string    `json:"solver"`
	Guidance  string    `json:"guidance"`
	Steps     int       `json:"evaluations"`
	Params    []string  `json:"params,omitempty"`
	Cases     int       `json:"cases"`
	InputPSNR float64   `json:"mean_input_psnr"`
	PSNR      float64   `json:"mean_psnr"`
	SSIM      float64   `json:"mean_ssim"`
	Seconds   float64   `json:"mean_seconds"`
	Rows      []evalRow `json:"rows"`
}

// runEval restores the cases of one benchmark task and scores them: PSNR on
// 8-bit RGB over the whole image (peak 255) and SSIM as scikit-image
// computes it.
func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f restoreFlags
	fs := newRestoreFlagSet(&f, stderr)
	var cases, jsonOut string
	var limit int
	var match string
	fs.StringVar(&cases, "cases", "", "a task folder written by ../shared/bench/make_cases.py (holds manifest.json)")
	fs.StringVar(&jsonOut, "json", "", "also write the per-image report as JSON to this file")
	fs.IntVar(&limit, "limit", 0, "restore only the first N cases (0: all)")
	fs.StringVar(&match, "match", "", "restore only cases whose name or kernel source contains this, e.g. levin_k3")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: restore eval --cases CASES/TASK [--steps N] [--solver S] [--guidance G] [--param k=v] [--json FILE]\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == pflag.ErrHelp {
			return errHelp
		}
		return usageError{suggestFlag(err, fs)}
	}
	if cases == "" {
		fs.Usage()
		return usagef("eval: --cases is required")
	}
	data, err := os.ReadFile(filepath.Join(cases, "manifest.json"))
	if err != nil {
		return usagef("eval: %v", err)
	}
	var m caseManifest
	if err := json.Unmarshal(data, &m); err != nil {
		return usagef("eval: %s: %v", filepath.Join(cases, "manifest.json"), err)
	}
	root := filepath.Dir(filepath.Clean(cases)) // manifest paths are relative to the --out folder
	params := map[string]string{}
	for _, p := range f.params {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return usagef("--param %q: want name=value", p)
		}
		params[k] = v
	}
	h, err := openHost(f, stderr)
	if err != nil {
		return err
	}
	defer h.Close()
	rep := evalReport{Task: m.Task, Params: f.params}
	for _, c := range m.Cases {
		if limit > 0 && len(rep.Rows) >= limit {
			break
		}
		if match != "" && !strings.Contains(c.Name, match) && !strings.Contains(c.KernelSrc, match) {
			continue
		}
		img, err := readImage(filepath.Join(root, c.Degraded))
		if err != nil {
			return fmt.Errorf("%s: %w", c.Degraded, err)
		}
		clean, err := readImage(c.Clean)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Clean, err)
		}
		req := host.Request{Task: host.Task(m.Params.Kind), Image: img, Noise: c.Noise, Method: f.method, Solver: f.solver,
			Guidance: f.guidance, Params: params, Steps: f.steps, Seed: f.seed, StartSigma: f.start}
		if c.KernelPNG != "" {
			if req.Kernel, err = readKernel(filepath.Join(root, c.KernelPNG)); err != nil {
				return fmt.Errorf("%s: %w", c.KernelPNG, err)
			}
		}
		if c.Mask != "" {
			if req.Mask, err = readImage(filepath.Join(root, c.Mask)); err != nil {
				return fmt.Errorf("%s: %w", c.Mask, err)
			}
		}
		start := time.Now()
		res, err := h.Restore(ctx, req)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
		row := evalRow{Name: c.Name, InputPSNR: psnr8(clean, img), PSNR: psnr8(clean, res.Image),
			SSIM: ssim8(clean, res.Image), Seconds: time.Since(start).Seconds(), Evaluations: res.Evaluations}
		rep.Rows = append(rep.Rows, row)
		rep.Method, rep.Solver, rep.Guidance, rep.Steps = res.Method, res.Solver, res.Guidance, res.Evaluations
		fmt.Fprintf(stderr, "%s %s: %.2f → %.2f dB, SSIM %.4f, %.1fs\n", m.Task, c.Name, row.InputPSNR, row.PSNR, row.SSIM, row.Seconds)
	}
	for _, r := range rep.Rows {
		rep.InputPSNR += r.InputPSNR
		rep.PSNR += r.PSNR
		rep.SSIM += r.SSIM
		rep.Seconds += r.Seconds
	}
	if n := float64(len(rep.Rows)); n > 0 {
		rep.Cases = len(rep.Rows)
		rep.InputPSNR /= n
		rep.PSNR /= n
		rep.SSIM /= n
		rep.Seconds /= n
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 1, ' ', 0)
	fmt.Fprintln(tw, "| task\t| method\t| evaluations\t| cases\t| input PSNR\t| PSNR\t| SSIM\t| s/img\t|")
	fmt.Fprintln(tw, "|---\t|---\t|---\t|---\t|---\t|---\t|---\t|---\t|")
	method := rep.Method + ": " + rep.Solver + " + " + rep.Guidance
	if len(rep.Params) > 0 {
		method += " (" + strings.Join(rep.Params, ", ") + ")"
	}
	fmt.Fprintf(tw, "| %s\t| %s\t| %d\t| %d\t| %.2f\t| %.2f\t| %.4f\t| %.2f\t|\n", rep.Task, method, rep.Steps, rep.Cases,
		rep.InputPSNR, rep.PSNR, rep.SSIM, rep.Seconds)
	if err := tw.Flush(); err != nil {
		return err
	}
	if jsonOut != "" {
		data, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(jsonOut, append(data, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
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
