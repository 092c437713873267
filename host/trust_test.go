package host

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/restorekit/restore/sdk/sdktest"
)

// TestPluginTrust: a third-party plugin runs only as installed. Copied in
// without a checksum it is refused (and never started); installed, it
// runs; changed afterwards, it is refused with how to approve it again;
// AllowUnverified runs it anyway.
func TestPluginTrust(t *testing.T) {
	bin := buildFixturePlugin(t, "chatty")
	img := crop(readPNG(t, fixtures+"/images/dog-noisy25.png"), 16, 16)
	req := Request{Task: Denoise, Image: img, Noise: 25, Steps: 2, Solver: "chatty"}
	dir := t.TempDir()
	path := filepath.Join(dir, "chatty")
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	h := openHost(t, Config{PluginDir: dir})
	run := func(h *Host) error {
		_, err := h.Restore(context.Background(), req)
		return err
	}

	// copied in by hand: refused, and listed as an error, not a plugin
	if err := run(h); !errors.Is(err, ErrUnverified) {
		t.Fatalf("unverified plugin: got %v, want ErrUnverified", err)
	}
	if _, errs := h.Plugins(); len(errs) != 1 || !errors.Is(errs[0], ErrUnverified) || !strings.Contains(errs[0].Error(), "restore plugins install") {
		t.Fatalf("listing errors %v, want one ErrUnverified saying how to approve it", errs)
	}
	if trust, _, _ := VerifyPlugin(path); trust != TrustMissing {
		t.Fatalf("trust %s, want missing", trust)
	}

	// installed: runs
	if _, err := InstallPlugin(bin, dir, false); err == nil {
		t.Fatal("installing over an existing plugin without replace succeeded")
	}
	if _, err := InstallPlugin(bin, dir, true); err != nil {
		t.Fatal(err)
	}
	if trust, _, err := VerifyPlugin(path); trust != TrustOK || err != nil {
		t.Fatalf("trust %s (%v), want ok", trust, err)
	}
	if err := run(h); err != nil {
		t.Fatalf("installed plugin: %v", err)
	}

	// tampered with: refused, naming how to re-approve (replaced, not
	// written in place: the host keeps the plugin's process running, and
	// Linux refuses to write to a running executable)
	if err := os.WriteFile(path+".new", append(data, 0), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	if trust, _, _ := VerifyPlugin(path); trust != TrustMismatch {
		t.Fatalf("trust %s, want mismatch", trust)
	}
	_, errs := h.Plugins()
	if len(errs) != 1 || !errors.Is(errs[0], ErrUnverified) || !strings.Contains(errs[0].Error(), "changed") {
		t.Fatalf("listing errors %v, want one saying the binary changed", errs)
	}
	if err := run(h); !errors.Is(err, ErrUnverified) {
		t.Fatalf("a changed plugin: got %v, want ErrUnverified", err)
	}

	// development: allowed
	dev := openHost(t, Config{PluginDir: dir, AllowUnverified: true})
	if err := run(dev); err != nil {
		t.Fatalf("AllowUnverified: %v", err)
	}
}

// TestPluginEnvironment: a plugin inherits none of the host's environment
// beyond PATH, TMPDIR and the garbage collector's settings.
func TestPluginEnvironment(t *testing.T) {
	t.Setenv("RESTORE_TEST_SECRET", "hunter2")
	t.Setenv("GOGC", "400")
	gogc := false
	for _, kv := range pluginEnv() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains([]string{"PATH", "TMPDIR", "GOGC", "GOMEMLIMIT"}, name) {
			t.Fatalf("plugin environment carries %q", kv)
		}
		gogc = gogc || kv == "GOGC=400"
	}
	if !gogc {
		t.Fatal("GOGC did not reach the plugin environment")
	}
}

// buildFixturePlugin builds fixtures/plugins/NAME into a file named NAME
// (install takes the file's name) and returns its path.
func buildFixturePlugin(t testing.TB, name string) string {
	t.Helper()
	built := sdktest.Build(t, "../fixtures/plugins/"+name)
	bin := filepath.Join(t.TempDir(), name)
	data, err := os.ReadFile(built)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// installFixturePlugin builds fixtures/plugins/NAME and installs it into a
// fresh plugin directory; it returns the directory and the installed path.
func installFixturePlugin(t testing.TB, name string) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	path, err := InstallPlugin(buildFixturePlugin(t, name), dir, false)
	if err != nil {
		t.Fatal(err)
	}
	return dir, path
}
