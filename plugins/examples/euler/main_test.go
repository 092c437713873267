package main

import (
	"context"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/restorekit/restore/host"
	"github.com/restorekit/restore/sdk"
	"github.com/restorekit/restore/sdk/sdktest"
)

func openHost(t *testing.T, cfg host.Config) *host.Host {
	t.Helper()
	h, err := host.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func TestConformance(t *testing.T) {
	sdktest.Check(t, euler{}, ".")
}

// TestInHost runs the example as a third-party plugin found in a plugin
// directory, and linked into a host in process: both give the same bits.
func TestInHost(t *testing.T) {
	dir := t.TempDir()
	bin := sdktest.Build(t, ".")
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "example-euler")
	if err := os.WriteFile(src, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := host.InstallPlugin(src, dir, false); err != nil { // records its checksum
		t.Fatal(err)
	}
	f, err := os.Open("../../../fixtures/images/flower-noisy25.png")
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	img = img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(image.Rect(0, 0, 64, 48))
	req := host.Request{Task: host.Denoise, Image: img, Noise: 25, Solver: "example-euler", Steps: 4, Seed: 3}

	out := openHost(t, host.Config{PluginDir: dir})
	list, errs := out.Plugins()
	if len(errs) > 0 {
		t.Fatalf("plugin errors: %v", errs)
	}
	found := false
	for _, p := range list {
		found = found || p.Name == "example-euler" && !p.Builtin()
	}
	if !found {
		t.Fatalf("example-euler not listed from the plugin directory: %+v", list)
	}
	a, err := out.Restore(context.Background(), req)
	if err != nil {
		t.Fatalf("out of process: %v", err)
	}
	in := openHost(t, host.Config{PluginDir: t.TempDir(), Plugins: []sdk.Plugin{euler{}}})
	b, err := in.Restore(context.Background(), req)
	if err != nil {
		t.Fatalf("in process: %v", err)
	}
	for i := range a.Tensor.Data {
		if math.Float32bits(a.Tensor.Data[i]) != math.Float32bits(b.Tensor.Data[i]) {
			t.Fatalf("element %d: out of process %v, in process %v", i, a.Tensor.Data[i], b.Tensor.Data[i])
		}
	}
	if a.Evaluations != 4 {
		t.Fatalf("%d evaluations, want 4", a.Evaluations)
	}
}
