package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInterrupt sends SIGINT (then SIGTERM) to a restoration running an
// out-of-process solver: restore stops, exits non-zero, writes no output
// and no temporary file, and leaves no plugin process behind.
func TestInterrupt(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			built := filepath.Join(t.TempDir(), "faulty")
			build := exec.Command("go", "build", "-o", built, "../fixtures/plugins/faulty")
			build.Stderr = os.Stderr
			if err := build.Run(); err != nil {
				t.Fatal(err)
			}
			env := append(os.Environ(), "RESTORE_PLUGIN_DIR="+dir)
			install := exec.Command(bin, "plugins", "install", built)
			install.Env = env
			if out, err := install.CombinedOutput(); err != nil {
				t.Fatalf("install: %v\n%s", err, out)
			}
			outDir := t.TempDir()
			out := filepath.Join(outDir, "out.png")
			cmd := exec.Command(bin, "--task", "denoise", "--noise", "25", "--solver", "faulty", "--steps", "5000",
				"--progress", "json", fx+"/images/dog-noisy25.png", "-o", out)
			cmd.Env = env
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(stderr)
			for sc.Scan() { // wait until sampling is under way
				if strings.Contains(sc.Text(), `"evaluation":3,`) {
					break
				}
			}
			start := time.Now()
			cmd.Process.Signal(sig)
			go func() {
				for sc.Scan() {
				}
			}()
			err = cmd.Wait()
			if err == nil {
				t.Fatal("restore exited 0 after a signal")
			}
			t.Logf("stopped %v after %v", err, time.Since(start).Round(time.Millisecond))
			if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
				t.Fatalf("left %d files behind: %v", len(entries), entries)
			}
			deadline := time.Now().Add(5 * time.Second)
			for countExe(filepath.Join(dir, "faulty")) > 0 {
				if time.Now().After(deadline) {
					t.Fatal("the plugin process outlived restore")
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}

// countExe counts running processes whose executable is path (Linux).
func countExe(path string) int {
	entries, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range entries {
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && strings.TrimSuffix(exe, " (deleted)") == path {
			n++
		}
	}
	return n
}

// TestInterruptBatch interrupts a batch during its second file: the first
// output stays, complete; nothing else is written; no temporary file is left.
func TestInterruptBatch(t *testing.T) {
	in := t.TempDir()
	for _, name := range []string{"a.png", "b.png", "c.png"} {
		data, err := os.ReadFile(fx + "/images/dog-noisy25.png")
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(in, name), data, 0o644)
	}
	out := t.TempDir()
	cmd := exec.Command(bin, "--task", "denoise", "--noise", "25", "--steps", "50", "--start-sigma", "0.5",
		"--progress", "json", in, "-o", out)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "b.png") { // the second file is under way
			break
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	go func() {
		for sc.Scan() {
		}
	}()
	if err := cmd.Wait(); err == nil {
		t.Fatal("restore exited 0 after SIGINT")
	}
	entries, _ := os.ReadDir(out)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) == 0 || names[0] != "a.png" || len(names) > 2 {
		t.Fatalf("outputs after the interrupt: %v, want a.png (and b.png only if it finished)", names)
	}
	for _, n := range names {
		if strings.HasSuffix(n, ".tmp") || strings.HasPrefix(n, ".") {
			t.Fatalf("temporary file %s left behind", n)
		}
		if _, err := readImage(filepath.Join(out, n)); err != nil {
			t.Fatalf("%s is not a complete image: %v", n, err)
		}
	}
}
