package sdk

import (
	"os"
	"runtime/debug"
	"sync"
)

// A plugin process holds little between calls, so at the garbage
// collector's default pace (a collection each time the heap doubles) it
// collects after every image-sized tensor and hands the pages back to the
// system, and the next tensor it receives pays again for faulting in and
// zeroing them: ~1.3 ms for a 512×512 RGB tensor, against ~0.1 ms for
// copying it, and four of them cross per evaluation. Serve therefore
// lets the heap grow five-fold between collections (GOGC=400) until the
// tensors get large; from a tensor of largeTensorBytes on, memory matters
// more than those faults and it returns to the default. A GOGC set in the
// plugin's environment is left alone.

const (
	pluginGCPercent  = 400
	largeTensorBytes = 32 << 20
)

var pluginGC struct {
	tuned    bool // Serve raised GOGC
	restored sync.Once
}

// tunePluginGC raises GOGC in a plugin process unless its environment sets it.
func tunePluginGC() {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	debug.SetGCPercent(pluginGCPercent)
	pluginGC.tuned = true
}

// sawTensor returns GOGC to its default once a plugin process receives a
// large tensor.
func sawTensor(bytes int) {
	if pluginGC.tuned && bytes >= largeTensorBytes {
		pluginGC.restored.Do(func() { debug.SetGCPercent(100) })
	}
}
