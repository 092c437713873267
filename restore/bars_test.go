package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/creack/pty"
)

// onTerminal runs the restore binary with its stdin, stdout and stderr on a
// pseudo-terminal and returns its exit code and everything it drew.
func onTerminal(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 120})
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	var out bytes.Buffer
	// Reading ends with EIO once the process has exited and closed its side.
	if _, err := io.Copy(&out, f); err != nil && !errors.Is(err, syscall.EIO) {
		t.Fatal(err)
	}
	f.Close()
	err = cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), out.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, out.String()
}

func TestProgressBars(t *testing.T) {
	dir := t.TempDir()
	t.Run("one file", func(t *testing.T) {
		out := filepath.Join(dir, "one.png")
		code, drawn := onTerminal(t, "--task", "denoise", "--noise", "25", "--steps", "6",
			fx+"/images/flower-noisy25.png", "-o", out)
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, drawn)
		}
		// The bar names the file, counts evaluations and shows an ETA.
		bar := regexp.MustCompile(`flower-noisy25\.png +[0-6]/6 +\[[=>\-_ ]*\] evaluations, ETA [0-9.]+(ms|s)`)
		if !bar.MatchString(drawn) {
			t.Errorf("no evaluation bar for flower-noisy25.png in:\n%q", drawn)
		}
		if !strings.Contains(drawn, "restore: wrote "+out) {
			t.Errorf("no summary line in:\n%q", drawn)
		}
		if _, err := os.Stat(out); err != nil {
			t.Error(err)
		}
	})
	t.Run("batch", func(t *testing.T) {
		in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
		os.Mkdir(in, 0o755)
		for _, name := range []string{"a.png", "b.png"} {
			data, err := os.ReadFile(fx + "/images/flower-noisy25.png")
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(in, name), data, 0o644)
		}
		code, drawn := onTerminal(t, "--task", "denoise", "--noise", "25", "--steps", "3", in, "-o", out)
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, drawn)
		}
		for _, want := range []*regexp.Regexp{
			regexp.MustCompile(`files +[0-2]/2 `), // the batch's bar
			regexp.MustCompile(`files +2/2 .* files, done`),
			regexp.MustCompile(`b\.png +[0-3]/3 `),
			regexp.MustCompile(`restore: 2 restored, 0 skipped, 0 failed`),
		} {
			if !want.MatchString(drawn) {
				t.Errorf("no %s in:\n%q", want, drawn)
			}
		}
	})
}
