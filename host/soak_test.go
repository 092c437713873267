package host

import (
	"context"
	"os"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/restorekit/restore/sdk"
)

// TestSoak restores 50 small images in one host with an out-of-process
// solver (one process, kept between restorations; every fifth restoration
// fails and has its process killed, so the next one starts afresh):
// goroutines, open files and heap must stay flat between the 10th and the
// 50th, and closing the host removes the last shared tensor folder.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test: skipped with -short")
	}
	dir, path := installFixturePlugin(t, "faulty")
	h := openHost(t, Config{PluginDir: dir})
	// 160×160 RGB: 300 KiB tensors, large enough to cross as files (sdk/wire.go)
	img := crop(readPNG(t, fixtures+"/images/dog-noisy25.png"), 160, 160)
	type usage struct {
		goroutines, files int
		heap              uint64
		wireDirs          int // this process's shared tensor folders still there
	}
	measure := func() usage {
		time.Sleep(200 * time.Millisecond) // let exited plugins' goroutines wind down
		goruntime.GC()
		var m goruntime.MemStats
		goruntime.ReadMemStats(&m)
		fds, _ := os.ReadDir("/proc/self/fd")
		return usage{goruntime.NumGoroutine(), len(fds), m.HeapAlloc, wireDirs(t)}
	}
	var at10 usage
	for i := 1; i <= 50; i++ {
		mode := "ok"
		if i%5 == 2 {
			mode = "panic"
		}
		_, err := h.Restore(context.Background(), Request{Task: Denoise, Image: img, Noise: 25, Steps: 2,
			Solver: "faulty", Seed: uint64(i), Params: map[string]string{"mode": mode}})
		if (err != nil) != (mode == "panic") {
			t.Fatalf("restoration %d (%s): %v", i, mode, err)
		}
		if i == 10 {
			at10 = measure()
		}
	}
	at50 := measure()
	t.Logf("after 10: %+v; after 50: %+v", at10, at50)
	if at50.goroutines > at10.goroutines+5 || at50.files > at10.files+5 || at50.heap > at10.heap+32<<20 ||
		at10.wireDirs != 1 || at50.wireDirs != 1 {
		t.Fatalf("resources grew from %+v to %+v over 40 restorations", at10, at50)
	}
	if n := processesOf(t, path); n != 1 {
		t.Fatalf("%d plugin processes after 50 restorations, want the one kept", n)
	}
	h.Close()
	if n := wireDirs(t); n != 0 {
		t.Fatalf("%d shared tensor folders left after the host closed", n)
	}
}

// wireDirs counts the folders this process made for plugins' tensors that
// still exist (each should go with its plugin process).
func wireDirs(t *testing.T) int {
	n := 0
	for _, base := range []string{"/dev/shm", os.TempDir()} {
		entries, _ := os.ReadDir(base)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), sdk.WireDirPrefix(os.Getpid())) {
				n++
			}
		}
	}
	return n
}
