package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/restorekit/restore/internal/imageio"
)

// metric is a score that JSON writes as a number, or null when it is not
// finite (PSNR of an exact copy, a ratio with nothing to divide by).
type metric float64

// MarshalJSON writes finite values as numbers and the rest as null.
func (m metric) MarshalJSON() ([]byte, error) {
	f := float64(m)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// IsZero makes omitzero leave out a score that was not computed (NaN).
func (m metric) IsZero() bool { return math.IsNaN(float64(m)) }

// evalRow is one restored case.
type evalRow struct {
	Name        string `json:"name"`
	InputPSNR   metric `json:"input_psnr"`
	PSNR        metric `json:"psnr"`
	SSIM        metric `json:"ssim"`
	Seconds     metric `json:"seconds"`
	Evaluations int    `json:"evaluations"`
	// Noise is the noise level the host estimated (eval --estimate-noise),
	// in 8-bit levels.
	Noise metric `json:"noise,omitzero"`
	// FillSharpness is the result's fill sharpness (inpainting only; see
	// fillSharpness), CleanFillSharpness the clean image's under the same mask.
	FillSharpness      metric `json:"fill_sharpness,omitzero"`
	CleanFillSharpness metric `json:"clean_fill_sharpness,omitzero"`
	// Calibration, SpreadErrorCorrelation, SpreadNLL and SpreadSkillSlope
	// score the spread map of a run with several samples (see spreadScores
	// and spreadSlope).
	Calibration            metric `json:"calibration,omitzero"`
	SpreadErrorCorrelation metric `json:"spread_error_correlation,omitzero"`
	SpreadNLL              metric `json:"spread_nll,omitzero"`
	SpreadSkillSlope       metric `json:"spread_skill_slope,omitzero"`
	// spreadBins are the map's tenths, for the report to pool.
	spreadBins [spreadBins]spreadBin
}

// evalReport is one (task, method, steps) combination: a row of the table.
type evalReport struct {
	Task       string   `json:"task"`
	Method     string   `json:"method"`
	Solver     string   `json:"solver"`
	Guidance   string   `json:"guidance"`
	Steps      int      `json:"evaluations"`
	StepsAsked int      `json:"steps"` // --steps; 0: the method's
	Params     []string `json:"params,omitempty"`
	Cases      int      `json:"cases"`
	InputPSNR  metric   `json:"mean_input_psnr"`
	PSNR       metric   `json:"mean_psnr"`
	SSIM       metric   `json:"mean_ssim"`
	Seconds    metric   `json:"mean_seconds"`
	// Noise averages the images' estimated noise levels (eval
	// --estimate-noise).
	Noise metric `json:"mean_noise,omitzero"`
	// FillSharpness and CleanFillSharpness average the images' ratios
	// (those with one) for inpainting tasks.
	FillSharpness      metric `json:"mean_fill_sharpness,omitzero"`
	CleanFillSharpness metric `json:"mean_clean_fill_sharpness,omitzero"`
	// Samples is --samples; Calibration, SpreadErrorCorrelation and
	// SpreadNLL average the images' scores when it is 2 or more.
	Samples                int    `json:"samples"`
	Calibration            metric `json:"mean_calibration,omitzero"`
	SpreadErrorCorrelation metric `json:"mean_spread_error_correlation,omitzero"`
	SpreadNLL              metric `json:"mean_spread_nll,omitzero"`
	// SpreadSkill pools the images' pixels by tenths of their maps (the
	// lowest tenth of each image together, and so on): the map's RMS there
	// and the RMS error; SpreadSkillSlope is spreadSlope of those pools.
	SpreadSkill      []spreadSkill `json:"spread_skill,omitempty"`
	SpreadSkillSlope metric        `json:"spread_skill_slope,omitzero"`
	Rows             []evalRow     `json:"rows"`
}

// evalTable is table.json.
type evalTable struct {
	Set       string        `json:"set"`
	Seed      uint64        `json:"seed"`
	Sharpness string        `json:"fill_sharpness"`
	Rows      []*evalReport `json:"rows"`
}

// sharpnessDoc says in table.json what the fill sharpness numbers are.
const sharpnessDoc = "inpainting only: mean gradient magnitude (central differences on 8-bit Rec. 601 luminance) " +
	"inside the mask's hole over that in the ring of known pixels within 16 px (Chebyshev) of it, " +
	"each counted where the whole difference stencil lies in its region; clean_ is the clean image's under the same mask"

// summarise fills in the means over the rows.
func (r *evalReport) summarise(inpaint bool) {
	r.Cases = len(r.Rows)
	r.FillSharpness, r.CleanFillSharpness = metric(math.NaN()), metric(math.NaN())
	r.Calibration = meanFinite(r.Rows, func(row evalRow) metric { return row.Calibration })
	r.SpreadErrorCorrelation = meanFinite(r.Rows, func(row evalRow) metric { return row.SpreadErrorCorrelation })
	r.SpreadNLL = meanFinite(r.Rows, func(row evalRow) metric { return row.SpreadNLL })
	r.Noise = meanFinite(r.Rows, func(row evalRow) metric { return row.Noise })
	pooled := poolSpreadBins(r.Rows)
	r.SpreadSkill, r.SpreadSkillSlope = skillOf(pooled), metric(spreadSlope(pooled))
	if r.Cases == 0 {
		r.InputPSNR, r.PSNR, r.SSIM, r.Seconds = metric(math.NaN()), metric(math.NaN()), metric(math.NaN()), metric(math.NaN())
		return
	}
	r.InputPSNR, r.PSNR, r.SSIM, r.Seconds = 0, 0, 0, 0
	for _, row := range r.Rows {
		r.InputPSNR += row.InputPSNR
		r.PSNR += row.PSNR
		r.SSIM += row.SSIM
		r.Seconds += row.Seconds
	}
	n := metric(r.Cases)
	r.InputPSNR /= n
	r.PSNR /= n
	r.SSIM /= n
	r.Seconds /= n
	if inpaint {
		r.FillSharpness = meanFinite(r.Rows, func(row evalRow) metric { return row.FillSharpness })
		r.CleanFillSharpness = meanFinite(r.Rows, func(row evalRow) metric { return row.CleanFillSharpness })
	}
}

// meanFinite averages the finite values of a column; NaN if there are none.
func meanFinite(rows []evalRow, get func(evalRow) metric) metric {
	sum, n := 0.0, 0
	for _, row := range rows {
		if v := float64(get(row)); !math.IsNaN(v) && !math.IsInf(v, 0) {
			sum += v
			n++
		}
	}
	if n == 0 {
		return metric(math.NaN())
	}
	return metric(sum / float64(n))
}

// markdownTable renders the rows as the Markdown table that eval prints and
// writes to table.md, with a note on fill sharpness when a row has it, and
// the spread map's scores when a row drew several samples.
func markdownTable(rows []*evalReport) string {
	var b strings.Builder
	spread, noise := false, false
	for _, r := range rows {
		spread = spread || r.Samples > 1
		noise = noise || !r.Noise.IsZero()
	}
	tw := tabwriter.NewWriter(&b, 0, 4, 1, ' ', 0)
	head, rule := "| task\t| method\t| solver + guidance\t| evaluations\t| cases\t| input PSNR\t| PSNR\t| SSIM\t| s/img\t| fill sharpness\t|",
		"|---\t|---\t|---\t|---\t|---\t|---\t|---\t|---\t|---\t|---\t|"
	if noise {
		head, rule = head+" noise (estimated)\t|", rule+"---\t|"
	}
	if spread {
		head, rule = head+" samples\t| error / spread\t| spread–error corr.\t| NLL\t| skill slope\t|", rule+"---\t|---\t|---\t|---\t|---\t|"
	}
	fmt.Fprintln(tw, head)
	fmt.Fprintln(tw, rule)
	note := false
	for _, r := range rows {
		plugins := r.Solver + " + " + r.Guidance
		if len(r.Params) > 0 {
			plugins += " (" + strings.Join(r.Params, ", ") + ")"
		}
		sharp := "-"
		if !r.FillSharpness.IsZero() || !r.CleanFillSharpness.IsZero() {
			sharp = fmt.Sprintf("%s (clean %s)", fmtMetric(r.FillSharpness, 2), fmtMetric(r.CleanFillSharpness, 2))
			note = true
		}
		fmt.Fprintf(tw, "| %s\t| %s\t| %s\t| %d\t| %d\t| %s\t| %s\t| %s\t| %s\t| %s\t|", r.Task, r.Method, plugins, r.Steps, r.Cases,
			fmtMetric(r.InputPSNR, 2), fmtMetric(r.PSNR, 2), fmtMetric(r.SSIM, 4), fmtMetric(r.Seconds, 2), sharp)
		if noise {
			fmt.Fprintf(tw, " %s\t|", fmtMetric(r.Noise, 2))
		}
		if spread {
			fmt.Fprintf(tw, " %d\t| %s\t| %s\t| %s\t| %s\t|", max(r.Samples, 1), fmtMetric(r.Calibration, 2),
				fmtMetric(r.SpreadErrorCorrelation, 2), fmtMetric(r.SpreadNLL, 3), fmtMetric(r.SpreadSkillSlope, 2))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	if note {
		b.WriteString("\nFill sharpness: mean gradient magnitude of the 8-bit luminance inside the hole over that in the\n" +
			"16-pixel ring of known pixels around it (1: as sharp as its surroundings; 0: flat), mean over the images;\n" +
			"the clean image's under the same mask in parentheses.\n")
	}
	if spread {
		b.WriteString("\nError / spread: the result's RMS error over the map's RMS (the samples' spread about the result when\n" +
			"drawn beside it; their standard deviation times √(1 + 1/K) when the result is the mean of K samples);\n" +
			"1: the map is as large as the errors; above 1: the errors are larger than it says. Spread–error corr.:\n" +
			"the correlation over pixels of the map with the RMS error (8-bit, RGB). NLL: the error's mean negative\n" +
			"log-likelihood (nats per value) under a Gaussian of the map's variance (scaled as for error / spread) plus\n" +
			"the 8-bit rounding's 1/12; it weighs both, lower is better. Skill slope: the pixels ranked by the map\n" +
			"and pooled in tenths over the images, the slope of log RMS error against log RMS spread across the\n" +
			"tenths (1: the errors grow as the map does; 0: it does not say where they are); spread-TASK.png\n" +
			"draws the tenths.\n")
	}
	return b.String()
}

// fmtMetric formats a score with prec decimals; "-" when it is NaN.
func fmtMetric(m metric, prec int) string {
	if math.IsNaN(float64(m)) {
		return "-"
	}
	return strconv.FormatFloat(float64(m), 'f', prec, 64)
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// over path once complete.
func writeFileAtomic(path string, data []byte) error {
	return imageio.WriteAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
