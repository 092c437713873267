//go:build !unix

package sdk

import "fmt"

// slots are shared memory mappings (see slots_unix.go); elsewhere large
// tensors cross as one-shot files.
type slots struct{}

func newSlots(string) *slots { return nil }

func (*slots) put(*Tensor) (string, bool) { return "", false }

func (*slots) get(ref string, _, _, _ int) (*Tensor, error) {
	return nil, fmt.Errorf("%w: tensor sent in slot %q, which this system does not map", ErrShape, ref)
}

func (*slots) close() {}

const (
	slotPrefix = "s-"
	maxSlots   = 0 // slots each side makes: none here
)
