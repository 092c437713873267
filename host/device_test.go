package host

import (
	"context"
	"errors"
	"testing"
)

// TestDevices opens the model on each device. The CPU always works; auto
// falls back to the CPU where ONNX Runtime has no GPU provider (as the
// CPU build `make ort` fetches), a named GPU falls back unless strict, and
// a strict unavailable device is ErrDevice naming what failed.
func TestDevices(t *testing.T) {
	img := crop(readPNG(t, fixtures+"/images/dog-noisy25.png"), 16, 16)
	for _, tc := range []struct {
		device string
		strict bool
	}{
		{DeviceCPU, true}, {DeviceAuto, false}, {DeviceCUDA, false}, {DeviceWebGPU, false}, {DeviceCUDA, true},
	} {
		t.Run(tc.device, func(t *testing.T) {
			h, err := Open(Config{Device: tc.device, StrictDevice: tc.strict, Threads: 1})
			if err != nil {
				if tc.strict && tc.device != DeviceCPU && errors.Is(err, ErrDevice) {
					t.Logf("strict %s unavailable: %v", tc.device, err)
					return
				}
				t.Fatal(err)
			}
			defer h.Close()
			res, err := h.Restore(context.Background(), Request{Task: Denoise, Image: img, Noise: 25, Steps: 1})
			if err != nil {
				t.Fatal(err)
			}
			if res.Device != h.Device() || res.Device == "" {
				t.Fatalf("result says %q, host says %q", res.Device, h.Device())
			}
			if tc.device == DeviceCPU && res.Device != DeviceCPU {
				t.Fatalf("asked for the CPU, ran on %s", res.Device)
			}
			t.Logf("%s (strict %v) ran on %s", tc.device, tc.strict, res.Device)
		})
	}
	if _, err := Open(Config{Device: "tpu"}); !errors.Is(err, ErrDevice) {
		t.Fatalf("unknown device: got %v, want ErrDevice", err)
	}
}

// TestWebGPUMatchesCPU runs a small restoration on the WebGPU provider and
// compares it with the CPU's. On a machine without a GPU it runs on Mesa's
// software Vulkan driver (lavapipe, Mesa ≥ 25, from bookworm-backports:
// .ci/run installs it), ~45× slower than the CPU, so the image is tiny.
func TestWebGPUMatchesCPU(t *testing.T) {
	if !haveVulkan() {
		t.Skip("no Vulkan loader (libvulkan.so.1): .ci/run installs mesa-vulkan-drivers and libvulkan1 from bookworm-backports for this test")
	}
	img := crop(readPNG(t, fixtures+"/images/dog-noisy25.png"), 32, 32)
	req := Request{Task: Denoise, Image: img, Noise: 25, Steps: 2}
	gpu, err := Open(Config{Device: DeviceWebGPU, StrictDevice: true, Threads: 2})
	if err != nil {
		t.Skipf("WebGPU does not open here (%v); Mesa ≥ 25's lavapipe is needed", err)
	}
	defer gpu.Close()
	cpu := openHost(t, Config{Device: DeviceCPU, Threads: 2})
	a, err := gpu.Restore(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cpu.Restore(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if a.Device != DeviceWebGPU || b.Device != DeviceCPU {
		t.Fatalf("ran on %s and %s", a.Device, b.Device)
	}
	worst := maxAbsDiff(a.Tensor, b.Tensor)
	t.Logf("WebGPU vs CPU: largest difference %.2g (model units; an 8-bit level is %.2g)", worst, 2.0/255)
	if worst > 1e-3 {
		t.Fatalf("WebGPU and CPU differ by %g, more than 1e-3", worst)
	}
}
