package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restorekit/restore/host"
	"github.com/restorekit/restore/sdk"
)

// tinyCases writes a case set in make_cases.py's layout: a denoise25 and an
// inpaint_box16 task folder, each with a manifest.json and two 48×48 crops of
// the fixture photos.
func tinyCases(t *testing.T) string {
	t.Helper()
	set := t.TempDir()
	cleanDir := t.TempDir()
	savePNG := func(path string, img image.Image) {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
	}
	type entry struct {
		Name     string  `json:"name"`
		Index    int     `json:"image_index"`
		Seed     int     `json:"seed"`
		Clean    string  `json:"clean"`
		Degraded string  `json:"degraded"`
		Noise    float64 `json:"noise_sigma_8bit"`
		Mask     string  `json:"mask,omitempty"`
	}
	type manifest struct {
		Task   string         `json:"task"`
		Params map[string]any `json:"params"`
		Cases  []entry        `json:"cases"`
	}
	tasks := []manifest{
		{Task: "denoise25", Params: map[string]any{"kind": "denoise", "sigma": 25.0}},
		{Task: "inpaint_box16", Params: map[string]any{"kind": "inpaint", "mask": "box", "box": 16, "margin": 16, "sigma": 0.0}},
	}
	for ti := range tasks {
		m := &tasks[ti]
		if err := os.Mkdir(filepath.Join(set, m.Task), 0o755); err != nil {
			t.Fatal(err)
		}
		for ii, name := range []string{"dog", "flower"} {
			src := decode(t, fx+"/images/"+name+".png")
			b := src.Bounds()
			clean := image.NewNRGBA(image.Rect(0, 0, 48, 48))
			draw.Draw(clean, clean.Bounds(), src, image.Pt(b.Min.X+(b.Dx()-48)/2, b.Min.Y+(b.Dy()-48)/2), draw.Src)
			cleanPath := filepath.Join(cleanDir, name+".png")
			savePNG(cleanPath, clean)
			seed := 7770000 + 1000*ti + ii
			e := entry{Name: name, Index: ii, Seed: seed, Clean: cleanPath, Degraded: m.Task + "/" + name + ".png"}
			deg := image.NewNRGBA(clean.Rect)
			copy(deg.Pix, clean.Pix)
			switch m.Params["kind"] {
			case "denoise":
				e.Noise = 25
				rng := rand.New(rand.NewPCG(uint64(seed), 0))
				for i := range deg.Pix {
					if i%4 != 3 {
						v := float64(deg.Pix[i]) + 25*rng.NormFloat64()
						deg.Pix[i] = uint8(math.Round(math.Max(0, math.Min(255, v))))
					}
				}
			case "inpaint":
				mask := image.NewGray(clean.Rect)
				hole := image.Rect(16, 16, 32, 32)
				draw.Draw(mask, hole, image.NewUniform(color.Gray{255}), image.Point{}, draw.Src)
				draw.Draw(deg, hole, image.NewUniform(color.NRGBA{0, 0, 0, 255}), image.Point{}, draw.Src)
				e.Mask = m.Task + "/" + name + ".mask.png"
				savePNG(filepath.Join(set, e.Mask), mask)
			}
			savePNG(filepath.Join(set, e.Degraded), deg)
			m.Cases = append(m.Cases, e)
		}
		data, _ := json.MarshalIndent(m, "", " ")
		if err := os.WriteFile(filepath.Join(set, m.Task, "manifest.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return set
}

// evalTableJSON is table.json as a reader sees it.
type evalTableJSON struct {
	Set  string `json:"set"`
	Rows []struct {
		Task          string   `json:"task"`
		Method        string   `json:"method"`
		Evaluations   int      `json:"evaluations"`
		Cases         int      `json:"cases"`
		InputPSNR     float64  `json:"mean_input_psnr"`
		PSNR          float64  `json:"mean_psnr"`
		SSIM          float64  `json:"mean_ssim"`
		Seconds       float64  `json:"mean_seconds"`
		FillSharpness *float64 `json:"mean_fill_sharpness"`
		CleanFill     *float64 `json:"mean_clean_fill_sharpness"`
		Rows          []struct {
			Name          string   `json:"name"`
			PSNR          float64  `json:"psnr"`
			Evaluations   int      `json:"evaluations"`
			FillSharpness *float64 `json:"fill_sharpness"`
		} `json:"rows"`
	} `json:"rows"`
}

// finite reports whether v is a number other than ±Inf.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// TestEvalSet runs eval over a tiny case set with two step budgets and checks
// every file it writes.
func TestEvalSet(t *testing.T) {
	set := tinyCases(t)
	out := filepath.Join(t.TempDir(), "eval")
	code, stdout, stderr := restore(t, nil, "eval", "--set", set, "--steps", "2", "--steps", "3", "--limit", "2", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	md, err := os.ReadFile(filepath.Join(out, "table.md"))
	if err != nil {
		t.Fatal(err)
	}
	if string(md) != stdout {
		t.Errorf("stdout differs from table.md:\n%s\n---\n%s", stdout, md)
	}
	var tableLines []string
	for _, l := range strings.Split(string(md), "\n") {
		if strings.HasPrefix(l, "|") {
			tableLines = append(tableLines, l)
		}
	}
	if len(tableLines) != 2+4 {
		t.Fatalf("table.md has %d table lines, want a header, a rule and 4 rows:\n%s", len(tableLines), md)
	}
	for _, col := range []string{"task", "method", "solver + guidance", "evaluations", "cases", "input PSNR", "PSNR", "SSIM", "s/img", "fill sharpness"} {
		if !strings.Contains(tableLines[0], "| "+col+" ") {
			t.Errorf("table.md's header lacks %q: %s", col, tableLines[0])
		}
	}

	data, err := os.ReadFile(filepath.Join(out, "table.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tab evalTableJSON
	if err := json.Unmarshal(data, &tab); err != nil {
		t.Fatalf("table.json: %v", err)
	}
	if len(tab.Rows) != 4 {
		t.Fatalf("table.json has %d rows, want 4 (2 tasks × 2 step budgets)", len(tab.Rows))
	}
	// A 16-pixel box is deep enough for the inpainting preset's texture
	// stage, whose sample's evaluations come on top of --steps.
	var inpaint host.Setting
	for _, m := range host.Methods() {
		if m.Name == host.DefaultMethods[host.Inpaint] {
			inpaint = m.Tasks[host.Inpaint]
		}
	}
	if inpaint.Texture == nil {
		t.Fatal("the default inpainting method has no texture stage")
	}
	for i, r := range tab.Rows {
		wantTask := []string{"denoise25", "denoise25", "inpaint_box16", "inpaint_box16"}[i]
		wantEvals := []int{2, 3, 2 + inpaint.Texture.Steps, 3 + inpaint.Texture.Steps}[i]
		wantMethod := host.DefaultMethods[[]host.Task{host.Denoise, host.Denoise, host.Inpaint, host.Inpaint}[i]]
		if r.Task != wantTask || r.Evaluations != wantEvals || r.Cases != 2 || r.Method != wantMethod {
			t.Errorf("row %d: %s %s, %d evaluations, %d cases; want %s %s, %d evaluations, 2 cases",
				i, r.Task, r.Method, r.Evaluations, r.Cases, wantTask, wantMethod, wantEvals)
		}
		for name, v := range map[string]float64{"input PSNR": r.InputPSNR, "PSNR": r.PSNR, "SSIM": r.SSIM, "seconds": r.Seconds} {
			if !finite(v) || v <= 0 {
				t.Errorf("row %d (%s): %s = %v", i, r.Task, name, v)
			}
		}
		if len(r.Rows) != 2 {
			t.Fatalf("row %d has %d images", i, len(r.Rows))
		}
		for _, img := range r.Rows {
			if !finite(img.PSNR) || img.Evaluations != wantEvals {
				t.Errorf("row %d, %s: PSNR %v, %d evaluations", i, img.Name, img.PSNR, img.Evaluations)
			}
		}
		inpaint := strings.HasPrefix(r.Task, "inpaint")
		if inpaint {
			if r.FillSharpness == nil || !finite(*r.FillSharpness) || r.CleanFill == nil || !finite(*r.CleanFill) {
				t.Errorf("row %d (%s): fill sharpness %v, clean %v", i, r.Task, r.FillSharpness, r.CleanFill)
			}
			for _, img := range r.Rows {
				if img.FillSharpness == nil {
					t.Errorf("row %d, %s: no per-image fill sharpness", i, img.Name)
				}
			}
		} else if r.FillSharpness != nil {
			t.Errorf("row %d (%s): fill sharpness on a task without a hole", i, r.Task)
		}
		if r.Task == "denoise25" && r.PSNR <= r.InputPSNR {
			t.Errorf("denoise with %d evaluations: PSNR %.2f, no better than the input's %.2f", r.Evaluations, r.PSNR, r.InputPSNR)
		}
	}
	if !strings.Contains(tableLines[4], "(clean ") || !strings.Contains(tableLines[2], "| - ") {
		t.Errorf("fill sharpness should be filled in for inpainting rows only:\n%s", md)
	}

	for _, task := range []string{"denoise25", "inpaint_box16"} {
		sheet := decode(t, filepath.Join(out, "sheet-"+task+".png"))
		if b := sheet.Bounds(); b.Dx() < 3*48 || b.Dy() < 2*48 {
			t.Errorf("sheet-%s.png is %v, too small for 2 rows of 3 48×48 images", task, b.Size())
		}
		plot := decode(t, filepath.Join(out, "psnr-"+task+".png"))
		if b := plot.Bounds(); b.Dx() < 200 || b.Dy() < 150 {
			t.Errorf("psnr-%s.png is %v", task, b.Size())
		}
	}
	if left, _ := filepath.Glob(filepath.Join(out, ".*.tmp")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestEvalCasesJSON keeps the one-task form, --cases CASES/TASK with --json,
// writing the row's object as before.
func TestEvalCasesJSON(t *testing.T) {
	set := tinyCases(t)
	dir := t.TempDir()
	jsonOut := filepath.Join(dir, "denoise.json")
	code, stdout, stderr := restore(t, nil, "eval", "--cases", filepath.Join(set, "denoise25"), "--steps", "1", "--limit", "1",
		"--out", filepath.Join(dir, "eval"), "--json", jsonOut, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("--quiet, yet stderr says: %s", stderr)
	}
	if !strings.Contains(stdout, "| denoise25 ") {
		t.Errorf("stdout lacks the denoise25 row:\n%s", stdout)
	}
	var rep struct {
		Task        string  `json:"task"`
		Evaluations int     `json:"evaluations"`
		Cases       int     `json:"cases"`
		PSNR        float64 `json:"mean_psnr"`
	}
	data, err := os.ReadFile(jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Task != "denoise25" || rep.Evaluations != 1 || rep.Cases != 1 || !finite(rep.PSNR) {
		t.Errorf("--json: %+v", rep)
	}
}

// TestEvalSamples scores the spread map of several samples: the default
// denoising preset draws them beside its estimate, so the row's PSNR is the
// single run's, its evaluations the estimate's and the samples' together,
// and every image gets a positive calibration ratio and a correlation.
func TestEvalSamples(t *testing.T) {
	set := tinyCases(t)
	dir := t.TempDir()
	run := func(samples string) map[string]any {
		t.Helper()
		out := filepath.Join(dir, "s"+samples+".json")
		code, stdout, stderr := restore(t, nil, "eval", "--cases", filepath.Join(set, "denoise25"), "--steps", "2",
			"--samples", samples, "--out", filepath.Join(dir, "eval"+samples), "--json", out, "--quiet")
		if code != 0 {
			t.Fatalf("--samples %s: exit %d: %s", samples, code, stderr)
		}
		if strings.Contains(stdout, "error / spread") != (samples != "1") {
			t.Errorf("--samples %s: table header:\n%s", samples, stdout)
		}
		var rep map[string]any
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &rep); err != nil {
			t.Fatal(err)
		}
		return rep
	}
	one, three := run("1"), run("3")
	if one["mean_psnr"] != three["mean_psnr"] || three["evaluations"] != 14.0 {
		t.Errorf("--samples 3: PSNR %v (one sample: %v), %v evaluations (want 14: the estimate's 2, 2 for each of 3 samples re-noised beside it and for each of 3 restorations of it re-measured)",
			three["mean_psnr"], one["mean_psnr"], three["evaluations"])
	}
	if _, ok := one["mean_calibration"]; ok {
		t.Errorf("one sample, yet a calibration: %v", one)
	}
	for _, row := range three["rows"].([]any) {
		r := row.(map[string]any)
		cal, ok1 := r["calibration"].(float64)
		corr, ok2 := r["spread_error_correlation"].(float64)
		nll, ok3 := r["spread_nll"].(float64)
		// The NLL is at least that of 8-bit rounding alone, ½ln(2π/12) ≈ −0.32.
		if !ok1 || !ok2 || !ok3 || !(cal > 0) || corr < -1 || corr > 1 || !(nll >= -0.33) {
			t.Errorf("%v: calibration %v, correlation %v, NLL %v", r["name"], r["calibration"], r["spread_error_correlation"], r["spread_nll"])
		}
		if _, ok := r["spread_skill_slope"].(float64); !ok {
			t.Errorf("%v: skill slope %v", r["name"], r["spread_skill_slope"])
		}
	}
	// The tenths: the map's RMS rises from one to the next, and the pooled
	// slope is drawn from them.
	skill, _ := three["spread_skill"].([]any)
	if len(skill) != spreadBins {
		t.Fatalf("spread_skill: %v; want %d tenths", three["spread_skill"], spreadBins)
	}
	prev := -1.0
	for i, b := range skill {
		m := b.(map[string]any)
		s, e := m["spread"].(float64), m["error"].(float64)
		if !(s >= prev) || !(e > 0) {
			t.Errorf("tenth %d: spread %v after %v, error %v", i, m["spread"], prev, m["error"])
		}
		prev = s
	}
	if _, ok := three["spread_skill_slope"].(float64); !ok {
		t.Errorf("pooled skill slope %v", three["spread_skill_slope"])
	}
	if _, ok := one["spread_skill"]; ok {
		t.Errorf("one sample, yet spread tenths: %v", one["spread_skill"])
	}
	for samples, want := range map[string]bool{"1": false, "3": true} {
		_, err := os.Stat(filepath.Join(dir, "eval"+samples, "spread-denoise25.png"))
		if (err == nil) != want {
			t.Errorf("--samples %s: spread-denoise25.png: %v (want it: %v)", samples, err, want)
		}
	}
}

// TestEvalBadUsage checks that mistakes end in a one-line message and exit 2,
// before anything is restored or written.
func TestEvalBadUsage(t *testing.T) {
	set := tinyCases(t)
	out := filepath.Join(t.TempDir(), "eval")
	var methods []string
	for _, m := range host.Methods() {
		methods = append(methods, m.Name)
	}
	tests := []struct {
		name string
		args []string
		want []string // in the one-line message
	}{
		{"unknown task", []string{"--set", set, "--task", "denoise52"}, []string{`"denoise52"`, "denoise25, inpaint_box16", `did you mean "denoise25"`}},
		{"unknown task in a list", []string{"--set", set, "--task", "denoise25,deblur"}, []string{`"deblur"`, "denoise25, inpaint_box16"}},
		{"unknown method", []string{"--set", set, "--method", "difpir"}, []string{`"difpir"`, "methods: " + strings.Join(methods, ", "), `did you mean "diffpir"`}},
		{"no set", []string{"--task", "denoise25"}, []string{"--set", "make_cases.py"}},
		{"set without tasks", []string{"--set", t.TempDir()}, []string{"manifest.json"}},
		{"missing set", []string{"--set", filepath.Join(set, "nope")}, []string{"nope"}},
		{"set and cases", []string{"--set", set, "--cases", filepath.Join(set, "denoise25")}, []string{"not both"}},
		{"negative steps", []string{"--set", set, "--steps", "3,-1"}, []string{"--steps -1"}},
		{"steps not a number", []string{"--set", set, "--steps", "many"}, []string{"many"}},
		{"nothing matches", []string{"--set", set, "--match", "zebra"}, []string{"zebra"}},
		{"bad param", []string{"--set", set, "--param", "zeta"}, []string{"name=value"}},
		{"no samples", []string{"--set", set, "--samples", "0"}, []string{"--samples 0"}},
		{"unknown flag", []string{"--set", set, "--limt", "2"}, []string{"did you mean --limit"}},
		{"restore-only flag", []string{"--set", set, "--noise", "25"}, []string{"--noise"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := restore(t, nil, append([]string{"eval", "--out", out}, tc.args...)...)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr: %s", code, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if len(lines) != 1 {
				t.Fatalf("want a one-line message, got:\n%s", stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(lines[0], w) {
					t.Errorf("message %q does not mention %q", lines[0], w)
				}
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was created", out)
			}
		})
	}
}

// TestFillSharpness checks the ratio on synthetic fills of a noise texture.
func TestFillSharpness(t *testing.T) {
	const n = 80
	rng := rand.New(rand.NewPCG(1, 2))
	texture := image.NewNRGBA(image.Rect(0, 0, n, n))
	for i := range texture.Pix {
		texture.Pix[i] = uint8(64 + rng.IntN(128))
		if i%4 == 3 {
			texture.Pix[i] = 255
		}
	}
	hole := image.Rect(30, 30, 54, 54)
	missing := make([]bool, n*n)
	for y := hole.Min.Y; y < hole.Max.Y; y++ {
		for x := hole.Min.X; x < hole.Max.X; x++ {
			missing[y*n+x] = true
		}
	}
	fill := func(src func(x, y int) color.NRGBA) image.Image {
		img := image.NewNRGBA(texture.Rect)
		copy(img.Pix, texture.Pix)
		for y := hole.Min.Y; y < hole.Max.Y; y++ {
			for x := hole.Min.X; x < hole.Max.X; x++ {
				img.SetNRGBA(x, y, src(x, y))
			}
		}
		return img
	}
	blurred := func(x, y int) color.NRGBA { // a 5×5 box mean of the texture
		var s [3]int
		for dy := -2; dy <= 2; dy++ {
			for dx := -2; dx <= 2; dx++ {
				c := texture.NRGBAAt(x+dx, y+dy)
				s[0], s[1], s[2] = s[0]+int(c.R), s[1]+int(c.G), s[2]+int(c.B)
			}
		}
		return color.NRGBA{uint8(s[0] / 25), uint8(s[1] / 25), uint8(s[2] / 25), 255}
	}
	tests := []struct {
		name    string
		img     image.Image
		missing []bool
		lo, hi  float64
		wantNaN bool
	}{
		{name: "flat fill", img: fill(func(int, int) color.NRGBA { return color.NRGBA{128, 128, 128, 255} }), missing: missing, lo: 0, hi: 1e-9},
		{name: "the texture itself", img: texture, missing: missing, lo: 0.9, hi: 1.1},
		{name: "texture copied from elsewhere", img: fill(func(x, y int) color.NRGBA { return texture.NRGBAAt(x-28, y-28) }), missing: missing, lo: 0.9, hi: 1.1},
		{name: "blurred fill", img: fill(blurred), missing: missing, lo: 0.05, hi: 0.5},
		{name: "no hole", img: texture, missing: make([]bool, n*n), wantNaN: true},
		{name: "mask of another size", img: texture, missing: make([]bool, 10), wantNaN: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := fillSharpness(tc.img, tc.missing)
			t.Logf("ratio %.3f (inside %.2f, ring %.2f)", s.Ratio, s.Inside, s.Ring)
			if tc.wantNaN {
				if !math.IsNaN(s.Ratio) {
					t.Fatalf("ratio %v, want NaN", s.Ratio)
				}
				return
			}
			if s.Ratio < tc.lo || s.Ratio > tc.hi {
				t.Fatalf("ratio %.3f (inside %.2f over %d px, ring %.2f over %d px), want in [%g, %g]",
					s.Ratio, s.Inside, s.InsideN, s.Ring, s.RingN, tc.lo, tc.hi)
			}
			// The 24×24 hole less its edge, where the stencil reaches out, and
			// the 16-px frame around it less the 4×24 pixels beside the hole.
			if wantIn, wantRing := 22*22, 56*56-24*24-4*24; s.InsideN != wantIn || s.RingN != wantRing {
				t.Errorf("counted %d pixels inside and %d in the ring, want %d and %d", s.InsideN, s.RingN, wantIn, wantRing)
			}
		})
	}
}

// TestDilateBox checks the ring's square neighbourhood on small masks.
func TestDilateBox(t *testing.T) {
	const w, h = 7, 5
	set := make([]bool, w*h)
	set[2*w+0] = true // (0, 2)
	set[0*w+6] = true // (6, 0)
	got := dilateBox(set, w, h, 1)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			want := (x <= 1 && y >= 1 && y <= 3) || (x >= 5 && y <= 1)
			if got[y*w+x] != want {
				t.Errorf("(%d, %d): %v, want %v", x, y, got[y*w+x], want)
			}
		}
	}
}

// TestAxisTicks checks that the plot's ticks are round and span the data.
func TestAxisTicks(t *testing.T) {
	tests := []struct {
		vs      []float64
		minStep float64
	}{
		{[]float64{3, 10, 20}, 1},
		{[]float64{26.73, 26.75}, 0},
		{[]float64{5}, 1},
		{[]float64{1, 1000}, 1},
	}
	for _, tc := range tests {
		ticks, lo, hi, _ := axisTicks(tc.vs, tc.minStep)
		if len(ticks) < 2 || len(ticks) > 12 || ticks[0] != lo || ticks[len(ticks)-1] != hi {
			t.Errorf("%v: ticks %v, range [%g, %g]", tc.vs, ticks, lo, hi)
		}
		for _, v := range tc.vs {
			if v < lo || v > hi {
				t.Errorf("%v: %g is outside [%g, %g]", tc.vs, v, lo, hi)
			}
		}
		if tc.minStep == 1 {
			for _, tk := range ticks {
				if tk != math.Round(tk) {
					t.Errorf("%v: tick %g is not a whole number of evaluations", tc.vs, tk)
				}
			}
		}
	}
}

// TestSpreadScores checks the map's scores on a two-pixel image whose error
// (3 levels in every channel at the first pixel, none at the second) the
// map gives exactly, half of it, or twice it.
func TestSpreadScores(t *testing.T) {
	clean := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	result := image.NewNRGBA(clean.Rect)
	for i := range clean.Pix {
		clean.Pix[i], result.Pix[i] = 100, 100
	}
	for c := range 3 {
		result.Pix[c] = 103
	}
	nllOf := func(s float64) float64 { // nats per value, k = ∞
		v0, v1 := s*s+1.0/12, 1.0/12
		return (0.5*math.Log(2*math.Pi*v0) + 9/(2*v0) + 0.5*math.Log(2*math.Pi*v1)) / 2
	}
	for _, tc := range []struct {
		name     string
		map0     float32 // the map at the first pixel (0 at the second)
		k        float64
		wantCal  float64
		wantCorr float64
	}{
		{"exact", 3, math.Inf(1), 1, 1},
		{"half", 1.5, math.Inf(1), 2, 1},
		{"twice", 6, math.Inf(1), 0.5, 1},
		{"mean of 3", 3, 3, math.Sqrt(0.75), 1},
	} {
		std := sdk.NewTensor(1, 1, 2)
		std.Data[0] = tc.map0
		sc := spreadScores(clean, result, std, tc.k)
		cal, corr, nll := sc.calibration, sc.corr, sc.nll
		wantNLL := nllOf(float64(tc.map0) * math.Sqrt(1+1/tc.k))
		if math.Abs(cal-tc.wantCal) > 1e-9 || math.Abs(corr-tc.wantCorr) > 1e-9 || math.Abs(nll-wantNLL) > 1e-9 {
			t.Errorf("%s: calibration %g, correlation %g, NLL %g; want %g, %g, %g", tc.name, cal, corr, nll, tc.wantCal, tc.wantCorr, wantNLL)
		}
	}
	// A proper score: the map that matches the error scores best.
	score := func(s float32) float64 {
		std := sdk.NewTensor(1, 1, 2)
		std.Data[0] = s
		return spreadScores(clean, result, std, math.Inf(1)).nll
	}
	if exact, half, twice := score(3), score(1.5), score(6); !(exact < half && exact < twice) {
		t.Errorf("NLL %g for the exact map, %g for half, %g for twice", exact, half, twice)
	}
}

// TestSpreadBins checks the tenths of a 40-pixel image whose map and error
// both grow along it (in reverse order, so the ranking is exercised): each
// tenth holds the four pixels of its rank, and the map that is the error
// has a skill slope of 1.
func TestSpreadBins(t *testing.T) {
	const n = 40
	clean := image.NewNRGBA(image.Rect(0, 0, n, 1))
	result := image.NewNRGBA(clean.Rect)
	std := sdk.NewTensor(1, 1, n)
	for p := range n {
		e := uint8(2 + (n-1-p)/4*3) // 2, 5, …, 29 by tenth, highest first
		for c := range 3 {
			clean.Pix[4*p+c], result.Pix[4*p+c] = 100, 100+e
		}
		clean.Pix[4*p+3], result.Pix[4*p+3] = 255, 255
		std.Data[p] = float32(e)
	}
	sc := spreadScores(clean, result, std, math.Inf(1))
	for i, b := range sc.bins {
		e := float64(2 + 3*i)
		if b.pixels != 4 || b.variance != 4*e*e || b.squaredError != 4*e*e {
			t.Errorf("tenth %d: %+v; want 4 pixels of map and error %g", i, b, e)
		}
	}
	if got := sc.slope(); math.Abs(got-1) > 1e-9 {
		t.Errorf("skill slope %g; want 1", got)
	}
}

// TestSpreadSlope checks the fit on pooled tenths.
func TestSpreadSlope(t *testing.T) {
	bins := func(variance, squaredError func(i float64) float64) []spreadBin {
		b := make([]spreadBin, spreadBins)
		for i := range b {
			x := float64(i + 1)
			b[i] = spreadBin{variance: 100 * (variance(x) - 1.0/12), squaredError: 100 * (squaredError(x) - 1.0/12), pixels: 100}
		}
		return b
	}
	for _, tc := range []struct {
		name string
		bins []spreadBin
		want float64
	}{
		{"calibrated", bins(func(x float64) float64 { return x * x }, func(x float64) float64 { return x * x }), 1},
		{"twice too small", bins(func(x float64) float64 { return x * x }, func(x float64) float64 { return 4 * x * x }), 1},
		{"says nothing of where", bins(func(x float64) float64 { return x * x }, func(float64) float64 { return 9 }), 0},
		{"exaggerates", bins(func(x float64) float64 { return x * x * x * x }, func(x float64) float64 { return x * x }), 0.5},
		{"flat map", bins(func(float64) float64 { return 4 }, func(x float64) float64 { return x * x }), math.NaN()},
		{"one bin", []spreadBin{{1, 1, 1}}, math.NaN()},
	} {
		got := spreadSlope(tc.bins)
		if math.IsNaN(tc.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tc.want) > 1e-9) {
			t.Errorf("%s: slope %g; want %g", tc.name, got, tc.want)
		}
	}
}

// TestEvalEstimateNoise: with --estimate-noise the host estimates each
// photo's noise level, as restore does without --noise, and table.json
// records it per image; without it the manifest's level is used and none
// is recorded.
func TestEvalEstimateNoise(t *testing.T) {
	set := tinyCases(t)
	dir := t.TempDir()
	for _, estimate := range []bool{false, true} {
		out := filepath.Join(dir, fmt.Sprintf("est-%v.json", estimate))
		args := []string{"eval", "--cases", filepath.Join(set, "denoise25"), "--steps", "1", "--out", filepath.Join(dir, "eval"), "--json", out}
		if estimate {
			args = append(args, "--estimate-noise")
		}
		code, stdout, stderr := restore(t, nil, args...)
		if code != 0 {
			t.Fatalf("--estimate-noise=%v: exit %d: %s", estimate, code, stderr)
		}
		if strings.Contains(stdout, "noise (estimated)") != estimate {
			t.Errorf("--estimate-noise=%v: table header:\n%s", estimate, stdout)
		}
		var rep struct {
			Rows []map[string]any `json:"rows"`
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &rep); err != nil {
			t.Fatal(err)
		}
		if len(rep.Rows) != 2 {
			t.Fatalf("--estimate-noise=%v: %d images, want 2", estimate, len(rep.Rows))
		}
		for _, r := range rep.Rows {
			noise, ok := r["noise"].(float64)
			if ok != estimate || estimate && math.Abs(noise-25) > 4 {
				t.Errorf("--estimate-noise=%v: %v: noise %v; want %v, near 25", estimate, r["name"], r["noise"], estimate)
			}
		}
	}
}
