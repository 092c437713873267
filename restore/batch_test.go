package main

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBatch restores a folder with a subfolder and one corrupt file: the
// good files are written under -o DIR with their relative paths, the corrupt
// one is reported by name, nothing partial is left, and the exit code is 1.
// Run again with --skip-existing, only the corrupt one is tried.
func TestBatch(t *testing.T) {
	in := t.TempDir()
	src := decode(t, fx+"/images/dog-noisy25.png").(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(image.Rect(0, 0, 32, 24))
	write := func(rel string, data []byte) {
		p := filepath.Join(in, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if data == nil {
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			png.Encode(f, src)
			f.Close()
			return
		}
		os.WriteFile(p, data, 0o644)
	}
	write("a.png", nil)
	write("sub/b.png", nil)
	write("broken.png", []byte("\x89PNG\r\n\x1a\nnot really"))
	write("notes.txt", []byte("not an image"))
	out := filepath.Join(t.TempDir(), "restored")
	args := []string{"--task", "denoise", "--noise", "25", "--steps", "2", "-r", in, "-o", out}
	code, _, stderr := restore(t, nil, args...)
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	if !strings.Contains(stderr, "broken.png") || !strings.Contains(stderr, "2 restored, 0 skipped, 1 failed (of 3 files)") {
		t.Fatalf("stderr does not report the batch: %s", stderr)
	}
	var got []string
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(out, p)
			got = append(got, rel)
		}
		return nil
	})
	if strings.Join(got, " ") != "a.png sub/b.png" {
		t.Fatalf("outputs %v, want a.png sub/b.png and nothing else", got)
	}
	code, _, stderr = restore(t, nil, append(args, "--skip-existing")...)
	if code != 1 || !strings.Contains(stderr, "0 restored, 2 skipped, 1 failed") {
		t.Fatalf("--skip-existing: exit %d: %s", code, stderr)
	}
	// without -r the subfolder is left alone; without --force existing outputs are errors
	code, _, stderr = restore(t, nil, "--task", "denoise", "--noise", "25", "--steps", "2", in, "-o", out)
	if code != 1 || !strings.Contains(stderr, "already exists") || strings.Contains(stderr, "sub/b.png") {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	// -o must be a folder
	file := filepath.Join(t.TempDir(), "x.png")
	os.WriteFile(file, []byte("x"), 0o644)
	if code, _, stderr := restore(t, nil, "--task", "denoise", in, "-o", file); code != 2 || !strings.Contains(stderr, "names a folder") {
		t.Fatalf("-o FILE with a folder: exit %d: %s", code, stderr)
	}
}
