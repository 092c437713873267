package host

import (
	"context"
	"errors"
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/restorekit/restore/sdk"
)

// known returns a 1×h×w observed tensor: 1 where missing(y, x) is false.
func known(h, w int, missing func(y, x int) bool) *sdk.Tensor {
	t := sdk.NewTensor(1, h, w)
	for y := range h {
		for x := range w {
			if !missing(y, x) {
				t.Data[y*w+x] = 1
			}
		}
	}
	return t
}

func TestDistanceToKnown(t *testing.T) {
	// One known pixel at (3, 3) of a 7×7 image.
	d := distanceToKnown(known(7, 7, func(y, x int) bool { return y != 3 || x != 3 }))
	for _, tc := range []struct {
		y, x int
		want float64
	}{
		{3, 3, 0}, {3, 4, 1}, {0, 3, 3}, {4, 4, math.Sqrt2}, {0, 0, 3 * math.Sqrt2}, {1, 6, 2*math.Sqrt2 + 1},
	} {
		if got := d[tc.y*7+tc.x]; math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("(%d, %d): %g, want %g", tc.y, tc.x, got, tc.want)
		}
	}
	// Chamfer distances stay within 8% of Euclidean ones.
	if got, want := d[0*7+1], math.Hypot(3, 2); got < want || got > 1.08*want {
		t.Errorf("(0, 1): %g, want within 8%% above %g", got, want)
	}
	for i, v := range distanceToKnown(known(3, 4, func(int, int) bool { return true })) {
		if !math.IsInf(v, 1) {
			t.Fatalf("no known pixel: distance %g at %d, want +Inf", v, i)
		}
	}
}

func TestTextureWeights(t *testing.T) {
	tex := &Texture{Near: 2, Ramp: 4, Deep: 8}
	box := func(y, x int) bool { return y >= 10 && y < 30 && x >= 10 && x < 30 }
	w, deep := textureWeights(known(40, 40, box), tex)
	if !deep {
		t.Fatal("a 20-pixel box is not deep")
	}
	for _, tc := range []struct {
		y, x int
		want float32
	}{{5, 5, 0}, {10, 10, 0}, {11, 20, 0}, {13, 20, 0.5}, {20, 20, 1}, {16, 16, 1}} {
		if got := w[tc.y*40+tc.x]; math.Abs(float64(got-tc.want)) > 1e-6 {
			t.Errorf("(%d, %d): weight %g, want %g", tc.y, tc.x, got, tc.want)
		}
	}
	// Scattered missing pixels (a checkerboard) and a 13-pixel scratch are
	// not deep, though the scratch gets weights.
	for name, m := range map[string]func(y, x int) bool{
		"checkerboard": func(y, x int) bool { return (y+x)%2 == 0 },
		"scratch":      func(y, x int) bool { return y >= 12 && y < 25 },
	} {
		w, deep := textureWeights(known(40, 40, m), tex)
		if deep {
			t.Errorf("%s: deep", name)
		}
		if got := w[15*40+20]; name == "scratch" && got != 0.5 {
			t.Errorf("scratch: weight %g 4 pixels in, want 0.5", got)
		}
	}
}

func TestAddDetail(t *testing.T) {
	const h, w = 24, 24
	est := sdk.NewRNG(6).Noise(3, h, w, 0.2)
	weight := make([]float32, h*w)
	for i := range weight[:h*w/2] {
		weight[i] = 1 // the top half
	}
	flat := sdk.NewTensor(3, h, w)
	for i := range flat.Data {
		flat.Data[i] = 0.3
	}
	got := est.Clone()
	if err := addDetail(got, flat, weight, 2, 1.5); err != nil {
		t.Fatal(err)
	}
	for i := range got.Data {
		if math.Abs(float64(got.Data[i]-est.Data[i])) > 1e-5 {
			t.Fatalf("a flat sample added detail at %d: %g → %g", i, est.Data[i], got.Data[i])
		}
	}
	busy := sdk.NewRNG(7).Noise(3, h, w, 0.5)
	got = est.Clone()
	if err := addDetail(got, busy, weight, 2, 1.5); err != nil {
		t.Fatal(err)
	}
	for c := range 3 {
		var top, bottom float64
		for i := range h * w {
			d := math.Abs(float64(got.Data[c*h*w+i] - est.Data[c*h*w+i]))
			if i < h*w/2 {
				top += d
			} else {
				bottom += d
			}
		}
		if top < 0.1*float64(h*w/2) || bottom != 0 {
			t.Errorf("channel %d: mean change %g where the weight is 1, %g where it is 0", c, top/float64(h*w/2), bottom)
		}
	}
}

func boxMask(w, h int, r image.Rectangle) image.Image {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			m.SetGray(x, y, color.Gray{255})
		}
	}
	return m
}

// dpir's inpainting adds texture to a deep hole (10 + 40 evaluations), not
// to scattered missing pixels (40), nor when asked not to.
func TestTexturedInpainting(t *testing.T) {
	h := openHost(t, Config{})
	img := crop(readPNG(t, fixtures+"/images/dog.png"), 64, 48)
	hole := image.Rect(20, 12, 44, 36)
	ctx := context.Background()
	var last Progress
	run := func(mask image.Image, tex Choice, steps int) Result {
		t.Helper()
		res, err := h.Restore(ctx, Request{Task: Inpaint, Image: img, Mask: mask, Noise: 0, Texture: tex, Steps: steps,
			Progress: func(p Progress) { last = p }})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	textured := run(boxMask(64, 48, hole), ByMethod, 0)
	if !textured.Textured || textured.Evaluations != 50 || last.Evaluation != 50 || last.Total != 50 {
		t.Fatalf("box: Textured %v, %d evaluations, last progress %+v; want true, 50, 50/50", textured.Textured, textured.Evaluations, last)
	}
	again := run(boxMask(64, 48, hole), ByMethod, 0)
	if !equalTensors(again.Tensor, textured.Tensor) {
		t.Error("the same seed gave a different textured fill")
	}
	if off := run(boxMask(64, 48, hole), Off, 0); off.Textured || off.Evaluations != 40 {
		t.Fatalf("texture off: Textured %v, %d evaluations; want false, 40", off.Textured, off.Evaluations)
	}
	// The same 10-step estimate without the detail: the fill is that
	// estimate up to the preset's Near pixels into the hole, and deep
	// inside it has more detail.
	estimate := run(boxMask(64, 48, hole), Off, 10)
	gradient := func(t *sdk.Tensor, r image.Rectangle) float64 {
		var sum float64
		for c := range t.C {
			for y := r.Min.Y; y < r.Max.Y; y++ {
				for x := r.Min.X; x < r.Max.X-1; x++ {
					i := (c*t.H+y)*t.W + x
					sum += math.Abs(float64(t.Data[i+1] - t.Data[i]))
				}
			}
		}
		return sum
	}
	near := methods[1].Tasks[Inpaint].Texture.Near // dpir's
	if methods[1].Name != "dpir" || near < 1 {
		t.Fatalf("methods[1] is %s, its texture starts %g pixels in; want dpir's, 1 or more", methods[1].Name, near)
	}
	deep := hole.Inset(6)
	if g, s := gradient(textured.Tensor, deep), gradient(estimate.Tensor, deep); g < 1.5*s {
		t.Errorf("textured fill's detail %g, the estimate's %g: want at least 1.5×", g, s)
	}
	for c := range 3 {
		for y := range 48 {
			for x := range 64 {
				if image.Pt(x, y).In(hole.Inset(int(near))) {
					continue
				}
				i := (c*48+y)*64 + x
				if a, b := textured.Tensor.Data[i], estimate.Tensor.Data[i]; a != b {
					t.Fatalf("(%d, %d), %g pixels or less from a known one: %g, the estimate %g", x, y, near, a, b)
				}
			}
		}
	}

	scattered := image.NewGray(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := range 64 {
			if (x*7+y*13)%10 < 7 {
				scattered.SetGray(x, y, color.Gray{255})
			}
		}
	}
	if res := run(scattered, ByMethod, 0); res.Textured || res.Evaluations != 40 {
		t.Errorf("scattered pixels: Textured %v, %d evaluations; want false, 40", res.Textured, res.Evaluations)
	}
	for _, req := range []Request{
		{Task: Denoise, Image: img, Noise: 25, Texture: On},
		{Task: Inpaint, Image: img, Mask: boxMask(64, 48, hole), Method: "ddnm", Texture: On},
		{Task: Inpaint, Image: img, Mask: boxMask(64, 48, hole), Texture: "maybe"},
	} {
		if _, err := h.Restore(ctx, req); !errors.Is(err, ErrBadInput) {
			t.Errorf("%s, method %q, texture %q: %v, want ErrBadInput", req.Task, req.Method, req.Texture, err)
		}
	}
}

// TestHoleSamples: with a hole deep enough for the texture stage, dpir's
// samples come from the stage's sampler, after the textured estimate (which
// is the single run's). Their spread deep in the hole is large (32 levels
// here; dpir re-noised, with the stage off, gives 8); on known pixels nil.
func TestHoleSamples(t *testing.T) {
	h := openHost(t, Config{})
	img := crop(readPNG(t, fixtures+"/images/dog.png"), 64, 48)
	hole := image.Rect(20, 12, 44, 36)
	req := Request{Task: Inpaint, Image: img, Mask: boxMask(64, 48, hole), Noise: 0, Seed: 4}
	single, err := h.Restore(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	req.Samples, req.KeepSamples = 3, true
	var last Progress
	req.Progress = func(p Progress) { last = p }
	res, err := h.Restore(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	const want = 10 + 40 + 3*40 // estimate, its texture, the samples
	if !res.SamplesBeside || !res.Textured || len(res.Samples) != 3 || res.Evaluations != want ||
		last.Evaluation != want || last.Total != want {
		t.Fatalf("beside %v, textured %v, %d samples, %d evaluations, last progress %+v; want true, true, 3, %d",
			res.SamplesBeside, res.Textured, len(res.Samples), res.Evaluations, last, want)
	}
	if !equalTensors(res.Tensor, single.Tensor) {
		t.Error("the estimate beside the samples differs from the single restoration")
	}
	var deep, known float64
	var nd, nk int
	for y := range 48 {
		for x := range 64 {
			v := float64(res.Std.Data[y*64+x])
			switch p := image.Pt(x, y); {
			case p.In(hole.Inset(8)):
				deep += v
				nd++
			case !p.In(hole):
				known += v
				nk++
			}
		}
	}
	if deep/float64(nd) < 16 || known/float64(nk) > 0.01 {
		t.Fatalf("mean spread %.2f levels deep in the hole, %.3f on known pixels; want 16 or more, and none", deep/float64(nd), known/float64(nk))
	}
	t.Logf("mean spread %.2f levels deep in the hole", deep/float64(nd))
	if got, want := meanOf(res.Std), meanSpread(res.Samples, res.Image); math.Abs(got-want) > 0.03*want+0.02 {
		t.Fatalf("mean of the map %.3f levels; the saved samples' spread about the result gives %.3f", got, want)
	}
}
