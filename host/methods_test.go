package host

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"image"
	"math"
	"strings"
	"testing"

	"github.com/restorekit/restore/internal/psf"
	"github.com/restorekit/restore/plugins/guidance"
	"github.com/restorekit/restore/plugins/solvers"
	"github.com/restorekit/restore/sdk"

	"github.com/restorekit/restore/sdk/operator"
)

// TestMethods restores every task with every preset that covers it: each
// must improve the degraded image and report what it ran.
func TestMethods(t *testing.T) {
	h := openHost(t, Config{})
	truth := crop(readPNG(t, fixtures+"/images/flower.png"), 128, 96)
	kernel := readKernelText(t, fixtures+"/kernels/motion15.txt")
	mask := crop(readPNG(t, fixtures+"/images/flower-holes.mask.png"), 128, 96)
	inputs := map[Task]Request{
		Denoise: {Task: Denoise, Noise: 25, Image: crop(readPNG(t, fixtures+"/images/flower-noisy25.png"), 128, 96)},
		Deblur:  {Task: Deblur, Noise: 2.55, Kernel: kernel, Image: crop(readPNG(t, fixtures+"/images/flower-blurred.png"), 128, 96)},
		Inpaint: {Task: Inpaint, Noise: 0, Mask: mask, Image: crop(readPNG(t, fixtures+"/images/flower-holes.png"), 128, 96)},
	}
	down, err := operator.NewDownsample(2, 96, 128)
	if err != nil {
		t.Fatal(err)
	}
	small := down.Apply(TensorFromImage(truth))
	inputs[SR] = Request{Task: SR, Scale: 2, Noise: 0, Image: ImageFromTensor(small)}
	pinv, err := down.PseudoInverse(small)
	if err != nil {
		t.Fatal(err)
	}
	// what each task must beat: the degraded image, or A⁺y for SR
	baseline := func(req Request) image.Image {
		if req.Task == SR {
			return ImageFromTensor(pinv)
		}
		return req.Image
	}
	for _, m := range Methods() {
		for _, task := range Tasks {
			s, ok := m.Tasks[task]
			if !ok {
				continue
			}
			t.Run(m.Name+"/"+string(task), func(t *testing.T) {
				req := inputs[task]
				req.Method = m.Name
				res, err := h.Restore(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				if res.Method != m.Name || res.Solver != s.Solver || res.Guidance != s.Guidance {
					t.Fatalf("ran %s (%s + %s), want %s (%s + %s)", res.Method, res.Solver, res.Guidance, m.Name, s.Solver, s.Guidance)
				}
				before, after := psnr(truth, baseline(req)), psnr(truth, res.Image)
				if after <= before {
					t.Fatalf("%.2f dB → %.2f dB: no better than the input", before, after)
				}
			})
		}
	}
}

func TestDefaultMethodsExist(t *testing.T) {
	for _, task := range Tasks {
		m, ok := LookupMethod(DefaultMethods[task])
		if !ok {
			t.Fatalf("task %s: default method %q does not exist", task, DefaultMethods[task])
		}
		if _, ok := m.Tasks[task]; !ok {
			t.Fatalf("task %s: default method %s has no settings for it", task, m.Name)
		}
	}
}

func TestUnknownMethod(t *testing.T) {
	h := openHost(t, Config{})
	img := crop(readPNG(t, fixtures+"/images/dog-noisy25.png"), 16, 16)
	_, err := h.Restore(context.Background(), Request{Task: Denoise, Image: img, Noise: 25, Method: "difpir"})
	if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), `did you mean "diffpir"`) {
		t.Fatalf("got %v, want ErrBadInput suggesting diffpir", err)
	}
}

// TestSamples draws several posterior samples, batched through the network.
// The default inpainting preset (dpir) is an optimiser: it draws its samples
// beside its estimate, which must be the single restoration's, and their spread must be a real one (before Setting.Sampling its runs
// agreed to 0.04 levels). A sampling preset (ddnm) averages its runs: the
// first is the single restoration with the same seed. Either way the set
// repeats exactly, and the spread is larger in the holes than on the
// pixels the guidance pins to the measurement.
func TestSamples(t *testing.T) {
	h := openHost(t, Config{})
	img := crop(readPNG(t, fixtures+"/images/flower-holes.png"), 64, 48)
	mask := crop(readPNG(t, fixtures+"/images/flower-holes.mask.png"), 64, 48)
	obs := maskObserved(mask)
	for _, tc := range []struct {
		method    string
		beside    bool
		evals     int     // for 3 samples, the estimate of 6 steps
		minSpread float64 // mean spread in the holes, 8-bit levels
	}{
		{"", true, 6 + 3*3, 1}, // the samples: 3 steps of re-noised dpir each
		{"ddnm", false, 18, 1},
	} {
		t.Run(cmp.Or(tc.method, "default"), func(t *testing.T) {
			req := Request{Task: Inpaint, Image: img, Mask: mask, Noise: 0, Steps: 6, Seed: 3, Method: tc.method, Texture: Off}
			single, err := h.Restore(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			req.Samples, req.KeepSamples = 3, true
			var calls int
			req.Progress = func(p Progress) {
				calls++
				if p.Total != tc.evals {
					t.Errorf("progress total %d, want %d", p.Total, tc.evals)
				}
			}
			a, err := h.Restore(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if a.Evaluations != tc.evals || calls != tc.evals {
				t.Fatalf("%d evaluations, %d progress calls; want %d", a.Evaluations, calls, tc.evals)
			}
			if len(a.Samples) != 3 || a.Std == nil || a.SamplesBeside != tc.beside {
				t.Fatalf("%d samples, std %v, beside %v; want 3, a map, %v", len(a.Samples), a.Std, a.SamplesBeside, tc.beside)
			}
			// The preset's samples are drawn apart, after the estimate, which
			// runs alone: the single restoration exactly.
			if tc.beside && !equalTensors(a.Tensor, single.Tensor) {
				t.Fatalf("the estimate beside the samples differs from the single restoration (%.1f dB)", psnr(a.Image, single.Image))
			} else if !tc.beside && psnr(a.Samples[0], single.Image) < 99 {
				t.Fatalf("sample 1 differs from the single restoration with the same seed (%.1f dB)", psnr(a.Samples[0], single.Image))
			}
			req.Progress = nil
			b, err := h.Restore(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			for i := range a.Tensor.Data {
				if a.Tensor.Data[i] != b.Tensor.Data[i] {
					t.Fatal("the same seed gave a different result")
				}
			}
			for i := range a.Std.Data {
				if a.Std.Data[i] != b.Std.Data[i] {
					t.Fatal("the same seed gave a different spread")
				}
			}
			var in, out, nin, nout float64
			for i, v := range a.Std.Data {
				if obs.Data[i] == 1 {
					out += float64(v)
					nout++
				} else {
					in += float64(v)
					nin++
				}
			}
			if in/nin <= out/nout || in/nin < tc.minSpread {
				t.Fatalf("mean spread %.3f levels in the holes, %.3f elsewhere: want more in the holes, and at least %g", in/nin, out/nout, tc.minSpread)
			}
			t.Logf("mean spread %.2f levels in the holes, %.2f elsewhere", in/nin, out/nout)
			// The map is the samples' spread about the image beside them,
			// or their standard deviation about their mean.
			centre := a.Image
			if !tc.beside {
				centre = nil
			}
			if got, want := meanOf(a.Std), meanSpread(a.Samples, centre); math.Abs(got-want) > 0.03*want+0.02 {
				t.Fatalf("mean of the map %.3f levels; the saved samples give %.3f", got, want)
			}
			std := StdImage(a.Std)
			if std.Bounds().Dx() != 64 || std.Bounds().Dy() != 48 {
				t.Fatalf("std image is %v", std.Bounds())
			}
		})
	}
}

// meanSpread is the mean over pixels of the 8-bit samples' spread as
// Result.Std defines it: about centre, or (centre nil) their standard
// deviation about their mean.
func meanSpread(samples []*image.NRGBA, centre *image.NRGBA) float64 {
	n := len(samples[0].Pix) / 4
	var total float64
	for p := range n {
		var v float64
		for c := range 3 {
			var m float64
			if centre != nil {
				m = float64(centre.Pix[4*p+c])
			} else {
				for _, s := range samples {
					m += float64(s.Pix[4*p+c])
				}
				m /= float64(len(samples))
			}
			for _, s := range samples {
				d := float64(s.Pix[4*p+c]) - m
				v += d * d
			}
		}
		dof := len(samples)
		if centre == nil {
			dof--
		}
		total += math.Sqrt(v / float64(3*dof))
	}
	return total / float64(n)
}

// meanOf is the mean of a tensor's values.
func meanOf(t *sdk.Tensor) float64 {
	var s float64
	for _, v := range t.Data {
		s += float64(v)
	}
	return s / float64(len(t.Data))
}

func TestSpreadAbout(t *testing.T) {
	est := sdk.NewTensor(3, 1, 2) // two pixels, model units (1 = 127.5 levels)
	a, b := est.Clone(), est.Clone()
	for c := range 3 {
		a.Data[c*2], b.Data[c*2] = 0.2, -0.2    // pixel 0: ±0.2 about est
		a.Data[c*2+1], b.Data[c*2+1] = 0.4, 0.4 // pixel 1: both 0.4 away
	}
	for _, tc := range []struct {
		name     string
		got      *sdk.Tensor
		px0, px1 float64
	}{
		{"about the estimate", spreadAbout(est, []*sdk.Tensor{a, b}), 0.2 * 127.5, 0.4 * 127.5},
		{"about their mean", func() *sdk.Tensor { _, s := meanStd([]*sdk.Tensor{a, b}); return s }(), math.Sqrt2 * 0.2 * 127.5, 0},
	} {
		if math.Abs(float64(tc.got.Data[0])-tc.px0) > 1e-3 || math.Abs(float64(tc.got.Data[1])-tc.px1) > 1e-3 {
			t.Errorf("%s: %v, want [%g %g]", tc.name, tc.got.Data, tc.px0, tc.px1)
		}
	}
}

func TestSamplesCancel(t *testing.T) {
	h := openHost(t, Config{})
	img := crop(readPNG(t, fixtures+"/images/dog-noisy25.png"), 32, 32)
	ctx, cancel := context.WithCancel(context.Background())
	req := Request{Task: Denoise, Image: img, Noise: 25, Steps: 50, Samples: 4, StartSigma: 0.5,
		Params: map[string]string{"zeta": "1"}}
	req.Progress = func(p Progress) {
		if p.Evaluation == 6 {
			cancel()
		}
	}
	_, err := h.Restore(ctx, req)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestSamplesBounds(t *testing.T) {
	h := openHost(t, Config{})
	img := crop(readPNG(t, fixtures+"/images/dog-noisy25.png"), 16, 16)
	for _, k := range []int{-1, MaxSamples + 1} {
		_, err := h.Restore(context.Background(), Request{Task: Denoise, Image: img, Noise: 25, Samples: k})
		if !errors.Is(err, ErrBadInput) {
			t.Fatalf("samples %d: got %v, want ErrBadInput", k, err)
		}
	}
}

// TestSuperResolution enlarges a 4-fold shrunk crop: the result has the
// original size, matches the measurement when shrunk again, and beats the
// least-norm solution A⁺y it starts from.
func TestSuperResolution(t *testing.T) {
	h := openHost(t, Config{})
	truth := TensorFromImage(crop(readPNG(t, fixtures+"/images/flower.png"), 96, 64))
	op, err := operator.NewDownsample(4, truth.H, truth.W)
	if err != nil {
		t.Fatal(err)
	}
	small := ImageFromTensor(op.Apply(truth))
	res, err := h.Restore(context.Background(), Request{Task: SR, Scale: 4, Image: small, Noise: 0})
	if err != nil {
		t.Fatal(err)
	}
	if b := res.Image.Bounds(); b.Dx() != 96 || b.Dy() != 64 {
		t.Fatalf("result is %dx%d, want 96x64", b.Dx(), b.Dy())
	}
	pinv, err := op.PseudoInverse(TensorFromImage(small))
	if err != nil {
		t.Fatal(err)
	}
	ti := ImageFromTensor(truth)
	base, got := psnr(ti, ImageFromTensor(pinv)), psnr(ti, res.Image)
	t.Logf("4x: A⁺y %.2f dB, restored %.2f dB", base, got)
	if got < base+0.5 {
		t.Fatalf("restored %.2f dB, A⁺y %.2f dB: want at least 0.5 dB better", got, base)
	}
	if d := psnr(small, ImageFromTensor(op.Apply(res.Tensor))); d < 40 {
		t.Fatalf("shrunk again, the result is %.1f dB from the measurement, want ≥ 40", d)
	}
	// Samples: drawn apart by DDNM from σ 2 (Sampling.Method), after the
	// estimate, which stays the result; the spread is larger than dpir's
	// re-noised samples give.
	req := Request{Task: SR, Scale: 4, Image: small, Noise: 0, Samples: 2, KeepSamples: true}
	two, err := h.Restore(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !two.SamplesBeside || two.Evaluations != 8+2*40 || len(two.Samples) != 2 || two.Samples[0].Bounds() != res.Image.Bounds() {
		t.Fatalf("beside %v, %d evaluations, %d samples; want true, %d, 2 of the result's size", two.SamplesBeside, two.Evaluations, len(two.Samples), 8+2*40)
	}
	if psnr(two.Image, res.Image) < 99 {
		t.Fatalf("with samples the result moved (%.1f dB from the single run)", psnr(two.Image, res.Image))
	}
	zeta := req
	zeta.Solver, zeta.Params = "pnp", map[string]string{"zeta": "1"} // dpir's own solver re-noised, averaged
	narrow, err := h.Restore(context.Background(), zeta)
	if err != nil {
		t.Fatal(err)
	}
	mean := func(t *sdk.Tensor) (m float64) {
		for _, v := range t.Data {
			m += float64(v)
		}
		return m / float64(len(t.Data))
	}
	a, b := mean(two.Std), mean(narrow.Std)
	if a < 1.5*b {
		t.Fatalf("mean spread %.2f levels, re-noised pnp's %.2f: want 1.5 times or more", a, b)
	}
	t.Logf("4x, 2 samples: mean spread %.2f levels (re-noised pnp's: %.2f)", a, b)
	for _, scale := range []int{0, 1, MaxScale + 1} {
		if _, err := h.Restore(context.Background(), Request{Task: SR, Scale: scale, Image: small}); !errors.Is(err, ErrBadInput) {
			t.Fatalf("scale %d: got %v, want ErrBadInput", scale, err)
		}
	}
}

// TestDeblurLambda: the dpir deblurring preset scales its λ for the kernel
// and the noise, and a λ the request sets is used as given.
func TestDeblurLambda(t *testing.T) {
	kernel := func(k [][]float64, err error) [][]float64 {
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	gauss := kernel(psf.Gaussian(3))
	narrow := kernel(psf.Gaussian(1.5))
	motion := [][]float64{{0, 0, 0, 0, 1, 1, 1, 1, 1}} // one-sided: a complex spectrum; a line along a row, no steps
	shake := readKernelText(t, fixtures+"/kernels/motion15.txt")
	long := kernel(psf.Line(21, 45))    // passes under a third of the spectrum, as a disk does, but is motion
	oblique := kernel(psf.Line(31, 10)) // steps across 5.5 rows
	lshake := make([][]float64, 9)      // two strokes at right angles
	for i := range lshake {
		lshake[i] = make([]float64, 9)
		for j := range lshake[i] {
			if i == 4 && j >= 4 || j == 4 && i >= 4 {
				lshake[i][j] = 1
			}
		}
	}
	disk := kernel(psf.Disk(4))
	large := kernel(psf.Disk(8))
	small := kernel(psf.Disk(2))
	opOf := func(k [][]float64) operator.Operator {
		spec, _, err := problemOperator(Request{Task: Deblur, Kernel: k}, nil)
		if err != nil {
			t.Fatal(err)
		}
		op, err := operator.NewBlur(spec.Kernel, 48, 40)
		if err != nil {
			t.Fatal(err)
		}
		return op
	}
	_, def, err := methodSetting("dpir", Deblur)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		kernel [][]float64
		sigma8 float64
		want   string
	}{
		{"gaussian, noisy", gauss, 6.375, "0.25"},
		{"gaussian, clean", gauss, 0, "0.25"},
		{"narrow gaussian, σ 2.55", narrow, 2.55, "0.5"},
		{"narrow gaussian, σ 6.375", narrow, 6.375, "0.3536"},
		{"motion, σ 2.55", motion, 2.55, "0.7"},
		{"motion, noiseless", motion, 0, "0.7"},
		{"motion, σ 6.375", motion, 6.375, "0.5"},
		{"motion, σ 4", motion, 4, "0.5933"},
		{"motion, σ 12.75", motion, 12.75, "0.5"},
		{"motion, σ 25", motion, 25, "0.5"},           // a line: no rise with the noise
		{"thin stroke, σ 2.55", shake, 2.55, "1.137"}, // motion15: 4.2 steps
		{"thin stroke, σ 6.375", shake, 6.375, "0.5"},
		{"thin stroke, σ 20", shake, 20, "0.5"}, // no rise with the noise for thin strokes
		{"diagonal line, σ 25", long, 25, "0.5"},
		{"L-shaped shake, σ 12.75", lshake, 12.75, "0.5"},
		{"L-shaped shake, σ 20", lshake, 20, "0.6262"}, // 0.5 · √(20/12.75)
		{"L-shaped shake, σ 25", lshake, 25, "0.7001"},
		{"L-shaped shake, σ 2.55", lshake, 2.55, "0.7"}, // 3.2 across: not thin
		{"L-shaped shake, σ 6.375", lshake, 6.375, "0.5"},
		{"diagonal line, σ 2.55", long, 2.55, "3.89"},  // 0.7 · 2^(14.85/6)
		{"diagonal line, σ 6.375", long, 6.375, "0.5"}, // the boost has faded
		{"diagonal line, σ 4", long, 4, "0.9247"},      // a quarter of the boost left
		{"oblique line, σ 2.55", oblique, 2.55, "1.318"},
		{"disk, σ 2.55", disk, 2.55, "0.5"},
		{"disk, noiseless", disk, 0, "0.5"},
		{"disk, σ 6.375", disk, 6.375, "0.5"}, // a moderate defocus keeps 0.5: it starts at 0.6
		{"disk, σ 25", disk, 25, "0.5"},
		{"small disk, σ 2.55", small, 2.55, "0.5"},
		{"small disk, σ 3", small, 3, "0.4702"},
		{"small disk, σ 4", small, 4, "0.5"}, // a mild defocus starts at 0.6 from σ 4
		{"small disk, σ 12.75", small, 12.75, "0.5"},
		{"narrow gaussian, σ 12.75", narrow, 12.75, "0.3536"}, // it only attenuates: starts at 1
		{"large disk, σ 2.55", large, 2.55, "0.5"},
		{"large disk, σ 6.375", large, 6.375, "0.3536"},
		{"large disk, σ 25", large, 25, "0.3536"},
	} {
		got := def.adaptedParams(Deblur, opOf(tc.kernel), tc.sigma8)
		if got["lambda"] != tc.want {
			t.Errorf("%s: λ %s, want %s", tc.name, got["lambda"], tc.want)
		}
	}
	if def.Params["lambda"] != "1" {
		t.Errorf("the preset itself changed: λ %s", def.Params["lambda"])
	}
	// the request's own λ wins
	params := withDefaults(def.adaptedParams(Deblur, opOf(gauss), 6.375), map[string]string{"lambda": "3"},
		solvers.PnP{}.Info(), guidance.DiffPIR{}.Info())
	if params["lambda"] != "3" || params["guidance.lambda"] != "" {
		t.Errorf("a request's λ=3 became %v", params)
	}
	// other tasks and methods are left alone
	_, srDef, _ := methodSetting("dpir", SR)
	if got := srDef.adaptedParams(SR, opOf(gauss), 6.375); got["lambda"] != "0.23" {
		t.Errorf("super-resolution's λ changed to %s", got["lambda"])
	}
}

// TestDeblurStartSigma: the dpir deblurring preset starts a Gaussian-like
// blur at σ 1, a defocus of radius 4 or more at 0.6 whatever the noise,
// and a motion blur or a mild defocus at 0.3, motion higher in photos
// noisier than σ 6.375; a start σ the request sets is used
// as given, and other tasks keep their own.
func TestDeblurStartSigma(t *testing.T) {
	h := openHost(t, Config{})
	img := crop(readPNG(t, fixtures+"/images/flower.png"), 40, 32)
	gauss, err := psf.Gaussian(1.5)
	if err != nil {
		t.Fatal(err)
	}
	motion := [][]float64{{0, 0, 1, 1, 1}} // one-sided: a complex spectrum
	disk, err := psf.Disk(6)
	if err != nil {
		t.Fatal(err)
	}
	medium, err := psf.Disk(4)
	if err != nil {
		t.Fatal(err)
	}
	small, err := psf.Disk(2)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		req   Request
		start float64
	}{
		{"strong defocus", Request{Task: Deblur, Kernel: disk}, 0.6},
		{"strong defocus, noisy", Request{Task: Deblur, Kernel: disk, Noise: 6.375}, 0.6},
		{"strong defocus, very noisy", Request{Task: Deblur, Kernel: disk, Noise: 20}, 0.6},
		{"defocus, noisy", Request{Task: Deblur, Kernel: medium, Noise: 6.375}, 0.6},
		{"defocus, very noisy", Request{Task: Deblur, Kernel: medium, Noise: 20}, 0.6},
		{"mild defocus", Request{Task: Deblur, Kernel: small}, 0.3},
		{"mild defocus, σ 2.55", Request{Task: Deblur, Kernel: small, Noise: 2.55}, 0.3},
		{"mild defocus, σ 4", Request{Task: Deblur, Kernel: small, Noise: 4}, 0.6},
		{"mild defocus, noisy", Request{Task: Deblur, Kernel: small, Noise: 12.75}, 0.6},
		{"gaussian", Request{Task: Deblur, Kernel: gauss}, 1},
		{"motion", Request{Task: Deblur, Kernel: motion}, 0.3},
		{"motion, noisy", Request{Task: Deblur, Kernel: motion, Noise: 6.375}, 0.3},
		{"motion, very noisy", Request{Task: Deblur, Kernel: motion, Noise: 12.75}, 0.45},
		{"motion, σ 20", Request{Task: Deblur, Kernel: motion, Noise: 20}, 0.5856},
		{"gaussian, asked for 0.5", Request{Task: Deblur, Kernel: gauss, StartSigma: 0.5}, 0.5},
		{"motion, asked for 0.5", Request{Task: Deblur, Kernel: motion, StartSigma: 0.5}, 0.5},
		{"diffpir, gaussian", Request{Task: Deblur, Kernel: gauss, Method: "diffpir"}, 0.15},
		{"super-resolution", Request{Task: SR, Scale: 2}, 0.6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			req.Image, req.Steps = img, 1
			if req.Noise == 0 {
				req.Noise = 2.55
			}
			res, err := h.Restore(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(res.StartSigma-tc.start) > 1e-4 {
				t.Fatalf("started at σ %g, want %g", res.StartSigma, tc.start)
			}
		})
	}
}

// What Methods and LookupMethod return is the caller's: changing it leaves
// the presets as they are.
func TestMethodsAreCopies(t *testing.T) {
	for _, tc := range []struct {
		name string
		get  func() Method
	}{
		{"Methods", func() Method {
			for _, m := range Methods() {
				if m.Name == "dpir" {
					return m
				}
			}
			return Method{}
		}},
		{"LookupMethod", func() Method { m, _ := LookupMethod("dpir"); return m }},
	} {
		m := tc.get()
		st := m.Tasks[Inpaint]
		st.Params["schedule"] = "changed"
		st.Texture.Gain = -1
		st.Texture.Params["eta"] = "changed"
		m.Tasks[Deblur] = Setting{}
		_, def, err := methodSetting("dpir", Inpaint)
		if err != nil {
			t.Fatal(err)
		}
		if def.Params["schedule"] == "changed" || def.Texture.Gain == -1 || def.Texture.Params["eta"] == "changed" {
			t.Errorf("%s: changing its copy changed the preset: %+v, texture %+v", tc.name, def, *def.Texture)
		}
		if _, deblur, _ := methodSetting("dpir", Deblur); deblur.Steps == 0 {
			t.Errorf("%s: changing its copy's settings removed the preset's", tc.name)
		}
	}
}

// dpir's denoising is one evaluation, with nothing to re-noise: its samples
// are its bootstrap, drawn after the estimate.
func TestDenoiseSamplesDPIR(t *testing.T) {
	h := openHost(t, Config{})
	img := crop(readPNG(t, fixtures+"/images/dog-noisy25.png"), 48, 40)
	req := Request{Task: Denoise, Image: img, Noise: 25, Method: "dpir", Seed: 5}
	single, err := h.Restore(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	req.Samples, req.KeepSamples = 3, true
	res, err := h.Restore(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !res.SamplesBeside || res.Evaluations != 1+3 || len(res.Samples) != 3 {
		t.Fatalf("beside %v, %d evaluations, %d samples; want true, 4, 3", res.SamplesBeside, res.Evaluations, len(res.Samples))
	}
	if !equalTensors(res.Tensor, single.Tensor) {
		t.Error("the estimate beside the samples differs from the single restoration")
	}
	// Each sample is the preset's restoration of the estimate measured
	// again: plus noise of σ 25 drawn from the sample's seed.
	for i, got := range res.Samples {
		seed := req.Seed + uint64(i+1)
		again := Request{Task: Denoise, Image: ImageFromTensor16(remeasure(single.Tensor, 25/127.5, seed)), Noise: 25, Method: "dpir", Seed: seed}
		want, err := h.Restore(context.Background(), again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Pix, want.Image.Pix) {
			t.Errorf("sample %d is not the restoration of the estimate re-measured with seed %d", i+1, seed)
		}
	}
	// σ = 25 noise leaves a few levels of doubt everywhere.
	if m := meanOf(res.Std); m < 2 || math.Abs(m-meanSpread(res.Samples, res.Image)) > 0.03*m+0.02 {
		t.Fatalf("mean of the map %.3f levels, the samples' spread about the result %.3f; want 2 or more, and the same",
			m, meanSpread(res.Samples, res.Image))
	}
	t.Logf("mean spread %.2f levels", meanOf(res.Std))
}

// dpir's deblurring draws its samples beside the estimate (re-noised pnp)
// and a bootstrap besides (Sampling.AddBootstrap): the map is the root of
// the sum of their two variances about the estimate, and Result.Samples
// holds the samples beside it.
func TestDeblurSamplesAddBootstrap(t *testing.T) {
	h := openHost(t, Config{})
	img := crop(readPNG(t, fixtures+"/images/flower-blurred.png"), 48, 40)
	kernel := readKernelText(t, fixtures+"/kernels/motion15.txt")
	req := Request{Task: Deblur, Image: img, Kernel: kernel, Noise: 2.55, Seed: 5}
	single, err := h.Restore(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	const k = 3
	req.Samples, req.KeepSamples = k, true
	res, err := h.Restore(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	steps := single.Evaluations
	if !res.SamplesBeside || res.Evaluations != steps*(k+1)+k*steps || len(res.Samples) != k {
		t.Fatalf("beside %v, %d evaluations, %d samples; want true, %d, %d",
			res.SamplesBeside, res.Evaluations, len(res.Samples), steps*(k+1)+k*steps, k)
	}
	if d := maxAbsDiff(res.Tensor, single.Tensor); d > 2e-3 {
		t.Errorf("the estimate beside the samples differs from the single restoration by %g", d)
	}

	// The bootstrap, by hand: the preset's restoration of the estimate
	// blurred and measured again, with sample i's seed.
	y := TensorFromImage(img)
	spec, _, err := problemOperator(req, y)
	if err != nil {
		t.Fatal(err)
	}
	op, _, err := operator.ForProblem(sdk.Problem{Y: y, Operator: spec})
	if err != nil {
		t.Fatal(err)
	}
	blurred := op.Apply(res.Tensor)
	var boots []*sdk.Tensor
	for i := range k {
		seed := req.Seed + uint64(i+1)
		again := Request{Task: Deblur, Image: ImageFromTensor16(remeasure(blurred, 2.55/127.5, seed)),
			Kernel: kernel, Noise: 2.55, Seed: seed}
		b, err := h.Restore(context.Background(), again)
		if err != nil {
			t.Fatal(err)
		}
		boots = append(boots, b.Tensor)
	}
	bootMap := spreadAbout(res.Tensor, boots)
	var besideSamples []*sdk.Tensor
	for _, s := range res.Samples {
		besideSamples = append(besideSamples, TensorFromImage(s))
	}
	besideMap := spreadAbout(TensorFromImage(res.Image), besideSamples)
	var got, want, boot float64
	for p, v := range res.Std.Data {
		if b := bootMap.Data[p]; v < b-0.05 {
			t.Fatalf("pixel %d: map %.3f levels, below the bootstrap's own spread %.3f", p, v, b)
		}
		got += float64(v * v)
		boot += float64(bootMap.Data[p] * bootMap.Data[p])
		want += float64(bootMap.Data[p]*bootMap.Data[p] + besideMap.Data[p]*besideMap.Data[p])
	}
	// The samples beside it are 8-bit: their spread is known to rounding.
	if math.Abs(got-want) > 0.05*want || boot < 0.02*got || boot >= got {
		t.Fatalf("mean variance of the map %.3f, of the bootstrap %.3f, their sum with the samples' beside it %.3f; want the map the sum, each part a share of it",
			got/float64(len(res.Std.Data)), boot/float64(len(res.Std.Data)), want/float64(len(res.Std.Data)))
	}
	t.Logf("mean variance: map %.3f, bootstrap %.3f", got/float64(len(res.Std.Data)), boot/float64(len(res.Std.Data)))
}

// A bootstrap re-measures the estimate with the photo's noise: a photo with
// none (a flat one, whose estimated noise is 0) is refused, not sampled
// into a map of zeros, where the bootstrap is all the samples.
func TestBootstrapNeedsNoise(t *testing.T) {
	h := openHost(t, Config{})
	img := image.NewNRGBA(image.Rect(0, 0, 24, 16))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	_, err := h.Restore(context.Background(), Request{Task: Denoise, Image: img, Method: "dpir", Samples: 2})
	if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "has none") {
		t.Fatalf("flat photo, dpir, 2 samples: %v; want ErrBadInput saying the photo has no noise", err)
	}
	// Where the bootstrap only adds to samples beside the estimate, those
	// are drawn alone.
	kernel := readKernelText(t, fixtures+"/kernels/motion15.txt")
	res, err := h.Restore(context.Background(), Request{Task: Deblur, Image: img, Kernel: kernel, Samples: 2})
	if err != nil || !res.SamplesBeside || res.Evaluations != 8*(1+2) {
		t.Fatalf("flat photo, deblurring, 2 samples: %v, beside %v, %d evaluations; want the estimate and 2 samples beside it, 24",
			err, res.SamplesBeside, res.Evaluations)
	}
}

// A bootstrap's restorations run side by side: progress still counts every
// evaluation once, in order, up to the total the first report announced.
func TestBootstrapProgress(t *testing.T) {
	h := openHost(t, Config{})
	kernel := readKernelText(t, fixtures+"/kernels/motion15.txt")
	for _, tc := range []struct {
		name  string
		req   Request
		evals int
	}{
		{"denoise", Request{Task: Denoise, Image: crop(readPNG(t, fixtures+"/images/dog-noisy25.png"), 40, 32), Noise: 25},
			5*(1+3) + 3*5}, // as deblurring: re-noised beside the estimate, plus a bootstrap
		{"denoise dpir", Request{Task: Denoise, Image: crop(readPNG(t, fixtures+"/images/dog-noisy25.png"), 40, 32), Noise: 25, Method: "dpir"},
			1 + 3*1}, // a bootstrap alone
		{"deblur", Request{Task: Deblur, Image: crop(readPNG(t, fixtures+"/images/flower-blurred.png"), 40, 32), Kernel: kernel, Noise: 2.55},
			8*(1+3) + 3*8}, // the estimate and 3 samples beside it, then 3 of a bootstrap
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []Progress
			req := tc.req
			req.Samples, req.Seed = 3, 2
			req.Progress = func(p Progress) { got = append(got, p) }
			res, err := h.Restore(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Evaluations != tc.evals || len(got) != res.Evaluations {
				t.Fatalf("%d evaluations, %d reports; want %d of each", res.Evaluations, len(got), tc.evals)
			}
			for i, p := range got {
				if p.Evaluation != i+1 || p.Total != res.Evaluations {
					t.Fatalf("report %d: evaluation %d of %d; want %d of %d", i, p.Evaluation, p.Total, i+1, res.Evaluations)
				}
			}
			// The same request again gives the same map: the batches do
			// not depend on timing.
			req.Progress = nil
			again, err := h.Restore(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if !equalTensors(res.Std, again.Std) {
				t.Error("the map differs between two runs of the same request")
			}
		})
	}
}
