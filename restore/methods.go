package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/restorekit/restore/host"
)

// runMethods lists the presets and what each uses per task.
func runMethods(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("methods", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage:\n  restore methods        presets (--method) and their settings per task")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == pflag.ErrHelp {
			return errHelp
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usagef("methods: unexpected argument %q", fs.Arg(0))
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "METHOD\tTASK\tSOLVER\tGUIDANCE\tEVALS\tSTART σ\tPARAMS")
	for _, m := range host.Methods() {
		for _, t := range host.Tasks {
			s, ok := m.Tasks[t]
			if !ok {
				continue
			}
			task := string(t)
			if host.DefaultMethods[t] == m.Name {
				task += " (default)"
			}
			start := "σ_y"
			if s.StartSigma > 0 {
				start = fmt.Sprintf("%g", s.StartSigma)
			}
			evals, params := s.Steps, formatParams(s.Params)
			if s.Ensemble > 1 { // EVALS counts network evaluations
				evals *= s.Ensemble
				params = strings.TrimPrefix(params+fmt.Sprintf(", ×%d ensemble", s.Ensemble), "-, ")
			}
			if s.AdaptLambda {
				params = strings.TrimPrefix(params+", λ scaled for the kernel and noise", "-, ")
			}
			if s.AdaptStart {
				params = strings.TrimPrefix(params+", start σ 1 for Gaussian-like kernels, 0.6 for defocus of radius 4 or more (any disk or box from σ 4), higher for motion past σ 6.375", "-, ")
			}
			if s.Cycle {
				params = strings.TrimPrefix(params+", cycled", "-, ")
			}
			if t := s.Texture; t != nil { // EVALS is the run without it
				params = strings.TrimPrefix(params+fmt.Sprintf(", deep holes: %d + %d of %s for texture", t.MeanSteps, t.Steps, t.Method), "-, ")
			}
			if sm := s.Sampling; sm != nil { // --samples: drawn beside the estimate
				by := formatParams(sm.Params)
				switch {
				case sm.Bootstrap:
					by = "a bootstrap (this preset again, on the estimate plus fresh noise of the photo's level)"
				case sm.AddBootstrap:
					by += " plus a bootstrap (the spreads' squares added)"
				case sm.Method != "":
					how := fmt.Sprintf("%d evaluations", sm.Steps)
					if sm.StartSigma > 0 {
						how += fmt.Sprintf(" from σ %g", sm.StartSigma)
					}
					by = fmt.Sprintf("%s (%s, %s)", sm.Method, how, by)
				}
				if s.Texture != nil {
					by += " (deep holes: by the texture's sampler)"
				}
				params = strings.TrimPrefix(params+", --samples drawn beside this estimate with "+by, "-, ")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", m.Name, task, s.Solver, s.Guidance, evals, start, params)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	for _, m := range host.Methods() {
		fmt.Fprintf(stdout, "%s: %s.\n  %s\n", m.Name, m.Summary, m.Paper)
	}
	return nil
}

func formatParams(p map[string]string) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + p[k]
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}
