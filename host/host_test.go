package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/restorekit/restore/fixtures/models"
	"github.com/restorekit/restore/sdk"
)

const fixtures = "../fixtures"

func openHost(t testing.TB, cfg Config) *Host {
	t.Helper()
	h, err := Open(cfg)
	if err != nil {
		t.Fatalf("open host (run `make ort` or set ONNXRUNTIME_SHARED_LIBRARY_PATH): %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func readPNG(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// crop returns the top-left w×h of img, as a fresh image.
func crop(img image.Image, w, h int) image.Image {
	return img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(image.Rect(0, 0, w, h))
}

// psnr is PSNR on 8-bit RGB over the whole image, peak 255.
func psnr(a, b image.Image) float64 {
	ta, tb := TensorFromImage(a), TensorFromImage(b)
	ia, ib := ImageFromTensor(ta), ImageFromTensor(tb)
	mse := 0.0
	n := 0
	for i := range ia.Pix {
		if i%4 == 3 {
			continue
		}
		d := float64(ia.Pix[i]) - float64(ib.Pix[i])
		mse += d * d
		n++
	}
	return 10 * math.Log10(255*255/(mse/float64(n)))
}

// TestModelMatchesPyTorch runs the reference input that train/export.py
// saved through ONNX Runtime and compares with PyTorch's output.
func TestModelMatchesPyTorch(t *testing.T) {
	h := openHost(t, Config{})
	data, err := os.ReadFile(filepath.Join(fixtures, "models", "default.reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Shape    []int     `json:"shape"`
		Sigma    float64   `json:"sigma"`
		X        []float32 `json:"x"`
		Denoised []float32 `json:"denoised"`
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	x := &sdk.Tensor{C: ref.Shape[1], H: ref.Shape[2], W: ref.Shape[3], Data: ref.X}
	got, err := h.model.denoise(context.Background(), x, ref.Sigma)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, v := range got.Data {
		worst = math.Max(worst, math.Abs(float64(v-ref.Denoised[i])))
	}
	if worst > 1e-4 {
		t.Fatalf("ONNX Runtime and PyTorch differ by up to %g", worst)
	}
}

func TestModelInfo(t *testing.T) {
	h := openHost(t, Config{})
	m := h.Model()
	if m.Parameterization != "edm-denoiser" || m.Channels != 3 || m.SizeMultiple < 1 {
		t.Fatalf("model info %+v", m)
	}
	if !strings.HasPrefix(h.RuntimeVersion(), "1.") {
		t.Fatalf("runtime version %q", h.RuntimeVersion())
	}
}

func TestParseModelInfo(t *testing.T) {
	good := map[string]string{
		"restore.parameterization": "edm-denoiser", "restore.data_range": "-1,1", "restore.sigma_min": "0.002",
		"restore.sigma_max": "80", "restore.sigma_data": "0.5", "restore.size_multiple": "8", "restore.channels": "3",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range good {
			m[a] = b
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name  string
		props map[string]string
		ok    bool
	}{
		{"good", good, true},
		{"no parameterization", with("restore.parameterization", ""), false},
		{"vp epsilon", with("restore.parameterization", "vp-epsilon"), false},
		{"range 0,1", with("restore.data_range", "0,1"), false},
		{"sigma_min not a number", with("restore.sigma_min", "small"), false},
		{"empty sigma range", with("restore.sigma_min", "100"), false},
		{"size multiple 0", with("restore.size_multiple", "0"), false},
		{"4 channels", with("restore.channels", "4"), false},
	}
	for _, tc := range tests {
		_, err := parseModelInfo(tc.props)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v", tc.name, err)
		}
		if err != nil && !errors.Is(err, ErrModel) {
			t.Errorf("%s: %v is not ErrModel", tc.name, err)
		}
	}
}

func TestOpenRefusesBadModels(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.onnx")
	os.WriteFile(garbage, []byte("this is not an ONNX model"), 0o644)
	for _, path := range []string{garbage, filepath.Join(dir, "missing.onnx")} {
		if _, err := Open(Config{Model: path}); !errors.Is(err, ErrModel) {
			t.Errorf("%s: got %v, want ErrModel", path, err)
		}
	}
}

func TestFindRuntime(t *testing.T) {
	if _, err := FindRuntime("/nonexistent/libonnxruntime.so.1"); !errors.Is(err, ErrRuntimeNotFound) {
		t.Fatalf("got %v", err)
	}
	t.Setenv("ONNXRUNTIME_SHARED_LIBRARY_PATH", "")
	t.Chdir(t.TempDir())
	if lib, err := FindRuntime(""); err != nil && !strings.Contains(err.Error(), "make ort") {
		t.Fatalf("the not-found message should say how to get it: %v", err)
	} else if err == nil && lib == "" {
		t.Fatal("empty library path")
	}
}

// TestRestoreTasks restores a crop of each fixture and checks that the
// result is closer to the truth than the degraded input, by a margin.
func TestRestoreTasks(t *testing.T) {
	h := openHost(t, Config{})
	truth := crop(readPNG(t, fixtures+"/images/flower.png"), 128, 96)
	kernel := readKernelText(t, fixtures+"/kernels/motion15.txt")
	tests := []struct {
		name   string
		req    Request
		input  string
		margin float64 // dB gained at least
	}{
		{"denoise", Request{Task: Denoise, Noise: 25}, "flower-noisy25.png", 5},
		{"deblur", Request{Task: Deblur, Noise: 2.55, Kernel: kernel}, "flower-blurred.png", 3},
		{"inpaint", Request{Task: Inpaint, Noise: 0, Mask: crop(readPNG(t, fixtures+"/images/flower-holes.mask.png"), 128, 96)}, "flower-holes.png", 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := crop(readPNG(t, fixtures+"/images/"+tc.input), 128, 96)
			tc.req.Image = in
			tc.req.Steps = 12
			res, err := h.Restore(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			before, after := psnr(truth, in), psnr(truth, res.Image)
			t.Logf("%s: %.2f dB → %.2f dB (%d evaluations, %v)", tc.name, before, after, res.Evaluations, res.Elapsed)
			if after < before+tc.margin {
				t.Fatalf("%s gained %.2f dB, want at least %.1f", tc.name, after-before, tc.margin)
			}
			if res.Evaluations != 12 {
				t.Fatalf("%d evaluations, want 12", res.Evaluations)
			}
		})
	}
}

func readKernelText(t testing.TB, path string) [][]float64 {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var k [][]float64
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var row []float64
		for _, f := range strings.Fields(line) {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				t.Fatal(err)
			}
			row = append(row, v)
		}
		k = append(k, row)
	}
	return k
}

func TestRestoreRepeatsWithSeed(t *testing.T) {
	h := openHost(t, Config{})
	img := crop(readPNG(t, fixtures+"/images/dog-noisy25.png"), 40, 32)
	run := func(seed uint64) *sdk.Tensor {
		res, err := h.Restore(context.Background(), Request{Task: Denoise, Image: img, Noise: 25, Steps: 5, Seed: seed,
			StartSigma: 0.5, Params: map[string]string{"zeta": "1"}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Tensor
	}
	a, b, c := run(1), run(1), run(2)
	same := func(x, y *sdk.Tensor) bool {
		for i := range x.Data {
			if x.Data[i] != y.Data[i] {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Fatal("the same seed gave different results")
	}
	if same(a, c) {
		t.Fatal("different seeds gave the same result")
	}
}

func TestRestoreCancelStopsWithinOneEvaluation(t *testing.T) {
	h := openHost(t, Config{})
	img := crop(readPNG(t, fixtures+"/images/dog-noisy25.png"), 64, 64)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	last := 0
	_, err := h.Restore(ctx, Request{Task: Denoise, Image: img, Noise: 25, Steps: 50, Progress: func(p Progress) {
		last = p.Evaluation
		if p.Evaluation == 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if last > 3 {
		t.Fatalf("%d evaluations ran, cancellation came after 3", last)
	}
}

func TestRestoreRejectsBadRequests(t *testing.T) {
	h := openHost(t, Config{})
	img := crop(readPNG(t, fixtures+"/images/dog.png"), 32, 32)
	tests := []struct {
		name string
		req  Request
		want error
	}{
		{"no image", Request{Task: Denoise}, ErrBadInput},
		{"unknown task", Request{Task: "sharpen", Image: img}, ErrBadInput},
		{"deblur without kernel", Request{Task: Deblur, Image: img}, ErrBadInput},
		{"ragged kernel", Request{Task: Deblur, Image: img, Kernel: [][]float64{{1, 2}, {3}}}, ErrBadInput},
		{"zero kernel", Request{Task: Deblur, Image: img, Kernel: [][]float64{{0, 0}, {0, 0}}}, ErrBadInput},
		{"inpaint without mask", Request{Task: Inpaint, Image: img}, ErrBadInput},
		{"mask of another size", Request{Task: Inpaint, Image: img, Mask: image.NewGray(image.Rect(0, 0, 8, 8))}, ErrBadInput},
		{"NaN noise", Request{Task: Denoise, Image: img, Noise: math.NaN()}, ErrBadInput},
		{"unknown solver", Request{Task: Denoise, Image: img, Solver: "eulr"}, ErrPluginNotFound},
		{"unknown guidance", Request{Task: Denoise, Image: img, Guidance: "dps"}, ErrPluginNotFound},
		{"unknown parameter", Request{Task: Denoise, Image: img, Params: map[string]string{"speed": "1"}}, sdk.ErrParam},
		{"parameter out of range", Request{Task: Denoise, Image: img, Params: map[string]string{"zeta": "2"}}, sdk.ErrParam},
	}
	for _, tc := range tests {
		if _, err := h.Restore(context.Background(), tc.req); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestEstimateNoise adds known noise to a fixture photo, measured as a
// camera would deliver it (clipped, 8-bit), whole or through a mask that
// hides 70% of its pixels at random.
func TestEstimateNoise(t *testing.T) {
	clean := TensorFromImage(readPNG(t, fixtures+"/images/flower.png"))
	random70 := sdk.NewTensor(1, clean.H, clean.W)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random70.Data {
		if rng.Float64() >= 0.7 {
			random70.Data[i] = 1
		}
	}
	for _, tc := range []struct {
		level    float64 // 8-bit levels
		observed *sdk.Tensor
		tol      float64 // levels
	}{
		{0, nil, 1.5}, // a halved JPEG: some of its compression noise is left
		{2.55, nil, 0.3},
		{10, nil, 0.5},
		{25, nil, 1.5},
		{50, nil, 6},     // clipping hides the tails
		{0, random70, 3}, // from ~530 whole 2×2 patches
		{10, random70, 1.5},
	} {
		noisy := clean.Clone()
		noise := sdk.NewRNG(1).Noise(clean.C, clean.H, clean.W, tc.level/127.5)
		for i := range noisy.Data {
			noisy.Data[i] += noise.Data[i]
		}
		noisy = TensorFromImage(ImageFromTensor(noisy))
		got := EstimateNoise(noisy, tc.observed) * 127.5
		if math.Abs(got-tc.level) > tc.tol {
			t.Errorf("noise %g (masked %v) estimated as %.2f; want within %g", tc.level, tc.observed != nil, got, tc.tol)
		}
		t.Logf("noise %g (masked %v): %.2f levels; Donoho's rule %.2f", tc.level, tc.observed != nil, got, haarNoise(noisy, tc.observed)*127.5)
	}
}

func TestDefaultModelIsEmbedded(t *testing.T) {
	if len(models.Default()) < 1000 {
		t.Fatal("the default model is not embedded")
	}
}

// logBuffer collects log lines for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestPluginStderrReachesTheLog runs a third-party plugin that writes to
// stderr and finds its line in the host's log.
func TestPluginStderrReachesTheLog(t *testing.T) {
	dir, _ := installFixturePlugin(t, "chatty")
	var logs logBuffer
	h := openHost(t, Config{PluginDir: dir, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	img := crop(readPNG(t, fixtures+"/images/dog-noisy25.png"), 32, 32)
	res, err := h.Restore(context.Background(), Request{Task: Denoise, Image: img, Noise: 25, Steps: 3, Solver: "chatty"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Solver != "chatty" || res.Evaluations != 3 {
		t.Fatalf("result %+v", res)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "chatty: sampling 3 steps") {
		if time.Now().After(deadline) {
			t.Fatalf("the plugin's stderr line is not in the host log:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestConcurrentRestores runs restorations from several goroutines on one host.
func TestConcurrentRestores(t *testing.T) {
	h := openHost(t, Config{})
	img := crop(readPNG(t, fixtures+"/images/dog-noisy25.png"), 32, 24)
	want, err := h.Restore(context.Background(), Request{Task: Denoise, Image: img, Noise: 25, Steps: 3})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := h.Restore(context.Background(), Request{Task: Denoise, Image: img, Noise: 25, Steps: 3})
			if err != nil {
				errs <- err
				return
			}
			for j := range got.Tensor.Data {
				if got.Tensor.Data[j] != want.Tensor.Data[j] {
					errs <- fmt.Errorf("concurrent result differs at %d", j)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
