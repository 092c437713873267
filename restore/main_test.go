package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	xdraw "golang.org/x/image/draw"

	"github.com/restorekit/restore/host"
	"github.com/restorekit/restore/internal/psf"
)

// bin is the restore binary the tests run, built once in TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "restore-cli-test")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "restore")
	flag.Parse()
	// A fuzzing worker runs only its fuzz target, which needs no binary.
	if f := flag.Lookup("test.fuzzworker"); f == nil || f.Value.String() != "true" {
		cmd := exec.Command("go", "build", "-o", bin, ".")
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			panic("build restore: " + err.Error())
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const fx = "../fixtures"

// restore runs the binary and returns its exit code, stdout and stderr.
func restore(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

func decode(t *testing.T, path string) image.Image {
	t.Helper()
	img, err := readImage(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func TestTasksEndToEnd(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		args   []string
		input  string
		margin float64
	}{
		{"denoise", []string{"--task", "denoise", "--noise", "25"}, "flower-noisy25.png", 5},
		{"deblur", []string{"--task", "deblur", "--kernel", fx + "/kernels/motion15.png", "--noise", "2.55"}, "flower-blurred.png", 3},
		{"inpaint", []string{"--task", "inpaint", "--mask", fx + "/images/flower-holes.mask.png", "--noise", "0"}, "flower-holes.png", 10},
		{"denoise-estimated-noise-jpeg", []string{"--task", "denoise"}, "flower-noisy25.png", 5},
		// against the 64×64 input enlarged by pixel repetition
		{"sr", []string{"--task", "sr", "--scale", "4", "--noise", "0"}, "flower-small4.png", 2},
	}
	truth := decode(t, fx+"/images/flower.png")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ext := ".png"
			if strings.HasSuffix(tc.name, "jpeg") {
				ext = ".jpg"
			}
			out := filepath.Join(dir, tc.name+ext)
			in := fx + "/images/" + tc.input
			code, _, stderr := restore(t, nil, append(tc.args, "--steps", "10", in, "-o", out)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			input := decode(t, in)
			if tc.name == "sr" {
				big := image.NewRGBA(truth.Bounds())
				xdraw.NearestNeighbor.Scale(big, big.Bounds(), input, input.Bounds(), xdraw.Src, nil)
				input = big
			}
			before, after := psnr8(truth, input), psnr8(truth, decode(t, out))
			t.Logf("%s: %.2f → %.2f dB; %s", tc.name, before, after, strings.TrimSpace(stderr))
			if after < before+tc.margin {
				t.Fatalf("gained %.2f dB, want at least %.1f", after-before, tc.margin)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, _ := os.ReadFile(fx + "/images/flower-blurred.png")
	corrupt := write("corrupt.png", []byte("\x89PNG\r\n\x1a\nthis is not really a PNG"))
	truncated := write("truncated.png", good[:len(good)/2])
	ragged := write("ragged.txt", []byte("0.1 0.2 0.1\n0.2 0.4\n"))
	zero := write("zero.txt", []byte("0 0 0\n0 0 0\n0 0 0\n"))
	negative := write("negative.txt", []byte("0.5 -0.1\n0.3 0.3\n"))
	var zeroPNG bytes.Buffer
	png.Encode(&zeroPNG, image.NewGray16(image.Rect(0, 0, 5, 5)))
	zeroKernelPNG := write("zero-kernel.png", zeroPNG.Bytes())
	var maskPNG bytes.Buffer
	m := image.NewGray(image.Rect(0, 0, 100, 80))
	m.Set(3, 3, color.Gray{255})
	png.Encode(&maskPNG, m)
	smallMask := write("small-mask.png", maskPNG.Bytes())
	exists := write("exists.png", []byte("precious"))
	blurred := fx + "/images/flower-blurred.png"

	tests := []struct {
		name string
		args []string
		want string // in the one-line message
	}{
		{"missing input", []string{"--task", "denoise", filepath.Join(dir, "nope.png")}, "nope.png"},
		{"corrupt PNG", []string{"--task", "denoise", corrupt}, "corrupt.png"},
		{"truncated PNG", []string{"--task", "denoise", truncated}, "truncated.png"},
		{"kernel not 2-D", []string{"--task", "deblur", "--kernel", ragged, blurred}, "not a 2-D matrix"},
		{"kernel sums to 0", []string{"--task", "deblur", "--kernel", zero, blurred}, "sums to 0"},
		{"kernel PNG sums to 0", []string{"--task", "deblur", "--kernel", zeroKernelPNG, blurred}, "sums to 0"},
		{"negative kernel", []string{"--task", "deblur", "--kernel", negative, blurred}, "negative"},
		{"missing kernel file", []string{"--task", "deblur", "--kernel", filepath.Join(dir, "k.txt"), blurred}, "k.txt"},
		{"deblur without kernel", []string{"--task", "deblur", blurred}, "--kernel"},
		{"unknown blur shape", []string{"--task", "deblur", "--blur", "box:3", blurred}, `"box:3" is not a blur shortcut`},
		{"disk of no size", []string{"--task", "deblur", "--blur", "disk:0", blurred}, "disk blur radius 0 is outside (0, 100]"},
		{"motion without a number", []string{"--task", "deblur", "--blur", "motion:9@up", blurred}, "motion:LENGTH[@ANGLE]"},
		{"mask of another size", []string{"--task", "inpaint", "--mask", smallMask, blurred}, "100x80"},
		{"unknown solver", []string{"--task", "denoise", "--solver", "eulr-maruyama", blurred}, `did you mean "euler-maruyama"`},
		{"unknown guidance", []string{"--task", "denoise", "--guidance", "ddmn", blurred}, `did you mean "ddnm"`},
		{"unknown device", []string{"--task", "denoise", "--device", "tpu", blurred}, "unknown device"},
		{"tile too small", []string{"--task", "denoise", "--tile-size", "64", blurred}, "tile size 64"},
		{"over the pixel limit", []string{"--task", "denoise", "--max-pixels", "1000", blurred}, "over the limit of 1000 pixels"},
		{"sr without scale", []string{"--task", "sr", blurred}, "--scale"},
		{"scale without sr", []string{"--task", "denoise", "--scale", "2", blurred}, "--scale goes with --task sr"},
		{"unknown method", []string{"--task", "denoise", "--method", "difpir", blurred}, `did you mean "diffpir"`},
		{"samples out of range", []string{"--task", "denoise", "--samples", "0", blurred}, "--samples"},
		{"ensemble not a group size", []string{"--task", "denoise", "--ensemble", "3", blurred}, "--ensemble 3: want 1, 2, 4 or 8"},
		{"cycle not on or off", []string{"--task", "denoise", "--cycle", "yes", blurred}, `--cycle "yes": want on or off`},
		{"texture not on or off", []string{"--task", "denoise", "--texture", "1", blurred}, `--texture "1": want on or off`},
		{"unknown task", []string{"--task", "denoize", blurred}, `did you mean "denoise"`},
		{"unknown flag", []string{"--task", "denoise", "--nosie", "25", blurred}, "did you mean --noise"},
		{"unknown parameter", []string{"--task", "denoise", "--param", "speed=3", blurred}, "speed"},
		{"parameter out of range", []string{"--task", "denoise", "--param", "zeta=7", blurred}, "zeta"},
		{"bad output extension", []string{"--task", "denoise", blurred, "-o", filepath.Join(dir, "out.gif")}, "out.gif"},
		{"output exists", []string{"--task", "denoise", blurred, "-o", exists}, "--force"},
		{"noise out of range", []string{"--task", "denoise", "--noise", "-3", blurred}, "--noise"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "out.png")
			args := tc.args
			if !strings.Contains(strings.Join(args, " "), " -o ") {
				args = append(args, "-o", out)
			}
			code, _, stderr := restore(t, nil, args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr: %s", code, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if len(lines) != 1 {
				t.Fatalf("want a one-line message, got:\n%s", stderr)
			}
			if !strings.Contains(lines[0], tc.want) {
				t.Fatalf("message %q does not mention %q", lines[0], tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Fatalf("an output file was left behind")
			}
			if data, _ := os.ReadFile(exists); string(data) != "precious" {
				t.Fatalf("an existing file was overwritten")
			}
			left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp"))
			if len(left) > 0 {
				t.Fatalf("temporary files left: %v", left)
			}
		})
	}
}

// TestThirdPartyPlugin builds the README's example plugin, puts it in a plugin
// directory, and checks that restore lists it and restores with it.
func TestThirdPartyPlugin(t *testing.T) {
	dir := t.TempDir()
	built := filepath.Join(t.TempDir(), "example-euler")
	cmd := exec.Command("go", "build", "-o", built, "../plugins/examples/euler")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	env := []string{"RESTORE_PLUGIN_DIR=" + dir}
	if code, stdout, stderr := restore(t, env, "plugins", "install", built); code != 0 || !strings.Contains(stdout, "installed") {
		t.Fatalf("plugins install: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := restore(t, env, "plugins", "verify"); code != 0 || !strings.Contains(stdout, "ok") {
		t.Fatalf("plugins verify: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr := restore(t, env, "plugins", "list")
	if code != 0 || !strings.Contains(stdout, "example-euler") || !strings.Contains(stdout, dir) {
		t.Fatalf("plugins list: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = restore(t, env, "plugins", "describe", "diffpir")
	if code != 0 || !strings.Contains(stdout, "lambda") {
		t.Fatalf("plugins describe diffpir: exit %d\n%s", code, stdout)
	}
	out := filepath.Join(t.TempDir(), "out.png")
	code, _, stderr = restore(t, env, "--task", "denoise", "--noise", "25", "--solver", "example-euler", "--steps", "4",
		fx+"/images/dog-noisy25.png", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "example-euler") {
		t.Fatalf("stderr does not say which solver ran: %s", stderr)
	}
	truth, noisy := decode(t, fx+"/images/dog.png"), decode(t, fx+"/images/dog-noisy25.png")
	if psnr8(truth, decode(t, out)) <= psnr8(truth, noisy) {
		t.Fatalf("the plugin's result is no better than the input")
	}

	// A changed binary is refused, verify says so, --allow-unverified runs it.
	installed := filepath.Join(dir, "example-euler")
	f, err := os.OpenFile(installed, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0})
	f.Close()
	if code, stdout, _ := restore(t, env, "plugins", "verify"); code != 1 || !strings.Contains(stdout, "mismatch") {
		t.Fatalf("plugins verify after tampering: exit %d\n%s", code, stdout)
	}
	args := []string{"--task", "denoise", "--noise", "25", "--solver", "example-euler", "--steps", "2", "-f",
		fx + "/images/dog-noisy25.png", "-o", out}
	if code, _, stderr := restore(t, env, args...); code == 0 || !strings.Contains(stderr, "example-euler") {
		t.Fatalf("a changed plugin ran: exit %d: %s", code, stderr)
	}
	if code, _, stderr := restore(t, env, append(args, "--allow-unverified")...); code != 0 {
		t.Fatalf("--allow-unverified: exit %d: %s", code, stderr)
	}
}

func TestVersion(t *testing.T) {
	code, stdout, stderr := restore(t, nil, "--version")
	if code != 0 || !strings.Contains(stdout, "ONNX Runtime "+host.ORTVersion) {
		t.Fatalf("exit %d:\n%s%s", code, stdout, stderr)
	}
}

func TestHelp(t *testing.T) {
	code, _, stderr := restore(t, nil, "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"denoise", "deblur", "inpaint", "--kernel", "--mask", "--noise", "--seed"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("help does not mention %s", want)
		}
	}
}

func TestDegradeThenRestore(t *testing.T) {
	dir := t.TempDir()
	holes := filepath.Join(dir, "holes.png")
	code, _, stderr := restore(t, nil, "degrade", "--task", "inpaint", "--box", "40", fx+"/images/dog.png", "-o", holes)
	if code != 0 {
		t.Fatalf("degrade: exit %d: %s", code, stderr)
	}
	out := filepath.Join(dir, "filled.png")
	code, _, stderr = restore(t, nil, "--task", "inpaint", "--mask", filepath.Join(dir, "holes.mask.png"), "--noise", "0",
		"--steps", "6", holes, "-o", out)
	if code != 0 {
		t.Fatalf("restore: exit %d: %s", code, stderr)
	}
	truth := decode(t, fx+"/images/dog.png")
	if before, after := psnr8(truth, decode(t, holes)), psnr8(truth, decode(t, out)); after < before+5 {
		t.Fatalf("%.2f → %.2f dB", before, after)
	}
}

// TestBlurShortcuts: degrade blurs with each --blur shape and writes its
// kernel; restore, given the same shortcut, sharpens the photo again.
func TestBlurShortcuts(t *testing.T) {
	for _, tc := range []struct {
		blur string
		h, w int // the kernel degrade writes
	}{
		{"disk:3", 7, 7},
		{"motion:9@30", 5, 9},
		{"gaussian:1", 7, 7},
	} {
		t.Run(tc.blur, func(t *testing.T) {
			dir := t.TempDir()
			blurred := filepath.Join(dir, "blurred.png")
			code, _, stderr := restore(t, nil, "degrade", "--task", "deblur", "--blur", tc.blur, "--noise", "2.55",
				fx+"/images/dog.png", "-o", blurred)
			if code != 0 {
				t.Fatalf("degrade: exit %d: %s", code, stderr)
			}
			k, err := psf.Read(filepath.Join(dir, "blurred.kernel.txt"))
			if err != nil || len(k) != tc.h || len(k[0]) != tc.w {
				t.Fatalf("degrade's kernel file: %v, %d rows", err, len(k))
			}
			out := filepath.Join(dir, "sharp.png")
			code, _, stderr = restore(t, nil, "--task", "deblur", "--blur", tc.blur, "--noise", "2.55", blurred, "-o", out)
			if code != 0 {
				t.Fatalf("restore: exit %d: %s", code, stderr)
			}
			truth := decode(t, fx+"/images/dog.png")
			if before, after := psnr8(truth, decode(t, blurred)), psnr8(truth, decode(t, out)); after < before+2 {
				t.Fatalf("%.2f → %.2f dB", before, after)
			}
		})
	}
}

// TestProgressJSON: --progress json writes one parseable object per network
// evaluation, counting up to the total.
func TestProgressJSON(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.png")
	code, _, stderr := restore(t, nil, "--task", "denoise", "--noise", "25", "--steps", "4", "--progress", "json", "-q",
		fx+"/images/flower-noisy25.png", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d progress lines, want 4:\n%s", len(lines), stderr)
	}
	for i, l := range lines {
		var p progressLine
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			t.Fatalf("line %d %q: %v", i+1, l, err)
		}
		if p.Evaluation != i+1 || p.Total != 4 || !strings.HasSuffix(p.File, "flower-noisy25.png") || p.Sigma <= 0 {
			t.Fatalf("line %d: %+v", i+1, p)
		}
	}
}
