package sdk

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restorekit/restore/internal/pb"
)

func TestWireFiles(t *testing.T) {
	dir := t.TempDir()
	w := wire{dir: dir, send: true}
	big := NewRNG(1).Noise(3, 256, 256, 1) // 768 KiB: a file
	m := w.encode(big)
	if m.GetFile() == "" || len(m.GetData()) != 0 {
		t.Fatalf("a %d-byte tensor went inline", 4*len(big.Data))
	}
	if _, err := os.Stat(filepath.Join(dir, m.GetFile())); err != nil {
		t.Fatal(err)
	}
	got, err := w.decode(m)
	if err != nil {
		t.Fatal(err)
	}
	for i := range big.Data {
		if got.Data[i] != big.Data[i] {
			t.Fatalf("element %d: %g, sent %g", i, got.Data[i], big.Data[i])
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("%d files left in the shared folder after reading", len(left))
	}
	if m := w.encode(NewTensor(3, 8, 8)); m.GetFile() != "" {
		t.Fatal("a small tensor went as a file")
	}
	if m := (wire{dir: dir}).encode(big); m.GetFile() != "" {
		t.Fatal("a file went to a side that does not read files")
	}
	if m := (wire{dir: filepath.Join(dir, "gone"), send: true}).encode(big); m.GetFile() != "" || len(m.GetData()) != 4*len(big.Data) {
		t.Fatal("an unwritable folder did not fall back to inline")
	}

	// What a receiver refuses: names outside its folder, sizes that do not
	// match, a file when it has no folder.
	os.WriteFile(filepath.Join(dir, "t-short"), make([]byte, 12), 0o600)
	for _, m := range []*pb.Tensor{
		{C: 1, H: 1, W: 3, File: "../t-x"},
		{C: 1, H: 1, W: 3, File: "t-x/../../etc/passwd"},
		{C: 1, H: 1, W: 3, File: "passwd"},
		{C: 1, H: 1, W: 3, File: "t-missing"},
		{C: 1, H: 2, W: 3, File: "t-short"},
		{C: 1, H: 1, W: 3, File: "t-short", Data: []byte{1}},
		{C: 0, H: 1, W: 3, File: "t-short"},
	} {
		if _, err := w.decode(m); !errors.Is(err, ErrShape) {
			t.Errorf("%v: got %v, want ErrShape", m, err)
		}
	}
	if _, err := (wire{}).decode(&pb.Tensor{C: 1, H: 1, W: 3, File: "t-short"}); !errors.Is(err, ErrShape) {
		t.Errorf("no folder: got %v, want ErrShape", err)
	}
}

func TestPluginWireNeedsAPrivateFolder(t *testing.T) {
	private := t.TempDir()
	os.Chmod(private, 0o700)
	open := t.TempDir()
	os.Chmod(open, 0o755)
	for _, tc := range []struct {
		dir  string
		want bool
	}{{private, true}, {open, false}, {"relative", false}, {"", false}, {filepath.Join(private, "missing"), false}} {
		t.Setenv(wireDirEnv, tc.dir)
		if got := pluginWire(); (got.dir != "") != tc.want || got.send != tc.want {
			t.Errorf("%q: %+v, want usable=%v", tc.dir, got, tc.want)
		}
	}
}

// A plugin built with this SDK and launched by it moves large tensors
// through slots, leaves no one-shot file behind, and its folder goes when
// it is killed.
func TestLaunchSharesFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin")
	}
	bin := filepath.Join(t.TempDir(), "restore-ddim")
	cmd := exec.Command("go", "build", "-o", bin, "../plugins/cmd/restore-ddim")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	cl, err := Launch(bin, LaunchOptions{CleanEnv: true})
	if err != nil {
		t.Fatal(err)
	}
	rs := cl.Plugin().(*remoteSolver)
	if !rs.w.send || rs.w.dir != cl.dir || cl.dir == "" {
		cl.Kill()
		t.Fatalf("wire %+v, client folder %q: the plugin does not take files", rs.w, cl.dir)
	}
	d := DenoiserFunc(func(_ context.Context, x *Tensor, _ float64) (*Tensor, error) { return x.Clone(), nil })
	params, _ := rs.Info().Resolve(nil)
	x := NewRNG(1).Noise(3, 256, 256, 1)
	if _, err := rs.Sample(context.Background(), d, SampleRequest{X: x, SigmaMax: 1, SigmaMin: 0.01, Steps: 3, Seed: 1, Params: params}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(cl.dir)
	slots := 0
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), slotPrefix) {
			t.Errorf("tensor file %s left after the session", e.Name())
		} else {
			slots++
		}
	}
	if maxSlots > 0 && (slots == 0 || slots > 2*maxSlots) { // no slots where they are not mapped
		t.Errorf("%d slot files after the session: want the host's and the plugin's few", slots)
	}
	cl.Kill()
	if _, err := os.Stat(cl.dir); !os.IsNotExist(err) {
		t.Errorf("the folder outlived the plugin: %v", err)
	}
}

// TestRecycleOffersATensorOnce: a guider that returns its X0 lists the same
// memory twice; receivedTensor must never hand it out to two tensors, nor
// hand out memory of another size or tensors too small to cross in slots.
func TestRecycleOffersATensorOnce(t *testing.T) {
	const c, h, w = 3, 256, 256
	a := NewTensor(c, h, w)
	recycle(a, a, NewTensor(1, 8, 8), NewTensor(c, h, w+1))
	first, second := receivedTensor(c, h, w), receivedTensor(c, h, w)
	if &first.Data[0] == &second.Data[0] {
		t.Fatal("one tensor's memory handed out twice")
	}
	for _, r := range []*Tensor{first, second} {
		if r.C != c || r.H != h || r.W != w || len(r.Data) != c*h*w {
			t.Fatalf("received tensor %v, want %dx%dx%d", r, c, h, w)
		}
	}
	if small := receivedTensor(1, 8, 8); small == nil || len(small.Data) != 64 {
		t.Fatalf("small tensor: %v", small)
	}
}
