package host

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// ORTVersion is the ONNX Runtime version `make ort` installs and the host is tested with.
const ORTVersion = "1.30.0"

// ortLibName is the file name of ONNX Runtime's shared library on Linux.
const ortLibName = "libonnxruntime.so.1"

// ErrRuntimeNotFound reports that no ONNX Runtime library could be found.
var ErrRuntimeNotFound = errors.New("ONNX Runtime library not found")

// runtime is the process-wide ONNX Runtime environment: onnxruntime_go keeps
// one per process, so hosts share it and the last Close tears it down.
var runtime struct {
	mu   sync.Mutex
	refs int
	lib  string
}

// FindRuntime returns the ONNX Runtime library to load: explicit (a path
// given by the caller), then $ONNXRUNTIME_SHARED_LIBRARY_PATH, then the
// cache folder `make ort` fills (beside the executable's directory, in the
// working directory or one of its parents, or in the user's cache
// directory), then the system's library paths.
func FindRuntime(explicit string) (string, error) {
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", fmt.Errorf("%w: --ort-lib %s: %w", ErrRuntimeNotFound, explicit, err)
		}
		return explicit, nil
	}
	if env := os.Getenv("ONNXRUNTIME_SHARED_LIBRARY_PATH"); env != "" {
		if _, err := os.Stat(env); err != nil {
			return "", fmt.Errorf("%w: $ONNXRUNTIME_SHARED_LIBRARY_PATH=%s: %w", ErrRuntimeNotFound, env, err)
		}
		return env, nil
	}
	for _, p := range runtimeCandidates() {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: run `make ort` in the restore repository, or pass --ort-lib FILE "+
		"(or set ONNXRUNTIME_SHARED_LIBRARY_PATH) pointing at %s from ONNX Runtime %s",
		ErrRuntimeNotFound, ortLibName, ORTVersion)
}

// CacheDir is the folder, relative to the repository root, that `make ort` fills.
const CacheDir = ".cache/onnxruntime-" + ORTVersion

func runtimeCandidates() []string {
	var out []string
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		out = append(out, filepath.Join(dir, ortLibName), filepath.Join(dir, "..", CacheDir, ortLibName))
	}
	if wd, err := os.Getwd(); err == nil {
		// The working directory and its parents: `go test` runs in a package
		// directory below the repository root.
		for dir := wd; ; dir = filepath.Dir(dir) {
			out = append(out, filepath.Join(dir, CacheDir, ortLibName))
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	if dir, err := os.UserCacheDir(); err == nil {
		out = append(out, filepath.Join(dir, "restore", "onnxruntime-"+ORTVersion, ortLibName))
	}
	for _, d := range []string{"/usr/local/lib", "/usr/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu"} {
		out = append(out, filepath.Join(d, ortLibName))
	}
	return out
}

// acquireRuntime initialises ONNX Runtime from lib (once per process) and
// returns its version.
func acquireRuntime(lib string) (string, error) {
	runtime.mu.Lock()
	defer runtime.mu.Unlock()
	if runtime.refs > 0 {
		if lib != runtime.lib {
			return "", fmt.Errorf("ONNX Runtime already loaded from %s; cannot also load %s in one process", runtime.lib, lib)
		}
		runtime.refs++
		return ort.GetVersion(), nil
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(); err != nil {
		return "", fmt.Errorf("load ONNX Runtime %s: %w", lib, err)
	}
	runtime.refs = 1
	runtime.lib = lib
	return ort.GetVersion(), nil
}

func releaseRuntime() {
	runtime.mu.Lock()
	defer runtime.mu.Unlock()
	runtime.refs--
	if runtime.refs == 0 {
		_ = ort.DestroyEnvironment()
		runtime.lib = ""
	}
}
