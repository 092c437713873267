package host

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFaultyPlugins runs a plugin that panics, exits, hangs, or returns a
// tensor of the wrong shape or NaN: each is ErrPlugin naming the plugin,
// the host carries on (the next restoration starts a fresh process: a
// failed one's is killed, not kept), and no plugin process is left behind
// once the host is closed.
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
	// the healthy process the last restoration kept goes with the host;
	// every process started from the plugin's path is gone, children too
	if n := processesOf(t, path); n != 1 {
		t.Errorf("%d plugin processes kept between restorations, want 1 (the healthy one)", n)
	}
	h.Close()
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
func processesOf(t *testing.T, path string) int { return len(pidsOf(t, path)) }

// pidsOf lists the running processes whose executable is path (Linux), in
// ascending order; a process whose binary was replaced still counts.
func pidsOf(t *testing.T, path string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc to count processes in")
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && strings.TrimSuffix(exe, " (deleted)") == path {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestPluginProcessKept checks that a restoration reuses the plugin process
// an earlier successful one handed back, that a plugin binary replaced on
// disk is started anew (and the old process stopped), and that closing the
// host stops the process it kept.
func TestPluginProcessKept(t *testing.T) {
	dir, path := installFixturePlugin(t, "faulty")
	h := openHost(t, Config{PluginDir: dir})
	img := crop(readPNG(t, fixtures+"/images/dog-noisy25.png"), 24, 16)
	restore := func() {
		t.Helper()
		if _, err := h.Restore(context.Background(), Request{Task: Denoise, Image: img, Noise: 25, Steps: 2,
			Solver: "faulty"}); err != nil {
			t.Fatal(err)
		}
	}
	restore()
	first := pidsOf(t, path)
	restore()
	if again := pidsOf(t, path); len(first) != 1 || !slices.Equal(first, again) {
		t.Fatalf("plugin processes %v, then %v: want the same single process", first, again)
	}

	// an upgrade: the same plugin with one more byte, approved again
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(src, append(data, 0), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := InstallPlugin(src, dir, true); err != nil {
		t.Fatal(err)
	}
	restore()
	upgraded := pidsOf(t, path)
	if len(upgraded) != 1 || slices.Equal(upgraded, first) {
		t.Fatalf("after the upgrade the plugin runs as %v (before: %v): want one new process", upgraded, first)
	}
	h.Close()
	deadline := time.Now().Add(5 * time.Second)
	for len(pidsOf(t, path)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("plugin processes %v still running after Close", pidsOf(t, path))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
