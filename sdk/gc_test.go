package sdk

import (
	"os"
	"runtime/debug"
	"sync"
	"testing"
)

// TestPluginGC: a plugin process collects garbage less often until it
// receives a large tensor, and never overrides a GOGC from its environment.
func TestPluginGC(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	reset := func() { pluginGC.tuned = false; pluginGC.restored = *new(sync.Once) }
	defer reset()

	if v, ok := os.LookupEnv("GOGC"); ok {
		defer os.Setenv("GOGC", v)
	}
	os.Unsetenv("GOGC")
	reset()
	tunePluginGC()
	if p := debug.SetGCPercent(-1); p != pluginGCPercent {
		t.Fatalf("GOGC %d after tuning, want %d", p, pluginGCPercent)
	}
	debug.SetGCPercent(pluginGCPercent)
	sawTensor(4 * 3 * 512 * 512)
	if p := debug.SetGCPercent(-1); p != pluginGCPercent {
		t.Fatalf("GOGC %d after a 3 MiB tensor, want %d", p, pluginGCPercent)
	}
	debug.SetGCPercent(pluginGCPercent)
	sawTensor(largeTensorBytes)
	if p := debug.SetGCPercent(-1); p != 100 {
		t.Fatalf("GOGC %d after a large tensor, want 100", p)
	}

	t.Setenv("GOGC", "250")
	debug.SetGCPercent(250)
	reset()
	tunePluginGC()
	sawTensor(largeTensorBytes)
	if p := debug.SetGCPercent(-1); p != 250 {
		t.Fatalf("GOGC %d with GOGC=250 in the environment, want 250 kept", p)
	}
}
