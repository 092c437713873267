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
