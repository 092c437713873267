package host

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFaultyPlugins runs a plugin that panics, exits, hangs, or returns a
// tensor of the wrong shape or NaN: each is ErrPlugin naming the plugin,
// the host carries on (the next restoration starts a fresh process), and
// no plugin process is left behind.
func TestFaultyPlugins(t *testing.T) {
	dir, path := installFixturePlugin(t, "faulty")
	h := openHost(t, Config{PluginDir: dir, PluginTimeout: 2 * time.Second})
	img := crop(readPNG(t, fixtures+"/images/dog-noisy25.png"), 24, 16)
	restore := func(mode string) error {
		_, err := h.Restore(context.Background(), Request{Task: Denoise, Image: img, Noise: 25, Steps: 3,
			Solver: "faulty", Params: map[string]string{"mode": mode}})
		return err
	}
	tests := []struct{ mode, says string }{
		{"panic", "faulty"},
		{"exit", "faulty"},
		{"hang", "no progress"},
		{"hang-later", "no progress"},
		{"shape", "returned"},
		{"nan", "NaN"},
		{"spawn-hang", "no progress"}, // its child is counted below
		{"spawn-panic", "faulty"},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			start := time.Now()
			err := restore(tc.mode)
			if !errors.Is(err, ErrPlugin) || !strings.Contains(err.Error(), "faulty") || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v, want ErrPlugin naming faulty and saying %q", err, tc.says)
			}
			t.Logf("%s: %v after %v", tc.mode, err, time.Since(start).Round(time.Millisecond))
			if err := restore("ok"); err != nil {
				t.Fatalf("the next restoration failed: %v", err)
			}
		})
	}
	// every process started from the plugin's path is gone, children too
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := processesOf(t, path)
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d plugin processes still running", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// processesOf counts running processes whose executable is path (Linux).
func processesOf(t *testing.T, path string) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc to count processes in")
	}
	n := 0
	for _, e := range entries {
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && strings.TrimSuffix(exe, " (deleted)") == path {
			n++
		}
	}
	return n
}
