package host

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/restorekit/restore/sdk"
)

func TestTurnedAndUnturn(t *testing.T) {
	x := sdk.NewRNG(3).Noise(2, 3, 5, 1) // not square: half the elements change the shape
	seen := make([]*sdk.Tensor, 0, 8)
	for k := range 8 {
		t.Run(fmt.Sprint(k), func(t *testing.T) {
			before := x.Clone()
			c := turned(x, k)
			if !equalTensors(x, before) {
				t.Fatal("turned changed its input")
			}
			if k == 0 && c != x {
				t.Fatal("the identity copied its input")
			}
			ref := x.Clone() // the element as ensemble.go lists it: transpose, then mirror
			if k >= 4 {
				ref = transpose(ref)
			}
			flip(ref, flips[k%4][0], flips[k%4][1])
			if !equalTensors(c, ref) {
				t.Fatalf("element %d is not the transpose-then-mirror its list says", k)
			}
			if want := k >= 4; (c.H == x.W && c.W == x.H) != want {
				t.Fatalf("element %d gave a %d×%d tensor from %d×%d", k, c.H, c.W, x.H, x.W)
			}
			for j, o := range seen {
				if equalTensors(o, c) {
					t.Fatalf("elements %d and %d turn alike", j, k)
				}
			}
			seen = append(seen, c)
			if back := unturn(c.Clone(), k); !equalTensors(back, x) {
				t.Fatalf("unturn(turned(x, %d), %d) is not x", k, k)
			}
		})
	}
}

// repeatSolver asks the denoiser Steps times for the same input and keeps
// the answers.
type repeatSolver struct{ got *[]*sdk.Tensor }

func (repeatSolver) Info() sdk.Info {
	return sdk.Info{Name: "repeat", Version: "1.0.0", Kind: sdk.KindSolver, Summary: "evaluates one input repeatedly (test)"}
}

func (r repeatSolver) Sample(ctx context.Context, d sdk.Denoiser, req sdk.SampleRequest) (*sdk.Tensor, error) {
	*r.got = (*r.got)[:0]
	for range req.Steps {
		x0, err := d.Denoise(ctx, req.X, req.SigmaMax)
		if err != nil {
			return nil, err
		}
		*r.got = append(*r.got, x0.Clone())
	}
	return req.X, nil
}

// Cycling: evaluation i of a sample is D on the input mirrored by element
// i mod 4, mirrored back, when the method or the request asks for it and
// the model says it was trained on turned images.
func TestCycleTurnsEachEvaluation(t *testing.T) {
	var got []*sdk.Tensor
	h := openHost(t, Config{Plugins: []sdk.Plugin{repeatSolver{&got}}})
	if !h.model.info.Dihedral {
		t.Fatal("the built-in model does not declare restore.augmentation=dihedral")
	}
	img := crop(readPNG(t, fixtures+"/images/dog-noisy25.png"), 40, 24)
	ctx := context.Background()
	run := func(req Request) (Result, []*sdk.Tensor) {
		t.Helper()
		req.Task, req.Image, req.Noise, req.Steps, req.Solver, req.Guidance = Denoise, img, 25, 6, "repeat", "none"
		res, err := h.Restore(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return res, append([]*sdk.Tensor(nil), got...)
	}

	// diffpir's denoising setting cycles.
	res, cycled := run(Request{Method: "diffpir"})
	if !res.Cycled || len(cycled) != 6 {
		t.Fatalf("Cycled %v, %d evaluations; want true, 6", res.Cycled, len(cycled))
	}
	x := TensorFromImage(img)
	for i, o := range cycled {
		k := i % 4
		d, err := h.model.denoise(ctx, turned(x, k), 25/127.5)
		if err != nil {
			t.Fatal(err)
		}
		if want := unturn(d, k); !equalTensors(o, want) {
			t.Errorf("evaluation %d is not D mirrored by element %d", i, k)
		}
		if i > 0 && i < 4 && equalTensors(o, cycled[0]) {
			t.Errorf("evaluation %d equals evaluation 0", i)
		}
	}
	if res, again := run(Request{Method: "dpir", Cycle: On}); !res.Cycled || !equalTensors(again[5], cycled[5]) {
		t.Error("Cycle on: not cycled as diffpir's preset is")
	}

	for _, tc := range []struct {
		name string
		req  Request
	}{
		{"Cycle off", Request{Method: "diffpir", Cycle: Off}},
		{"a method that does not cycle", Request{Method: "dpir"}},
	} {
		res, plain := run(tc.req)
		if res.Cycled {
			t.Errorf("%s: Result.Cycled is true", tc.name)
		}
		for i := range plain {
			if !equalTensors(plain[i], cycled[0]) {
				t.Fatalf("%s: evaluation %d differs from D on the input", tc.name, i)
			}
		}
	}

	h.model.info.Dihedral = false
	defer func() { h.model.info.Dihedral = true }()
	if res, _ := run(Request{Method: "diffpir"}); res.Cycled {
		t.Error("a model without restore.augmentation=dihedral was cycled")
	}
	for _, c := range []Choice{On, "sometimes"} {
		_, err := h.Restore(ctx, Request{Task: Denoise, Image: img, Noise: 25, Cycle: c})
		if !errors.Is(err, ErrBadInput) {
			t.Errorf("cycle %q with a model that is not dihedral: %v, want ErrBadInput", c, err)
		}
	}
}

func TestParseModelInfoDihedral(t *testing.T) {
	base := map[string]string{
		"restore.parameterization": "edm-denoiser", "restore.data_range": "-1,1", "restore.sigma_min": "0.002",
		"restore.sigma_max": "80", "restore.sigma_data": "0.5", "restore.size_multiple": "8", "restore.channels": "3",
	}
	for _, tc := range []struct {
		value string
		want  bool
	}{{"dihedral", true}, {"", false}, {"flips", false}, {"Dihedral", false}} {
		props := map[string]string{}
		for k, v := range base {
			props[k] = v
		}
		if tc.value != "" {
			props["restore.augmentation"] = tc.value
		}
		mi, err := parseModelInfo(props)
		if err != nil {
			t.Fatal(err)
		}
		if mi.Dihedral != tc.want {
			t.Errorf("restore.augmentation=%q: Dihedral %v, want %v", tc.value, mi.Dihedral, tc.want)
		}
	}
}

// turnInto's check finds a NaN or an infinity wherever it lands.
func TestTurnIntoChecksFinite(t *testing.T) {
	x := sdk.NewRNG(5).Noise(3, 20, 36, 1) // 36 columns: blocks of 16 rows and a short one when transposed
	dst := sdk.NewTensor(3, 20, 36)
	for k := range 8 {
		if !turnInto(dst, x, k, true) {
			t.Fatalf("element %d: finite input reported as not finite", k)
		}
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(-1))} {
			for _, at := range []int{0, 20*36 + 7, len(x.Data) - 1} {
				y := x.Clone()
				y.Data[at] = bad
				if turnInto(dst, y, k, true) {
					t.Errorf("element %d: %v at %d not found", k, bad, at)
				}
			}
		}
	}
}

func BenchmarkTurnInto(b *testing.B) {
	x := sdk.NewRNG(4).Noise(3, 512, 512, 1)
	dst := sdk.NewTensor(3, 512, 512)
	for _, k := range []int{1, 2, 4, 5, 6} {
		b.Run(fmt.Sprint(k), func(b *testing.B) {
			b.SetBytes(int64(4 * len(x.Data)))
			for b.Loop() {
				turnInto(dst, x, k, true)
			}
		})
	}
}
