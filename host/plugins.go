package host

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/restorekit/restore/internal/suggest"
	"github.com/restorekit/restore/plugins"
	"github.com/restorekit/restore/sdk"
)

// ErrPluginNotFound reports a solver or guidance name no plugin answers to.
var ErrPluginNotFound = errors.New("plugin not found")

// ErrPlugin reports a plugin that failed: it would not start, crashed, or broke the contract.
var ErrPlugin = errors.New("plugin failed")

// PluginInfo describes an available plugin.
type PluginInfo struct {
	sdk.Info
	// Path is the executable of a third-party plugin; empty for built-ins.
	Path string
}

// Builtin reports whether the plugin runs in process as part of restore.
func (p PluginInfo) Builtin() bool { return p.Path == "" }

// DefaultPluginDir is where third-party plugins are looked for when neither
// Config.PluginDir nor $RESTORE_PLUGIN_DIR says otherwise.
func DefaultPluginDir() string {
	if d := os.Getenv("RESTORE_PLUGIN_DIR"); d != "" {
		return d
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "restore", "plugins")
}

// registry knows the built-in plugins and the executables in the plugin directory.
type registry struct {
	dir string
	// allowUnverified starts plugins without a matching recorded checksum.
	allowUnverified bool
	logger          *slog.Logger
	builtin         map[string]sdk.Plugin // by kind/name

	mu       sync.Mutex
	external map[string]externalEntry // by path
	verified map[string]verifiedEntry // by path: a checksum check, valid while neither file changes
	idle     map[string][]idleClient  // by path: processes a finished restoration handed back
	closed   bool
}

// maxIdle bounds the idle processes kept per plugin executable: one per
// restoration running at once is what a host reuses.
const maxIdle = 2

// idleClient is a plugin process waiting for its next restoration, with
// the executable's stamp when it started.
type idleClient struct {
	c     *sdk.Client
	stamp fileStamp
}

// fileStamp identifies a version of a file well enough to notice it was
// replaced: size and modification time.
type fileStamp struct {
	mod  time.Time
	size int64
}

func stampOf(path string) (fileStamp, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, false
	}
	return fileStamp{fi.ModTime(), fi.Size()}, true
}

// verifiedEntry is a passed checksum check: the binary's and its checksum
// file's stamps, and the sum.
type verifiedEntry struct {
	bin, sum fileStamp
	checksum []byte
}

type externalEntry struct {
	mod  time.Time
	size int64
	info sdk.Info
	err  error
}

func newRegistry(dir string, extra []sdk.Plugin, logger *slog.Logger) (*registry, error) {
	r := &registry{dir: dir, logger: logger, builtin: map[string]sdk.Plugin{}, external: map[string]externalEntry{},
		verified: map[string]verifiedEntry{}, idle: map[string][]idleClient{}}
	for _, p := range append(plugins.Builtin(), extra...) {
		in := p.Info()
		if err := in.Validate(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrPlugin, err)
		}
		key := string(in.Kind) + "/" + in.Name
		if _, dup := r.builtin[key]; dup {
			return nil, fmt.Errorf("%w: two in-process %s plugins named %q", ErrPlugin, in.Kind, in.Name)
		}
		_, isSolver := p.(sdk.Solver)
		_, isGuidance := p.(sdk.Guidance)
		if in.Kind == sdk.KindSolver && !isSolver || in.Kind == sdk.KindGuidance && !isGuidance {
			return nil, fmt.Errorf("%w: %s says it is a %s but does not implement it", ErrPlugin, in.Name, in.Kind)
		}
		r.builtin[key] = p
	}
	return r, nil
}

// list returns every plugin: built-ins, then the plugin directory's
// executables (each started once to ask its Info, and cached by mtime).
func (r *registry) list() ([]PluginInfo, []error) {
	var out []PluginInfo
	for _, p := range r.builtin {
		out = append(out, PluginInfo{Info: p.Info()})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind > out[j].Kind // solvers first
		}
		return out[i].Name < out[j].Name
	})
	var errs []error
	if r.dir == "" {
		return out, nil
	}
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("plugin directory %s: %w", r.dir, err))
		}
		return out, errs
	}
	for _, e := range entries {
		path := filepath.Join(r.dir, e.Name())
		fi, err := os.Stat(path)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			continue
		}
		r.mu.Lock()
		ent, ok := r.external[path]
		r.mu.Unlock()
		if strings.HasPrefix(e.Name(), ".") {
			continue // an install in progress
		}
		if _, err := r.check(path); err != nil {
			errs = append(errs, err) // never started to ask its Info
			continue
		}
		if !ok || !ent.mod.Equal(fi.ModTime()) || ent.size != fi.Size() {
			ent = externalEntry{mod: fi.ModTime(), size: fi.Size()}
			c, err := r.launch(path)
			if err != nil {
				ent.err = err
			} else {
				ent.info = c.Plugin().Info()
				c.Kill()
			}
			r.mu.Lock()
			r.external[path] = ent
			r.mu.Unlock()
		}
		if ent.err != nil {
			errs = append(errs, ent.err)
			continue
		}
		if _, shadow := r.builtin[string(ent.info.Kind)+"/"+ent.info.Name]; shadow {
			errs = append(errs, fmt.Errorf("plugin %s: its name %q is a built-in %s; ignored", path, ent.info.Name, ent.info.Kind))
			continue
		}
		out = append(out, PluginInfo{Info: ent.info, Path: path})
	}
	return out, errs
}

// check returns the approved checksum of a plugin executable, or
// ErrUnverified saying how to approve it. With unverified plugins allowed
// it only warns (and returns no checksum to enforce).
//
// A passed check is remembered while neither the binary nor its checksum
// file changes (size and modification time): listing the plugins for each
// restoration would otherwise hash every executable in the directory.
// Launching does not rely on it alone: go-plugin hashes the binary again
// as it starts the process.
func (r *registry) check(path string) ([]byte, error) {
	bin, okBin := stampOf(path)
	sumStamp, okSum := stampOf(path + ChecksumSuffix)
	r.mu.Lock()
	v, ok := r.verified[path]
	r.mu.Unlock()
	if ok && okBin && okSum && v.bin == bin && v.sum == sumStamp {
		return v.checksum, nil
	}
	trust, sum, err := VerifyPlugin(path)
	if trust == TrustOK && err == nil {
		if okBin && okSum {
			r.mu.Lock()
			r.verified[path] = verifiedEntry{bin, sumStamp, sum}
			r.mu.Unlock()
		}
		return sum, nil
	}
	if r.allowUnverified {
		r.logger.Warn("starting an unverified plugin", "plugin", path, "checksum", string(trust))
		return nil, nil
	}
	return nil, &UnverifiedError{Path: path, Trust: trust, Err: err}
}

// UnverifiedError is the ErrUnverified of one plugin executable.
type UnverifiedError struct {
	Path  string
	Trust Trust
	Err   error // reading the checksum failed
}

func (e *UnverifiedError) Error() string {
	switch {
	case e.Err != nil:
		return fmt.Sprintf("%v: %s: %v", ErrUnverified, e.Path, e.Err)
	case e.Trust == TrustMissing:
		return fmt.Sprintf("%v: %s has no recorded checksum; approve it with `restore plugins install FILE` "+
			"(or write its sha256sum line to %s%s)", ErrUnverified, e.Path, e.Path, ChecksumSuffix)
	}
	return fmt.Sprintf("%v: %s has changed since it was approved; if you trust the new binary, approve it again "+
		"with `restore plugins install --force FILE`", ErrUnverified, e.Path)
}

// Is makes errors.Is(err, ErrUnverified) hold.
func (e *UnverifiedError) Is(target error) bool { return target == ErrUnverified }

// Unwrap returns the error reading the checksum, if any.
func (e *UnverifiedError) Unwrap() error { return e.Err }

// launch starts a plugin executable: only one whose recorded checksum it
// matches (go-plugin checks it again as it starts the process), unless
// unverified plugins are allowed; in a minimal environment.
func (r *registry) launch(path string) (*sdk.Client, error) {
	name := filepath.Base(path)
	sum, err := r.check(path)
	if err != nil {
		return nil, err
	}
	c, err := sdk.Launch(path, sdk.LaunchOptions{Logger: hclogFor(r.logger, name), Stderr: slogWriter{r.logger, name},
		Env: pluginEnv(), CleanEnv: true, Checksum: sum})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPlugin, err)
	}
	return c, nil
}

// open returns the plugin of the given kind and name, and a function that
// releases it. A third-party plugin runs in a process of its own, started
// for the restoration or kept from an earlier one; release(true) hands a
// process that did its work back for the next restoration, release(false)
// kills it (a restoration that failed may have left it in any state).
func (r *registry) open(kind sdk.Kind, name string) (sdk.Plugin, func(healthy bool), error) {
	if p, ok := r.builtin[string(kind)+"/"+name]; ok {
		return p, func(bool) {}, nil
	}
	all, errs := r.list()
	var names []string
	for _, p := range all {
		if p.Kind != kind {
			continue
		}
		names = append(names, p.Name)
		if p.Name == name && p.Path != "" {
			c, stamp, err := r.take(p.Path)
			if err != nil {
				return nil, nil, err
			}
			return c.Plugin(), func(healthy bool) { r.putBack(p.Path, c, stamp, healthy) }, nil
		}
	}
	for _, err := range errs {
		// A plugin file named as asked for, refused for its checksum: say so.
		var u *UnverifiedError
		if errors.As(err, &u) && filepath.Base(u.Path) == name {
			return nil, nil, err
		}
		r.logger.Warn("plugin skipped", "error", err)
	}
	hint := ""
	if s := suggest.Closest(name, names); s != "" {
		hint = fmt.Sprintf("; did you mean %q?", s)
	}
	return nil, nil, fmt.Errorf("%w: no %s named %q (available: %s)%s", ErrPluginNotFound, kind, name, strings.Join(names, ", "), hint)
}

// take returns an idle process of the executable at path if one is still
// running the current binary, or starts one; with the binary's stamp.
func (r *registry) take(path string) (*sdk.Client, fileStamp, error) {
	stamp, _ := stampOf(path)
	r.mu.Lock()
	var stale []*sdk.Client
	var found *sdk.Client
	for len(r.idle[path]) > 0 && found == nil {
		list := r.idle[path]
		ic := list[len(list)-1]
		r.idle[path] = list[:len(list)-1]
		if ic.stamp == stamp && !ic.c.Exited() {
			found = ic.c
		} else {
			stale = append(stale, ic.c)
		}
	}
	r.mu.Unlock()
	for _, c := range stale {
		c.Kill()
	}
	if found != nil {
		return found, stamp, nil
	}
	c, err := r.launch(path)
	return c, stamp, err
}

// putBack keeps a healthy process for the next restoration, or kills it.
func (r *registry) putBack(path string, c *sdk.Client, stamp fileStamp, healthy bool) {
	r.mu.Lock()
	if healthy && !r.closed && len(r.idle[path]) < maxIdle && !c.Exited() {
		r.idle[path] = append(r.idle[path], idleClient{c, stamp})
		c = nil
	}
	r.mu.Unlock()
	if c != nil {
		c.Kill()
	}
}

// close kills the idle processes; processes in use are killed as their
// restorations release them.
func (r *registry) close() {
	r.mu.Lock()
	r.closed = true
	idle := r.idle
	r.idle = map[string][]idleClient{}
	r.mu.Unlock()
	for _, list := range idle {
		for _, ic := range list {
			ic.c.Kill()
		}
	}
}

// hclogFor adapts the host's slog logger for go-plugin's own log.
func hclogFor(l *slog.Logger, plugin string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: plugin, Output: slogWriter{l, plugin}, Level: hclog.Info, DisableTime: true})
}

// slogWriter logs each line written to it (a plugin's stderr, hclog's
// entries) at Info, naming the plugin.
type slogWriter struct {
	l      *slog.Logger
	plugin string
}

func (w slogWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if line != "" {
			w.l.Info(line, "plugin", w.plugin)
		}
	}
	return len(p), nil
}
