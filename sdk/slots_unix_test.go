//go:build unix

package sdk

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/restorekit/restore/internal/pb"
)

// TestWireSlots sends tensors between two sides of one folder through
// slots: each arrives intact, a slot is reused once read, a slot still
// unread is not, a sender out of slots falls back to one-shot files, and
// a receiver refuses references that do not name a full slot.
func TestWireSlots(t *testing.T) {
	dir := t.TempDir()
	a := wire{dir: dir, send: true, sl: newSlots(dir)}
	b := wire{dir: dir, send: true, sl: newSlots(dir)}
	defer a.sl.close()
	defer b.sl.close()
	big := NewRNG(1).Noise(3, 256, 256, 1)
	m := a.encode(big)
	if !strings.HasPrefix(m.GetFile(), slotPrefix) {
		t.Fatalf("sent as %q, not in a slot", m.GetFile())
	}
	got, err := b.decode(m)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Data, big.Data) {
		t.Fatal("the tensor changed on the way")
	}
	if _, err := b.decode(m); !errors.Is(err, ErrShape) {
		t.Fatalf("a slot read twice: got %v, want ErrShape", err)
	}
	// read slots are reused; unread ones are not, up to maxSlots, and then
	// tensors go as one-shot files
	m2 := a.encode(big)
	if name, _, _ := strings.Cut(m2.GetFile(), "#"); !strings.HasPrefix(m.GetFile(), name+"#") {
		t.Fatalf("second tensor in %q, first in %q: the free slot was not reused", m2.GetFile(), m.GetFile())
	}
	unread := []*pb.Tensor{m2}
	for range maxSlots - 1 {
		unread = append(unread, a.encode(big))
	}
	names := map[string]bool{}
	for _, u := range unread {
		name, _, _ := strings.Cut(u.GetFile(), "#")
		names[name] = true
	}
	if len(names) != maxSlots {
		t.Fatalf("%d unread tensors share %d slots", len(unread), len(names))
	}
	if f := a.encode(big).GetFile(); !strings.HasPrefix(f, "t-") {
		t.Fatalf("with every slot full a tensor went as %q, want a one-shot file", f)
	}
	for _, u := range unread {
		if _, err := b.decode(u); err != nil {
			t.Fatal(err)
		}
	}
	// a reference to a slot that holds another tensor, or to no slot
	name, _, _ := strings.Cut(m.GetFile(), "#")
	for _, ref := range []string{name + "#999", name, "s-", "s-../x#1", "s-missing#1", name + "#x"} {
		if _, err := b.decode(&pb.Tensor{C: 3, H: 256, W: 256, File: ref}); !errors.Is(err, ErrShape) {
			t.Errorf("%q: got %v, want ErrShape", ref, err)
		}
	}
	if _, err := b.decode(&pb.Tensor{C: 3, H: 512, W: 512, File: a.encode(big).GetFile()}); !errors.Is(err, ErrShape) {
		t.Errorf("a shape larger than the slot: got %v, want ErrShape", err)
	}
	// too large for a slot
	if f := a.encode(NewTensor(1, 2048, 4097)).GetFile(); !strings.HasPrefix(f, "t-") {
		t.Errorf("a %d MiB tensor went as %q, want a one-shot file", 4*2048*4097>>20, f)
	}
	a.sl.close()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), slotPrefix) && !slices.ContainsFunc(b.sl.own, func(f *slotFile) bool { return f.name == e.Name() }) {
			t.Errorf("slot %s left after its side closed", e.Name())
		}
	}
	if m := a.encode(big); !strings.HasPrefix(m.GetFile(), "t-") {
		t.Errorf("a closed side sent %q, want a one-shot file", m.GetFile())
	}
}
