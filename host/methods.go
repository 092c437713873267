package host

import (
	"fmt"
	"maps"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/restorekit/restore/internal/suggest"
	"github.com/restorekit/restore/sdk/operator"
)

// Method is a preset: a solver, a guidance and their tuned settings per
// task. A Request names one in Request.Method; its Solver, Guidance, Params,
// Steps and StartSigma override any part of it.
type Method struct {
	Name    string
	Summary string
	// Paper cites where the method comes from.
	Paper string
	// Tasks holds the settings per task, tuned with `restore eval` on the
	// CBSD68 cases of ../shared/bench/make_cases.py.
	Tasks map[Task]Setting
}

// Setting is what a method uses for one task.
type Setting struct {
	Solver, Guidance string
	Steps            int // denoiser evaluations
	// Ensemble is the copies each denoiser evaluation averages over (see
	// Request.Ensemble); 0 or 1: none.
	Ensemble int
	// Cycle turns the image a different way at each evaluation (Request.Cycle).
	Cycle bool
	// Texture is inpainting's texture stage (nil: none).
	Texture *Texture
	// StartSigma is the warm start's noise level in model units ([-1, 1]);
	// 0 starts at the measurement noise itself (denoising from the photo).
	StartSigma float64
	// Params are plugin parameters, applied when the chosen plugin declares
	// them (see Request.Params for the "solver."/"guidance." prefixes).
	Params map[string]string
	// AdaptLambda scales Params' "lambda" for the blur kernel and the noise
	// (see deblurLambdaScale); a λ the request sets is used as given.
	AdaptLambda bool
	// AdaptStart replaces StartSigma when deblurring with a Gaussian-like
	// kernel, a defocus of radius 4 or more, or a motion blur in a photo
	// noisier than σ 6.375 (see deblurStartSigma); a
	// start σ the request sets is used as given.
	AdaptStart bool
	// Sampling, for a preset whose solver is an optimiser (its runs agree
	// whatever the seed, so their spread says nothing), says how it draws
	// Request.Samples beside its own estimate, which stays the result (see
	// Sampling). Nil: the samples are runs of the preset itself, and the
	// result is their mean.
	Sampling *Sampling
}

// Sampling is how an optimiser preset draws posterior samples beside its
// estimate (Setting.Sampling). Where the Texture stage runs, its sampler
// draws them, whatever this says (apartSamples).
type Sampling struct {
	// Params override the preset's solver parameters to make the same
	// solver sample (pnp's zeta), the samples otherwise run as the estimate.
	Params map[string]string
	// Method, if set, draws them instead as a restoration of its own,
	// after the estimate: that method's setting for the task, with Steps
	// evaluations from StartSigma (0: the method's start) and Params.
	Method     string
	Steps      int
	StartSigma float64
	// Bootstrap, if set, draws them instead as the estimate's own
	// restoration, as the request asks for it, of the estimate measured
	// again with fresh noise: a parametric bootstrap (Efron, 1979), whose
	// spread about the estimate is the estimator's error where the truth
	// is like the estimate (see bootstrapSamples). It needs a photo with
	// noise; Method, Steps, StartSigma and Params are then unused.
	Bootstrap bool
	// AddBootstrap draws both: the samples as Params or Method says (what
	// the prior leaves open) and a bootstrap of as many (what the photo's
	// noise does, and where the estimate is least sure of its detail). The
	// spread is the root of the sum of their two mean squares about the
	// estimate, as of two independent errors; Result.Samples holds the
	// others. A photo without noise gets the others alone (its bootstrap,
	// the estimate measured again without noise and restored, added
	// nothing: session 17, docs/tuning.md).
	AddBootstrap bool
}

// renoisedPlusBootstrap draws samples beside the estimate by re-noising
// each iterate of pnp or ddim fully (ζ = 1), and adds a bootstrap's spread
// to theirs (Sampling.AddBootstrap): deblurring's and diffpir's denoising.
var renoisedPlusBootstrap = &Sampling{Params: map[string]string{"zeta": "1"}, AddBootstrap: true}

// bootstrapSampling draws one-step denoising's samples, which has nothing
// to re-noise: the estimate restored again from itself plus fresh noise of
// the photo's level (Sampling.Bootstrap).
var bootstrapSampling = &Sampling{Bootstrap: true}

// The presets. Settings were tuned with `restore eval` on the CBSD68
// cases; the README's table gives what each reaches.
var methods = []Method{
	{
		Name:    "diffpir",
		Summary: "DDIM sampling with DiffPIR's closed-form proximal data step",
		Paper:   "Zhu et al., Denoising Diffusion Models for Plug-and-Play Image Restoration, CVPRW 2023",
		Tasks: map[Task]Setting{
			// The noisy photo is already a sample at σ = σ_y: deterministic
			// DDIM from there needs no guidance (5, 10 and 20 evaluations
			// measured within 0.05 dB of each other).
			// Cycling: 29.79 → 29.83 dB on the first 8 denoise25 cases.
			// --samples (session 16, first 4 cases, K = 4, σ 25 / 50): a
			// bootstrap of this preset (5 evaluations a sample) left the
			// errors 1.15 / 1.44 times the map, NLL 3.72 / 4.73 nats, skill
			// slope 0.46 / 0.50; session 15's 20 re-noised DDIM steps
			// (ζ = 1), 0.72 / 1.11, NLL 5.59 / 9.93, slope 0.21, in 80
			// evaluations: a map too wide at edges and too narrow in flat
			// regions (docs/tuning.md). Session 17 (first 8 cases, σ 15 /
			// 25 / 50): the bootstrap's spread plus that of this preset's
			// DDIM re-noised (ζ = 1) beside the estimate, 0.81 / 0.88 /
			// 1.17, NLL 3.170 / 3.522 / 4.241, slope 0.49 / 0.48 / 0.48;
			// the bootstrap alone 1.07 / 1.14 / 1.43, 3.283 / 3.717 /
			// 4.779, 0.44 / 0.45 / 0.45; 45 evaluations instead of 25.
			Denoise: {Solver: "ddim", Guidance: "none", Steps: 5, Cycle: true, Params: map[string]string{"zeta": "0"},
				Sampling: renoisedPlusBootstrap},
			Deblur: {Solver: "ddim", Guidance: "diffpir", Steps: 20, StartSigma: 0.15,
				Params: map[string]string{"zeta": "0.6", "lambda": "0.5"}},
			Inpaint: {Solver: "ddim", Guidance: "diffpir", Steps: 20, StartSigma: 0.2,
				Params: map[string]string{"zeta": "1"}},
			SR: {Solver: "ddim", Guidance: "diffpir", Steps: 20, StartSigma: 0.3,
				Params: map[string]string{"zeta": "0.6", "lambda": "0.5"}},
		},
	},
	{
		Name:    "dpir",
		Summary: "plug-and-play half-quadratic splitting: proximal data step, then the denoiser, no re-noising",
		Paper:   "Zhang et al., Plug-and-Play Image Restoration with Deep Denoiser Prior, TPAMI 2021",
		Tasks: map[Task]Setting{
			// One evaluation has nothing to re-noise: its samples are its
			// bootstrap, one evaluation each.
			Denoise: {Solver: "pnp", Guidance: "none", Steps: 1, Sampling: bootstrapSampling},
			// λ = 1: 28.55 dB on the first Levin cases where DPIR's own 0.23
			// gave 26.42 (3 gave 27.51); 16 evaluations were no better.
			// Scaled for the kernel and the noise: see deblurLambdaScale.
			// Start σ 0.3; Gaussian-like kernels start higher: see
			// deblurStartSigma.
			Deblur: {Solver: "pnp", Guidance: "diffpir", Steps: 8, StartSigma: 0.3,
				Params: map[string]string{"schedule": "loglinear", "lambda": "1"}, AdaptLambda: true, AdaptStart: true,
				// --samples (session 17, K = 4, first 8 cases of each
				// benchmark kernel, Gaussian / Levin): re-noised (ζ = 1)
				// beside the estimate alone, errors 1.34 / 1.47 times the
				// map, NLL 5.124 / 4.600, skill slope 0.36 / 0.18; with a
				// bootstrap's spread added, 1.25 / 1.01, 4.369 / 3.418,
				// 0.54 / 0.75, and better on all five held-out kernels
				// (docs/tuning.md), for 72 evaluations instead of 40.
				Sampling: renoisedPlusBootstrap},
			// 40 evaluations: on the first 8 random-70% cases with session
			// 4's model, 27.75 dB at 20, 27.90 at 40, 27.91 at 50 (also
			// over 20 with --ensemble 2: 27.78); box fills 26.46 → 26.51.
			// Cycling (session 8's first 8 cases): random 27.90 → 27.98 dB.
			// Deblurring and SR moved by 0.01–0.03 dB with it, less than its
			// cost in time, so they do without.
			// Texture (session 8, inpaint_box128, all 68 cases): dpir alone
			// 26.17 dB with fill sharpness 0.13; 10 steps + the detail of a
			// 40-step DDNM sample (η = 1, from σ = 5), as
			// train/texture_grid.py's grid has it: gain 1.5 of 2.5-pixel detail faded in
			// from 2 to 6 pixels 25.64, 0.65; gain 1.8 of 2-pixel detail
			// 25.60, 0.72; gain 2 of 1.5-pixel detail from 1 to 4 pixels
			// 25.61, 0.74 (from 2 to 4: 25.62, 0.73; gain 2.2 from 2 to 6:
			// 25.59, 0.77). The sample alone 25.25, 0.55.
			// Random-pixel masks never reach 8 pixels from a known one
			// (at most 5 on CBSD68's), so they keep DPIR's 40 steps.
			Inpaint: {Solver: "pnp", Guidance: "diffpir", Steps: 40, StartSigma: 0.4, Cycle: true,
				Params: map[string]string{"schedule": "loglinear"},
				Texture: &Texture{MeanSteps: 10, Method: "ddnm", Steps: 40, StartSigma: 5, Params: map[string]string{"eta": "1"},
					Scale: 1.5, Gain: 2, Near: 1, Ramp: 3, Deep: 8},
				// --samples (session 15, first 4 random-70% cases, K = 4):
				// this preset re-noised (ζ = 1) in 40 steps from σ 0.4
				// left errors 2.28 times the map (NLL 3.79 nats); fewer
				// steps from higher draw wider samples: 10 from σ 1 1.50
				// (2.77), 5 from 1 1.26 (2.56), 3 from 1 1.09 (2.48, the
				// lowest): docs/tuning.md.
				Sampling: &Sampling{Method: "dpir", Steps: 3, StartSigma: 1, Params: map[string]string{"zeta": "1"}}},
			// Start σ 0.6 (session 9, all 68 cases): sr2 29.88 at 0.3,
			// 29.90 at 0.6, 29.89 at 1; sr4 25.53, 25.58, 25.58.
			SR: {Solver: "pnp", Guidance: "diffpir", Steps: 8, StartSigma: 0.6,
				Params: map[string]string{"schedule": "loglinear", "lambda": "0.23"},
				// Samples (session 14, first 8 cases, 4 samples): drawn by
				// DDNM from σ 5, the estimate's errors are 1.55 (sr2) and
				// 1.92 (sr4) times their spread; by pnp re-noised
				// (ζ = 1), 3.12 and 5.54. Session 16 (first 4 cases,
				// NLL sr2 / sr4): from σ 1 3.769 / 5.465, 2 3.833 / 5.270,
				// 3 3.875 / 5.329, 5 3.933 / 5.513, 10 4.028 / 5.818; on 8
				// cases σ 2 gave 3.657 / 5.066 where 5 gave 3.737 / 5.287.
				Sampling: &Sampling{Method: "ddnm", Steps: 40, StartSigma: 2, Params: map[string]string{"eta": "1"}}},
		},
	},
	{
		Name:    "ddnm",
		Summary: "DDIM sampling with DDNM's range–null-space projection (DDNM+ under noise)",
		Paper:   "Wang et al., Zero-Shot Image Restoration Using Denoising Diffusion Null-Space Model, ICLR 2023",
		Tasks: map[Task]Setting{
			Denoise: {Solver: "ddim", Guidance: "ddnm", Steps: 10, Params: map[string]string{"eta": "0.85"}},
			Deblur:  {Solver: "ddim", Guidance: "ddnm", Steps: 20, StartSigma: 0.3, Params: map[string]string{"eta": "0.85"}},
			Inpaint: {Solver: "ddim", Guidance: "ddnm", Steps: 20, StartSigma: 0.3, Params: map[string]string{"eta": "0.85"}},
			SR:      {Solver: "ddim", Guidance: "ddnm", Steps: 20, StartSigma: 0.3, Params: map[string]string{"eta": "0.85"}},
		},
	},
	{
		Name:    "mpgd",
		Summary: "DDIM sampling with a gradient step on each estimate (DPS without the network's Jacobian)",
		Paper:   "He et al., Manifold Preserving Guided Diffusion, ICLR 2024",
		Tasks: map[Task]Setting{
			Denoise: {Solver: "ddim", Guidance: "mpgd", Steps: 10, Params: map[string]string{"eta": "0.5"}},
			Deblur:  {Solver: "ddim", Guidance: "mpgd", Steps: 20, StartSigma: 0.3, Params: map[string]string{"eta": "0.5", "iters": "3"}},
			Inpaint: {Solver: "ddim", Guidance: "mpgd", Steps: 20, StartSigma: 0.3, Params: map[string]string{"eta": "0.5", "iters": "3"}},
			SR:      {Solver: "ddim", Guidance: "mpgd", Steps: 20, StartSigma: 0.3, Params: map[string]string{"eta": "0.5", "iters": "3"}},
		},
	},
	{
		Name:    "daps",
		Summary: "decoupled annealing: draw x₀ from its Gaussian posterior at each level, then re-noise fully",
		Paper:   "Zhang et al., Improving Diffusion Inverse Problem Solving with Decoupled Noise Annealing, CVPR 2025",
		Tasks: map[Task]Setting{
			Denoise: {Solver: "ddim", Guidance: "daps", Steps: 10, Params: map[string]string{"zeta": "1"}},
			// r_scale 0.5 (first 3 CBSD68 cases): deblur_levin 25.72 → 26.75 dB,
			// sr4 19.58 → 24.04 dB against r_scale 1.
			Deblur:  {Solver: "ddim", Guidance: "daps", Steps: 20, StartSigma: 0.3, Params: map[string]string{"zeta": "1", "r_scale": "0.5"}},
			Inpaint: {Solver: "ddim", Guidance: "daps", Steps: 20, StartSigma: 0.3, Params: map[string]string{"zeta": "1"}},
			SR:      {Solver: "ddim", Guidance: "daps", Steps: 20, StartSigma: 0.3, Params: map[string]string{"zeta": "1", "r_scale": "0.5"}},
		},
	},
}

// DefaultMethods names each task's default preset: the one that measured
// best on the first CBSD68 cases of each task (for deblurring, on the Levin
// kernels: DPIR 28.55 dB in 8 evaluations, DiffPIR 27.77 in 20).
var DefaultMethods = map[Task]string{
	Denoise: "diffpir",
	Deblur:  "dpir",
	Inpaint: "dpir",
	SR:      "dpir",
}

// Methods returns the presets, sorted by name.
func Methods() []Method {
	out := make([]Method, len(methods))
	for i, m := range methods {
		out[i] = m.clone()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// clone returns a copy of m the caller may change without changing the
// preset: its settings, their parameters and texture stages copied.
func (m Method) clone() Method {
	m.Tasks = maps.Clone(m.Tasks)
	for t, st := range m.Tasks {
		st.Params = maps.Clone(st.Params)
		if st.Texture != nil {
			tex := *st.Texture
			tex.Params = maps.Clone(tex.Params)
			st.Texture = &tex
		}
		m.Tasks[t] = st
	}
	return m
}

// LookupMethod returns the named preset.
func LookupMethod(name string) (Method, bool) {
	for _, m := range methods {
		if m.Name == name {
			return m.clone(), true
		}
	}
	return Method{}, false
}

// methodSetting resolves a request's preset for its task.
func methodSetting(name string, task Task) (string, Setting, error) {
	if name == "" {
		name = DefaultMethods[task]
	}
	m, ok := LookupMethod(name)
	if !ok {
		names := make([]string, len(methods))
		for i, m := range methods {
			names[i] = m.Name
		}
		sort.Strings(names)
		hint := ""
		if s := suggest.Closest(name, names); s != "" {
			hint = fmt.Sprintf("; did you mean %q?", s)
		}
		return "", Setting{}, fmt.Errorf("%w: unknown method %q (methods: %s)%s", ErrBadInput, name, strings.Join(names, ", "), hint)
	}
	s, ok := m.Tasks[task]
	if !ok {
		return "", Setting{}, fmt.Errorf("%w: method %s has no settings for task %s", ErrBadInput, name, task)
	}
	s.Params = maps.Clone(s.Params)
	return name, s, nil
}

// deblurLambdaScale is the factor deblurring presets with AdaptLambda
// apply to their λ, for the operator and the noise level σ (8-bit units).
// Measured with dpir on all 68 CBSD68 images of each cross of kernel and
// noise (train/extra_cases.py --cross; 8 evaluations, each kind at its
// start σ of deblurStartSigma; λ 0.25 / 0.35 / 0.5 / 0.7 / 1, dB):
//
//	Levin kernels, σ 2.55 (deblur_levin):            26.97 /   -   / 29.77 / 30.09 / 29.94 (0.6: 30.01, 0.85: 30.06)
//	Levin kernels, σ 6.375:                          23.69 / 26.27 / 28.11 / 27.83 / 27.22 (0.6: 28.04)
//	Gaussian σ = 3 kernel, σ 6.375 (deblur_gauss):   25.11 /   -   / 25.00 /   -   / 24.80
//	Gaussian σ = 3 kernel, σ 2.55:                   25.72 /   -   / 25.59 /   -   / 25.40
//	disk of radius 4, σ 2.55:                          -   /   -   / 28.41 /   -   / 27.26
//	disk of radius 4, σ 6.375:                       26.13 / 26.48 / 26.01 /   -   /   -
//	disk of radius 6, σ 2.55:                          -   /   -   / 25.79 /   -   / 25.48
//
// A kernel that only attenuates (operator.Blur.Attenuates) and passes
// little of the spectrum (operator.Blur.PassShare(0.1) under 1/8: a
// Gaussian of std 2 or more) wants a small λ, trusting the measurement,
// whatever the noise. A motion blur (a kernel spread along a path:
// operator.Blur.Compactness under 5) needs the prior more: 0.7 up to σ =
// 2.55 (session 10 had 1, on a coarser grid), falling as a power of σ to
// 0.5 at σ = 6.375 and held there up to σ 12.75. Checked on eight random
// camera shakes held out from it (train/extra_cases.py --shake, all 68
// images): at σ 2.55 28.50 dB at λ 1, 28.71 at 0.7; at σ 6.375 27.16 at
// 0.5, 26.98 at 0.6. In noisier photos, which start higher
// (deblurStartSigma), motion wants more of the prior again: past σ 12.75
// its λ grows as the square root of σ, but for thin strokes (below).
// Session 13, first 20 images (train/extra_cases.py --noisy), λ 0.5 /
// 0.6 / 0.7 / 0.85 / 1 (dB; at σ 12.75 λ 0.55 gave 26.62 and 26.04):
//
//	Levin's kernels, σ 12.75:  26.46 / 26.59 / 26.41 / 26.11 / 25.88
//	random shakes, σ 12.75:    26.09 / 25.95 / 25.75 / 25.51 / 25.31
//	Levin's kernels, σ 20:     24.64 / 25.42 / 25.45 / 25.26 / 25.08
//	random shakes, σ 20:       24.83 / 25.00 / 24.90 / 24.72 / 24.57
//
// Held out from that (first 20 images, session 12's λ 0.5 → this rule's):
// Levin's kernels at σ 16 25.62 → 26.00 and at σ 25 23.60 → 24.91, the
// shakes at σ 25 24.04 → 24.44. Two thin lines lost (23 px at 60°, σ 16:
// 23.80 → 23.75; 15 px at 40°, σ 20: 24.60 → 24.49), as session 12's
// 17-pixel line at σ 12.75 had wanted less λ, not more (24.69 at 0.35,
// 24.52 at 0.5, 24.33 at 0.7, from start 0.3), so thin strokes keep 0.5.
//
// Kernels spread over an area
// (Compactness 5 or more: defocus disks, boxes, narrower Gaussians) get
// half the square root of the noise factor (1 up to σ 2.55, 0.5 from
// 6.375): 0.5 and 0.35; but a moderate defocus (PassShare from strongShare
// to defocusShare: a disk of radius 4, a 9×9 box), which starts at 0.6
// (deblurStartSigma), keeps 0.5 at any noise (session 12: there λ 0.35
// lost 1 dB at σ 6.375). Checked on kernels the rule was not set on
// (train/extra_cases.py --defocus, σ 2.55 but the fourth; the rule before
// this one gave λ 1 to all but the Gaussians and the fourth, 0.5):
//
//	disk of radius 2 / 3 / 8:  30.53 → 31.29, 28.55 → 29.70, 24.81 → 25.41 dB (λ 0.5)
//	7×7 box:                   27.70 → 28.61 dB (λ 0.5)
//	disk of radius 6, σ 6.375: 24.65 → 24.90 dB (λ 0.35)
//	Gaussian of std 1.5:       28.53 → 29.23 dB (λ 0.5; 1: 28.81; PassShare 0.16)
//	Gaussian of std 2 / 2.5:   27.53 / 26.50 dB at λ 0.25 (0.5: 27.44 / 26.34; PassShare 0.09 / 0.06)
//
// Straight lines one pixel thin (what --blur motion:L@A draws; minor
// width under thinLine) are another matter: their best λ grows with the
// rows or columns they step across (the smaller of operator.Blur.
// AxisWidths), not with their length. Session 11 swept λ on the first 20
// images of eleven lines (train/extra_cases.py --defocus and --motion; σ
// 2.55, best λ): 7 px at 0° 0.7 (33.25 dB; 1: 32.87), 25 px at 0° ≤ 0.7
// (27.50; 1: 27.01), 5 at 60° and 9 at 110° (2.7 and 3 steps) 0.7–1, 11
// at 30°, 15 at 70°, 31 at 10° (5.1–5.6 steps) 1–1.5, 17 at 135° and 35
// at 160° (12 steps) 2.3 / 3.2 or more, 21 at 45° (14.9 steps) 4 or more
// (24.47; 1: 23.23). So at σ 2.55 a thin line gets 0.7 · 2^(steps/6),
// and the boost fades to none at σ 6.375, where two lines of 4.5 steps
// (25 px at 100°, 13 at 20°) wanted 0.35–0.5 like Levin's kernels. On six
// lines held out from that fit (--motion's second round, first 20 images,
// session 10's λ → this rule's): 19 px at 25° 25.82 → 25.88, 13 at 45°
// 27.46 → 27.39, 41 at 5° 23.25 → 23.33, 27 at 120° 22.69 → 23.76, 11 at
// 90° 30.44 → 30.98, 21 at 150° at σ 4 25.00 → 24.93 dB.
//
// The boost first faded linearly in log σ (half of it left at σ 4). At σ
// 4 three lines (train/extra_cases.py --midlines; first 20 images) wanted
// far less: λ 0.59 (no boost) / the linear fade's / others gave 21 px at
// 45° 25.06 / 24.99 (1.42) / 25.11 at 1, 24.81 at 2; 17 at 135° 25.65 /
// 25.53 (1.21) / 25.66 at 0.85; 11 at 30° 28.28 / 28.17 (0.83). Session 13
// squares the fade (a quarter left at σ 4): 25.12, 25.66, 28.26, and held
// out from that, 21 at 150° at σ 4 24.93 → 25.00, 19 at 25° at σ 3.2
// 25.83 → 25.88, 27 at 120° at σ 5 24.09 → 24.16.
//
// Past σ 12.75 thin strokes keep 0.5 where other motion's λ rises: held
// out (train/extra_cases.py --thinheavy, session 14, first 20 images),
// 0.5 against the rise gave 13 px at 75° at σ 16 25.62 / 25.53 dB, 25 at
// 150° at σ 25 22.99 / 22.87, 19 at 10° at σ 14 25.10 / 25.05.
func deblurLambdaScale(op operator.Operator, sigma8 float64) float64 {
	noise := 1.0 // falls from 1 at σ 2.55 to 0.5 at 6.375, and no further
	if sigma8 > 2.55 {
		noise = math.Max(0.5, math.Pow(2.55/sigma8, math.Log(2)/math.Log(6.375/2.55)))
	}
	// A motion blur's λ: 0.7 at σ 2.55, 0.5 from 6.375 to 12.75, then
	// (but for thin strokes) rising as the square root of σ: 0.63 at σ 20.
	motion := 0.7 * math.Pow(noise, math.Log(0.7/0.5)/math.Log(2))
	rise := 1.0
	if sigma8 > 12.75 {
		rise = math.Sqrt(sigma8 / 12.75)
	}
	b, ok := op.(*operator.Blur)
	if !ok {
		return motion * rise
	}
	switch share := b.PassShare(0.1); {
	case b.Attenuates() && share < 1.0/8:
		return 0.25
	case b.Compactness() >= 5 && share >= strongShare && (share < defocusShare || !b.Attenuates() && sigma8 >= mildNoise):
		// A moderate defocus starts at 0.6 whatever the noise, a mild
		// one from σ mildNoise (deblurStartSigma), and from there a
		// smaller λ lets the amplified noise through as texture.
		return 0.5
	case b.Compactness() >= 5:
		return 0.5 * math.Sqrt(noise)
	}
	if _, minor := b.Widths(); minor < thinLine {
		// A thin stroke: twice the λ for every 6 rows or columns
		// it steps across, at σ 2.55 and below, fading to none at 6.375
		// (as the square of log σ's way there: a quarter left at σ 4).
		x, y := b.AxisWidths()
		fade := math.Min(1, math.Max(0, math.Log(6.375/sigma8)/math.Log(6.375/2.55)))
		return motion * math.Pow(2, math.Min(x, y)/6*fade*fade)
	}
	return motion * rise
}

// thinLine is the minor width (operator.Blur.Widths) under which a motion
// blur counts as a thin stroke: a straight line as `--blur motion:L@A`
// draws one (about 1 at any angle) or a curve a pixel or two thick, as
// fixtures/kernels/motion15 (2.8). Levin et al.'s camera shakes are 3.5
// or more, the random shakes of train/extra_cases.py --shake 3.8 or more.
// motion15 on the first 20 CBSD68 images at σ 2.55 (train/extra_cases.py
// --motion writes them as deblur_motion15): 29.88 / 30.10 / 29.95 dB at λ 0.7 / 1 / 1.5,
// 30.09 at the 1.14 the steps rule gives it (4.2 steps), where a threshold
// of 2 gave it the shakes' 0.7.
const thinLine = 3

// startSigma is the setting's start σ for the task and its operator
// (deblurStartSigma's when the setting adapts it).
func (st Setting) startSigma(task Task, op operator.Operator, sigma8 float64) float64 {
	if st.AdaptStart && task == Deblur {
		return deblurStartSigma(op, sigma8, st.StartSigma)
	}
	return st.StartSigma
}

// deblurStartSigma is the start σ of deblurring presets with AdaptStart,
// for the operator and the noise level σ (8-bit units): 1 for a kernel that
// only attenuates (operator.Blur.Attenuates), 0.6 for a defocus blur of
// radius 4 or more (below) and for any defocus from σ mildNoise, start for
// a motion blur, rising past σ 6.375 (below), and start otherwise. Measured with dpir on all 68
// CBSD68 images of each cross (8 evaluations; start σ 0.3 / 0.6 / 1, dB):
//
//	Gaussian σ = 3 kernel, σ 6.375 (deblur_gauss): 24.94 / 25.06 / 25.11 (1.5: 25.12, 2.5: 25.10)
//	Gaussian σ = 3 kernel, σ 2.55:                 25.55 / 25.67 / 25.72
//	Levin kernels, σ 2.55 (deblur_levin):          29.94 / 29.87 at 0.5
//	Levin kernels, σ 6.375:                        28.11 / 27.80 at 0.5
//
// The Tikhonov warm start of a Gaussian blur has no fine detail at all,
// which leaves the prior more to redo, from higher up. So does that of a
// strong defocus blur (Compactness 5 or more, PassShare(0.1) under
// defocusShare: disks of radius 4 or more, boxes of 9×9 or more). Session
// 11, first 20 CBSD68 images, σ 2.55, start σ 0.3 → 0.6 (dB):
//
//	disk of radius 2 / 3 (PassShare 0.23 / 0.18): 31.67 → 31.38, 30.05 → 30.06
//	7×7 box (0.18):                               28.96 → 29.25
//	disk of radius 4 / 6 / 8 (0.12 / 0.06 / 0.03): 28.72 → 29.01, 26.86 → 27.58, 25.69 → 26.46
//
// and on defocus held out from that rule (train/extra_cases.py --disks):
// disk of radius 5 27.65 → 28.23, radius 10 24.96 → 25.68, 11×11 box
// 26.68 → 27.21. At σ 6.375 a disk of radius 4 lost (26.70 → 25.67) where
// one of radius 6 gained (25.17 → 25.63), so session 11 started defocus at
// 0.6 only up to σ 2.55, and up to 6.375 for PassShare under 0.08. Session
// 12 found that loss to be λ's, not the start's: deblurLambdaScale gave the
// disk 0.35 at that noise, and from 0.6 a λ that small lets the prox's
// amplified noise through, which the denoiser, told a lower σ at each
// step, keeps as texture (at σ 12.75, λ 0.25 from 0.6 lost 2.7 dB). At λ
// 0.5 the disk gains from 0.6 at every noise. Session 12, first 20 images
// (train/extra_cases.py --noisy and --disks), session 11's rule → 0.6 (with
// λ 0.5 for PassShare 0.08 to 0.15, the rule's λ below 0.08):
//
//	disk of radius 4, σ 4 / 6.375 / 12.75:  27.68 → 28.03, 26.70 → 26.99, 25.44 → 25.59
//	disk of radius 6 / 10, σ 12.75:         24.18 → 24.55, 22.88 → 23.34
//
// (at λ 0.5 the stronger disks lost 0.05–0.18 dB against the rule's λ, so
// they keep it). Held out from that, first 20 images: 9×9 box at σ 6.375
// 26.04 → 26.26, disk of radius 4.5 at σ 5 26.84 → 27.25, radius 7 at σ 10
// 24.06 → 24.50, 11×11 box at σ 12.75 24.28 → 24.64, radius 4 at σ 20
// 24.86 → 24.96; no image lost more than 0.05.
//
// A motion blur (Compactness under 5) in a noisier photo wants a higher
// start too: from σ 0.3 only a few times the noise, the first steps ask
// the denoiser for less than the iterate holds. Session 12, first 20
// images (train/extra_cases.py --noisy), start σ 0.3 / 0.45 / 0.6:
//
//	Levin kernels, σ 12.75:     26.28 / 26.46 / 26.16
//	random shakes, σ 12.75:     25.85 / 26.09 / 26.10
//	17-pixel line, σ 12.75:     24.52 / 24.68 / 24.77
//	Levin kernels, σ 20:        23.05 / 24.46 / 24.64 (0.8: 24.17)
//	random shakes, σ 20:        23.62 / 24.63 / 24.84 (0.8: 24.73)
//
// So past σ 6.375 (where Levin's kernels lost 0.31 dB from 0.5) the start
// grows as σ^0.585: 0.45 at σ 12.75, 0.58 at 20. Held out from that, at
// σ 16 (0.51): Levin's kernels 24.94 → 25.62 (every image better), a
// 23-pixel line at 60° 23.62 → 23.80. From that start, λ 0.35 lost 2–3 dB
// at σ 20, and a λ rising past σ 12.75 gained (deblurLambdaScale).
func deblurStartSigma(op operator.Operator, sigma8, start float64) float64 {
	b, ok := op.(*operator.Blur)
	switch {
	case !ok:
		return start
	case b.Attenuates():
		return 1
	case b.Compactness() >= 5 && (b.PassShare(0.1) < defocusShare || sigma8 >= mildNoise):
		return 0.6
	case b.Compactness() < 5 && sigma8 > 6.375:
		// motion in a noisy photo: 0.45 at σ 12.75, 0.58 at 20
		return start * math.Pow(sigma8/6.375, math.Log(1.5)/math.Log(2))
	}
	return start
}

// defocusShare and strongShare split defocus blurs (Compactness 5 or more)
// by the share of the spectrum they pass (PassShare(0.1)): under
// defocusShare (disks of radius 4 or more, boxes of 9×9 or more) the
// deblurring preset starts at σ 0.6; from strongShare up to defocusShare
// (a disk of radius 4, a 9×9 box) it keeps λ at 0.5 at any noise, where
// stronger ones lower it with the noise (deblurLambdaScale).
//
// A mild defocus (passing defocusShare or more: disks of radius 3 or less,
// boxes of 7×7 or less) starts at 0.6 with λ 0.5 from σ mildNoise. Session
// 13, first 20 images (train/extra_cases.py --mild), start σ 0.3 at the
// rule's λ → 0.6 at λ 0.5 (from 0.6 the disks lost 5–7.5 dB at λ 0.25,
// 0.44–2.3 dB at 0.35 and 0.3–0.47 dB at 0.7; the box did best at 0.35,
// 26.10 dB, but the disks' cliff is the larger risk):
//
//	disk of radius 2, σ 12.75:      28.19 → 28.23
//	disk of radius 3, σ 4 / 6.375:  28.96 → 29.06, 27.91 → 28.05
//	disk of radius 3, σ 12.75:      26.52 → 26.61
//	7×7 box, σ 12.75:               25.79 → 25.90
//
// where at σ 2.55 radius 2 lost 0.29 dB (above). A Gaussian of std 1.5,
// which only attenuates, starts at 1 and keeps the λ rule (at σ 12.75,
// 27.17 dB; start 0.6: 27.21; λ 0.5: 27.12).
const (
	defocusShare = 0.15
	strongShare  = 0.08
	mildNoise    = 4.0
)

// adaptedParams returns the setting's parameters with λ scaled as
// AdaptLambda asks (a copy; the preset is left as it is).
func (st Setting) adaptedParams(task Task, op operator.Operator, sigma8 float64) map[string]string {
	v, ok := st.Params["lambda"]
	if !st.AdaptLambda || task != Deblur || !ok {
		return st.Params
	}
	lambda, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return st.Params
	}
	out := maps.Clone(st.Params)
	out["lambda"] = strconv.FormatFloat(lambda*deblurLambdaScale(op, sigma8), 'g', 4, 64)
	return out
}
