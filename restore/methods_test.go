package main

import (
	"strings"
	"testing"

	"github.com/restorekit/restore/host"
)

// TestMethodsCommand checks that `restore methods` lists every preset and
// says, per task, how its --samples are drawn.
func TestMethodsCommand(t *testing.T) {
	code, stdout, stderr := restore(t, nil, "methods")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, m := range host.Methods() {
		if !strings.Contains(stdout, m.Name) {
			t.Errorf("preset %s missing:\n%s", m.Name, stdout)
		}
	}
	line := func(method, task string) string {
		for l := range strings.SplitSeq(stdout, "\n") {
			if f := strings.Fields(l); len(f) > 1 && f[0] == method && f[1] == task {
				return l
			}
		}
		t.Fatalf("no %s %s line in:\n%s", method, task, stdout)
		return ""
	}
	for _, tc := range []struct{ method, task, want string }{
		{"diffpir", "denoise", "drawn beside this estimate with zeta=1 plus a bootstrap"},
		{"dpir", "denoise", "drawn beside this estimate with a bootstrap"},
		{"dpir", "deblur", "drawn beside this estimate with zeta=1 plus a bootstrap"},
		{"dpir", "inpaint", "with dpir (3 evaluations from σ 1, zeta=1) (deep holes: by the texture's sampler)"},
		{"dpir", "sr", "with ddnm (40 evaluations from σ 2, eta=1)"},
	} {
		if l := line(tc.method, tc.task); !strings.Contains(l, tc.want) {
			t.Errorf("%s %s: %q; want it to say %q", tc.method, tc.task, l, tc.want)
		}
	}
}
