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
}

type externalEntry struct {
	mod  time.Time
	size int64
	info sdk.Info
	err  error
}

func newRegistry(dir string, extra []sdk.Plugin, logger *slog.Logger) (*registry, error) {
	r := &registry{dir: dir, logger: logger, builtin: map[string]sdk.Plugin{}, external: map[string]externalEntry{}}
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
func (r *registry) check(path string) ([]byte, error) {
	trust, sum, err := VerifyPlugin(path)
	if trust == TrustOK && err == nil {
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
// releases it (kills the process of a third-party plugin).
func (r *registry) open(kind sdk.Kind, name string) (sdk.Plugin, func(), error) {
	if p, ok := r.builtin[string(kind)+"/"+name]; ok {
		return p, func() {}, nil
	}
	all, errs := r.list()
	var names []string
	for _, p := range all {
		if p.Kind != kind {
			continue
		}
		names = append(names, p.Name)
		if p.Name == name && p.Path != "" {
			c, err := r.launch(p.Path)
			if err != nil {
				return nil, nil, err
			}
			return c.Plugin(), c.Kill, nil
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
