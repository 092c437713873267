package sdk

import (
	"errors"
	"fmt"
	"math"
)

// Tensor is a float32 image of C channels, H rows and W columns, stored
// channel by channel, row by row: element (c, y, x) is Data[(c*H+y)*W+x].
// Inside the sampler values live in model space [-1, 1].
type Tensor struct {
	C, H, W int
	Data    []float32
}

// ErrShape reports tensors whose shapes do not fit together.
var ErrShape = errors.New("sdk: tensor shape mismatch")

// NewTensor returns a zero tensor of the given shape.
func NewTensor(c, h, w int) *Tensor {
	return &Tensor{C: c, H: h, W: w, Data: make([]float32, c*h*w)}
}

// Len is the number of elements, C·H·W.
func (t *Tensor) Len() int { return t.C * t.H * t.W }

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	out := &Tensor{C: t.C, H: t.H, W: t.W, Data: make([]float32, len(t.Data))}
	copy(out.Data, t.Data)
	return out
}

// SameShape reports whether u has t's shape.
func (t *Tensor) SameShape(u *Tensor) bool {
	return u != nil && t.C == u.C && t.H == u.H && t.W == u.W
}

// Validate checks that Data holds exactly C·H·W elements and the shape is positive.
func (t *Tensor) Validate() error {
	if t == nil {
		return fmt.Errorf("%w: nil tensor", ErrShape)
	}
	if t.C <= 0 || t.H <= 0 || t.W <= 0 {
		return fmt.Errorf("%w: non-positive shape %dx%dx%d", ErrShape, t.C, t.H, t.W)
	}
	if len(t.Data) != t.C*t.H*t.W {
		return fmt.Errorf("%w: %d elements for shape %dx%dx%d", ErrShape, len(t.Data), t.C, t.H, t.W)
	}
	return nil
}

// Finite reports whether every element is finite (no NaN or ±Inf).
func (t *Tensor) Finite() bool {
	for _, v := range t.Data {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
	}
	return true
}

// String describes the shape, for messages.
func (t *Tensor) String() string {
	if t == nil {
		return "<nil tensor>"
	}
	return fmt.Sprintf("tensor %dx%dx%d", t.C, t.H, t.W)
}
