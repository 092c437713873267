package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/restorekit/restore/sdk"
	"github.com/restorekit/restore/sdk/operator"
)

// ErrModel reports a score model the host cannot use.
var ErrModel = errors.New("invalid score model")

// ModelInfo is the contract a score model declares in its ONNX metadata.
type ModelInfo struct {
	Parameterization string  // "edm-denoiser": D(x, σ) directly
	SigmaMin         float64 // smallest σ the model was trained on
	SigmaMax         float64 // largest σ the model was trained on
	SigmaData        float64
	SizeMultiple     int // H and W are padded to a multiple of this
	Channels         int
	// Dihedral says the model was trained on images flipped and turned by
	// 90° (metadata restore.augmentation = "dihedral"), so it may be
	// evaluated on turned copies (Request.Ensemble, cycling).
	Dihedral bool
	Props    map[string]string // every metadata property, as read
}

// parseModelInfo reads and checks the restore.* metadata properties.
func parseModelInfo(props map[string]string) (ModelInfo, error) {
	mi := ModelInfo{Props: props}
	mi.Parameterization = props["restore.parameterization"]
	if mi.Parameterization == "" {
		return mi, fmt.Errorf("%w: no restore.parameterization metadata (was it exported by train/export.py?)", ErrModel)
	}
	if mi.Parameterization != "edm-denoiser" {
		return mi, fmt.Errorf("%w: parameterization %q is not one this host understands (edm-denoiser)", ErrModel, mi.Parameterization)
	}
	if r := props["restore.data_range"]; r != "-1,1" {
		return mi, fmt.Errorf("%w: data range %q, want -1,1", ErrModel, r)
	}
	num := func(key string, dst *float64) error {
		v, err := strconv.ParseFloat(strings.TrimSpace(props[key]), 64)
		if err != nil || !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: metadata %s=%q is not a finite positive number", ErrModel, key, props[key])
		}
		*dst = v
		return nil
	}
	for _, f := range []struct {
		key string
		dst *float64
	}{{"restore.sigma_min", &mi.SigmaMin}, {"restore.sigma_max", &mi.SigmaMax}, {"restore.sigma_data", &mi.SigmaData}} {
		if err := num(f.key, f.dst); err != nil {
			return mi, err
		}
	}
	if mi.SigmaMin >= mi.SigmaMax {
		return mi, fmt.Errorf("%w: sigma range [%g, %g] is empty", ErrModel, mi.SigmaMin, mi.SigmaMax)
	}
	var err error
	if mi.SizeMultiple, err = strconv.Atoi(props["restore.size_multiple"]); err != nil || mi.SizeMultiple < 1 || mi.SizeMultiple > 1024 {
		return mi, fmt.Errorf("%w: metadata restore.size_multiple=%q", ErrModel, props["restore.size_multiple"])
	}
	if mi.Channels, err = strconv.Atoi(props["restore.channels"]); err != nil || (mi.Channels != 1 && mi.Channels != 3) {
		return mi, fmt.Errorf("%w: metadata restore.channels=%q, want 1 or 3", ErrModel, props["restore.channels"])
	}
	mi.Dihedral = props["restore.augmentation"] == "dihedral"
	return mi, nil
}

// model is a loaded score model: one long-lived ONNX Runtime session.
type model struct {
	info   ModelInfo
	sess   *ort.DynamicAdvancedSession
	device string // the execution provider that runs it
	tile   int    // tile side (a multiple of the size multiple); 0: never tile
	spare  buffers
}

// buffers keeps a few float32 buffers that nothing holds any more (padded
// network inputs and outputs, turned copies: see cycling in ensemble.go)
// for the next evaluations. A fresh image-sized allocation is cleared and,
// on new pages, faulted in: costs that show beside a network evaluation.
type buffers struct {
	mu   sync.Mutex
	free [][]float32
}

// take returns a buffer of n values, not cleared.
func (b *buffers) take(n int) []float32 {
	b.mu.Lock()
	defer b.mu.Unlock()
	for j, d := range b.free {
		if len(d) == n {
			b.free = slices.Delete(b.free, j, j+1)
			return d
		}
	}
	return make([]float32, n)
}

// give keeps d, which its caller and nothing else holds, for take.
func (b *buffers) give(d []float32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.free) == 6 {
		b.free = slices.Delete(b.free, 0, 1) // the oldest goes
	}
	b.free = append(b.free, d)
}

// Devices that Config.Device names.
const (
	DeviceAuto   = "auto"   // CUDA, else WebGPU, else the CPU
	DeviceCPU    = "cpu"    // ONNX Runtime's CPU provider
	DeviceCUDA   = "cuda"   // NVIDIA GPUs (an ONNX Runtime built with CUDA)
	DeviceWebGPU = "webgpu" // WebGPU through Dawn (Vulkan on Linux)
)

// ErrDevice reports a device that cannot run the model (with StrictDevice,
// or when named explicitly and unavailable).
var ErrDevice = errors.New("device unavailable")

// deviceOptions holds what loadModel needs to choose an execution provider.
type deviceOptions struct {
	device  string // DeviceAuto, DeviceCPU, …
	strict  bool   // fail instead of falling back
	cudaID  int
	cudaMem int64 // bytes, 0: ONNX Runtime's default
	logger  *slog.Logger
}

// appendProvider adds one execution provider to opts.
func appendProvider(opts *ort.SessionOptions, device string, d deviceOptions) error {
	switch device {
	case DeviceCUDA:
		co, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return err
		}
		defer co.Destroy()
		set := map[string]string{"device_id": strconv.Itoa(d.cudaID)}
		if d.cudaMem > 0 {
			set["gpu_mem_limit"] = strconv.FormatInt(d.cudaMem, 10)
		}
		if err := co.Update(set); err != nil {
			return err
		}
		return opts.AppendExecutionProviderCUDA(co)
	case DeviceWebGPU:
		return opts.AppendExecutionProvider("WebGPU", nil)
	}
	return nil
}

func loadModel(name string, data []byte, threads int, dev deviceOptions) (*model, error) {
	meta, err := ort.GetModelMetadataWithONNXData(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrModel, name, err)
	}
	keys, err := meta.GetCustomMetadataMapKeys()
	if err != nil {
		meta.Destroy()
		return nil, fmt.Errorf("%w: %s: %w", ErrModel, name, err)
	}
	props := map[string]string{}
	for _, k := range keys {
		v, _, err := meta.LookupCustomMetadataMap(k)
		if err == nil {
			props[k] = v
		}
	}
	meta.Destroy()
	info, err := parseModelInfo(props)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	candidates := []string{dev.device}
	switch dev.device {
	case "", DeviceAuto:
		candidates = []string{DeviceCUDA}
		if haveVulkan() && haveGPUDevice() {
			// Without a Vulkan loader WebGPU cannot start (and Dawn says so
			// on stderr); without a GPU it would run on a software
			// rasteriser, tens of times slower than the CPU provider.
			candidates = append(candidates, DeviceWebGPU)
		}
		candidates = append(candidates, DeviceCPU)
	case DeviceCPU, DeviceCUDA, DeviceWebGPU:
		if !dev.strict && dev.device != DeviceCPU {
			candidates = append(candidates, DeviceCPU)
		}
	default:
		return nil, fmt.Errorf("%w: unknown device %q (auto, cpu, cuda or webgpu)", ErrDevice, dev.device)
	}
	var tried []string
	for _, device := range candidates {
		sess, err := newSession(data, threads, device, dev)
		if err == nil {
			if len(tried) > 0 && dev.logger != nil {
				dev.logger.Info("execution provider", "device", device, "unavailable", strings.Join(tried, "; "))
			}
			return &model{info: info, sess: sess, device: device}, nil
		}
		if errors.Is(err, ErrModel) {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		tried = append(tried, device+": "+err.Error())
	}
	return nil, fmt.Errorf("%w: %s", ErrDevice, strings.Join(tried, "; "))
}

// haveVulkan reports whether a Vulkan loader (libvulkan.so.1), which
// WebGPU needs on Linux, is on the library path.
func haveVulkan() bool {
	dirs := []string{"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib", "/lib/x86_64-linux-gnu"}
	dirs = append(filepath.SplitList(os.Getenv("LD_LIBRARY_PATH")), dirs...)
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "libvulkan.so.1")); err == nil {
			return true
		}
	}
	return false
}

// haveGPUDevice reports whether the kernel exposes a GPU: a DRM render
// node or an NVIDIA device.
func haveGPUDevice() bool {
	nodes, _ := filepath.Glob("/dev/dri/renderD*")
	if len(nodes) > 0 {
		return true
	}
	_, err := os.Stat("/dev/nvidia0")
	return err == nil
}

// newSession opens the model on one device.
func newSession(data []byte, threads int, device string, dev deviceOptions) (*ort.DynamicAdvancedSession, error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(threads); err != nil {
		return nil, fmt.Errorf("set threads: %w", err)
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("set threads: %w", err)
	}
	// Spinning threads burn the cores while plugins and guidance run between evaluations.
	if err := opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
		return nil, fmt.Errorf("session config: %w", err)
	}
	if err := appendProvider(opts, device, dev); err != nil {
		return nil, err
	}
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(data, []string{"x", "sigma"}, []string{"denoised"}, opts)
	if err != nil {
		if device == DeviceCPU {
			return nil, fmt.Errorf("%w: %w", ErrModel, err)
		}
		return nil, err
	}
	return sess, nil
}

func readModelFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrModel, err)
	}
	return data, nil
}

func (m *model) close() { m.sess.Destroy() }

// denoise evaluates D(x, σ) once, padding H and W (reflectively) to the
// model's size multiple.
func (m *model) denoise(ctx context.Context, x *sdk.Tensor, sigma float64) (*sdk.Tensor, error) {
	out, err := m.denoiseBatch(ctx, []*sdk.Tensor{x}, []float64{sigma})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// denoiseBatch evaluates D(xs[i], sigmas[i]) for same-shaped inputs: in
// one network run, or tile by tile when the image is larger than the tile.
func (m *model) denoiseBatch(ctx context.Context, xs []*sdk.Tensor, sigmas []float64) ([]*sdk.Tensor, error) {
	if m.tile > 0 && (xs[0].H > m.tile || xs[0].W > m.tile) {
		return m.denoiseTiled(ctx, xs, sigmas)
	}
	return m.runBatch(ctx, xs, sigmas)
}

// runBatch evaluates same-shaped whole inputs in one network run, padding
// them reflectively to the size multiple.
func (m *model) runBatch(ctx context.Context, xs []*sdk.Tensor, sigmas []float64) ([]*sdk.Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	x := xs[0]
	if x.C != m.info.Channels {
		return nil, fmt.Errorf("%w: model takes %d channels, image has %d", ErrModel, m.info.Channels, x.C)
	}
	k := m.info.SizeMultiple
	ph, pw := (x.H+k-1)/k*k, (x.W+k-1)/k*k
	n := len(xs)
	item := x.C * ph * pw
	var batch []float32
	if n == 1 {
		batch = padReflect(x, ph, pw).Data
		if ph != x.H || pw != x.W {
			defer m.spare.give(batch)
		}
	} else {
		batch = make([]float32, n*item)
		for i, xi := range xs {
			if !xi.SameShape(x) {
				return nil, fmt.Errorf("%w: batch of %v and %v", sdk.ErrShape, x, xi)
			}
			copy(batch[i*item:(i+1)*item], padReflect(xi, ph, pw).Data)
		}
	}
	xt, err := ort.NewTensor(ort.NewShape(int64(n), int64(x.C), int64(ph), int64(pw)), batch)
	if err != nil {
		return nil, fmt.Errorf("input tensor: %w", err)
	}
	defer xt.Destroy()
	sv := make([]float32, n)
	for i, s := range sigmas {
		sv[i] = float32(s)
	}
	st, err := ort.NewTensor(ort.NewShape(int64(n)), sv)
	if err != nil {
		return nil, fmt.Errorf("sigma tensor: %w", err)
	}
	defer st.Destroy()
	// The output goes straight into memory of ours (ONNX Runtime would
	// otherwise allocate it and the binding copy it out: two image-sized
	// copies per evaluation); unpadded single images become the result as
	// they are.
	data := m.spare.take(n * item) // the network writes every value
	ot, err := ort.NewTensor(ort.NewShape(int64(n), int64(x.C), int64(ph), int64(pw)), data)
	if err != nil {
		return nil, fmt.Errorf("output tensor: %w", err)
	}
	defer ot.Destroy()
	if err := m.sess.Run([]ort.Value{xt, st}, []ort.Value{ot}); err != nil {
		return nil, fmt.Errorf("%w: run: %w", ErrModel, err)
	}
	if n == 1 && ph == x.H && pw == x.W {
		return []*sdk.Tensor{{C: x.C, H: x.H, W: x.W, Data: data}}, nil
	}
	outs := make([]*sdk.Tensor, n)
	for i := range outs {
		out := sdk.NewTensor(x.C, x.H, x.W)
		d := data[i*item : (i+1)*item]
		for c := 0; c < x.C; c++ {
			for y := 0; y < x.H; y++ {
				copy(out.Data[(c*x.H+y)*x.W:(c*x.H+y+1)*x.W], d[(c*ph+y)*pw:(c*ph+y)*pw+x.W])
			}
		}
		outs[i] = out
	}
	m.spare.give(data)
	return outs, nil
}

// padReflect extends x to h×w by reflection at the bottom and right edges.
func padReflect(x *sdk.Tensor, h, w int) *sdk.Tensor {
	if h == x.H && w == x.W {
		return x
	}
	out := sdk.NewTensor(x.C, h, w)
	for c := 0; c < x.C; c++ {
		for y := 0; y < h; y++ {
			sy := operator.Reflect(y, x.H)
			for xx := 0; xx < w; xx++ {
				out.Data[(c*h+y)*w+xx] = x.Data[(c*x.H+sy)*x.W+operator.Reflect(xx, x.W)]
			}
		}
	}
	return out
}
