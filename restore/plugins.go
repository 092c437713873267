package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/restorekit/restore/host"
)

func runPlugins(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("plugins", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var ortLib, pluginDir string
	var force, allowUnverified bool
	fs.StringVar(&ortLib, "ort-lib", "", "ONNX Runtime shared library")
	fs.BoolVarP(&force, "force", "f", false, "install: replace an installed plugin of the same name")
	fs.BoolVar(&allowUnverified, "allow-unverified", false, "list and describe plugins without a matching recorded checksum (development only)")
	fs.StringVar(&pluginDir, "plugin-dir", "", "third-party plugin directory (default: $RESTORE_PLUGIN_DIR or the user config dir)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage:\n  restore plugins list              built-in and installed plugins\n  restore plugins describe NAME     one plugin's parameters\n"+
			"  restore plugins install FILE      copy a plugin executable into the plugin directory and approve it (records its sha256)\n"+
			"  restore plugins verify            check every plugin in the directory against its recorded sha256")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == pflag.ErrHelp {
			return errHelp
		}
		return usageError{err}
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return usagef("plugins: want list or describe NAME")
	}
	dir := pluginDir
	if dir == "" {
		dir = host.DefaultPluginDir()
	}
	switch fs.Arg(0) {
	case "install":
		if fs.NArg() != 2 {
			return usagef("plugins install: want one FILE")
		}
		path, err := host.InstallPlugin(fs.Arg(1), dir, force)
		if err != nil {
			return usagef("plugins install %s: %v", fs.Arg(1), err)
		}
		fmt.Fprintf(stdout, "installed %s (checksum in %s%s)\n", path, path, host.ChecksumSuffix)
		return nil
	case "verify":
		return verifyPlugins(dir, stdout)
	}
	h, err := openHost(restoreFlags{ortLib: ortLib, pluginDir: pluginDir, allowUnverified: allowUnverified}, stderr)
	if err != nil {
		return err
	}
	defer h.Close()
	all, errs := h.Plugins()
	for _, e := range errs {
		fmt.Fprintf(stderr, "restore: warning: %v\n", e)
	}
	switch fs.Arg(0) {
	case "list":
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tKIND\tVERSION\tSOURCE\tSUMMARY")
		for _, p := range all {
			src := "built-in"
			if !p.Builtin() {
				src = p.Path
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Name, p.Kind, p.Version, src, p.Summary)
		}
		return tw.Flush()
	case "describe":
		if fs.NArg() != 2 {
			return usagef("plugins describe: want one NAME")
		}
		var names []string
		for _, p := range all {
			names = append(names, p.Name)
			if p.Name != fs.Arg(1) {
				continue
			}
			fmt.Fprintf(stdout, "%s %s (%s): %s\n", p.Name, p.Version, p.Kind, p.Summary)
			if !p.Builtin() {
				fmt.Fprintf(stdout, "executable: %s\n", p.Path)
			}
			if len(p.Params) == 0 {
				fmt.Fprintln(stdout, "no parameters")
				return nil
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PARAMETER\tTYPE\tDEFAULT\tRANGE\tDESCRIPTION")
			for _, q := range p.Params {
				rng := ""
				switch q.Type {
				case "float", "int":
					rng = fmt.Sprintf("[%g, %g]", q.Min, q.Max)
				case "choice":
					rng = strings.Join(q.Choices, "|")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", q.Name, q.Type, q.Default, rng, q.Doc)
			}
			return tw.Flush()
		}
		return fmt.Errorf("%w: no plugin named %q (available: %s)", host.ErrPluginNotFound, fs.Arg(1), strings.Join(names, ", "))
	}
	return usagef("plugins: unknown command %q (want list, describe NAME, install FILE or verify)", fs.Arg(0))
}

// verifyPlugins reports each executable in the plugin directory against its
// recorded checksum; any not ok is an error (exit 1).
func verifyPlugins(dir string, stdout io.Writer) error {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("plugin directory %s: %w", dir, err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PLUGIN\tCHECKSUM\tSHA256")
	bad := 0
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		fi, err := os.Stat(path)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		trust, sum, err := host.VerifyPlugin(path)
		state := string(trust)
		if err != nil {
			state += " (" + err.Error() + ")"
		}
		if trust != host.TrustOK || err != nil {
			bad++
		}
		fmt.Fprintf(tw, "%s\t%s\t%x\n", path, state, sum)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if bad > 0 {
		return fmt.Errorf("%d plugin(s) in %s not verified: approve each with `restore plugins install --force FILE`", bad, dir)
	}
	return nil
}

func runVersion(ortLib string, stdout io.Writer) error {
	fmt.Fprintf(stdout, "restore %s\n", version)
	lib, err := host.FindRuntime(ortLib)
	if err != nil {
		fmt.Fprintf(stdout, "ONNX Runtime: not found (%v)\n", err)
		return nil
	}
	h, err := host.Open(host.Config{ORTLib: lib})
	if err != nil {
		return err
	}
	defer h.Close()
	m := h.Model()
	fmt.Fprintf(stdout, "ONNX Runtime %s (%s)\n", h.RuntimeVersion(), lib)
	fmt.Fprintf(stdout, "model: %s, %s parameters, %s hours of training\n", m.Props["restore.architecture"],
		m.Props["restore.parameters"], m.Props["restore.training_hours"])
	return nil
}
