package sdk

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync/atomic"

	"github.com/restorekit/restore/internal/par"
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
	// An image-sized tensor is split across the cores: the host checks
	// every network output, and a 512² one takes 0.5 ms on one core.
	if len(t.Data) < parallelFinite {
		return finite(t.Data)
	}
	var bad atomic.Bool
	par.Chunks(len(t.Data), runtime.GOMAXPROCS(0), func(_, lo, hi int) {
		if !bad.Load() && !finite(t.Data[lo:hi]) {
			bad.Store(true)
		}
	})
	return !bad.Load()
}

// parallelFinite is the length from which Finite splits the work.
const parallelFinite = 1 << 18

// finite reports whether d holds no NaN or ±Inf.
func finite(d []float32) bool {
	// A float32 is NaN or ±Inf when its exponent bits are all ones, that is
	// when its magnitude's bits are at least +Inf's. The largest magnitude
	// is taken in four lanes, without a branch per element.
	const inf = 0x7f800000
	var m0, m1, m2, m3 uint32
	for len(d) >= 4 {
		m0 = max(m0, math.Float32bits(d[0])&0x7fffffff)
		m1 = max(m1, math.Float32bits(d[1])&0x7fffffff)
		m2 = max(m2, math.Float32bits(d[2])&0x7fffffff)
		m3 = max(m3, math.Float32bits(d[3])&0x7fffffff)
		d = d[4:]
	}
	for _, v := range d {
		m0 = max(m0, math.Float32bits(v)&0x7fffffff)
	}
	return max(m0, m1, m2, m3) < inf
}

// String describes the shape, for messages.
func (t *Tensor) String() string {
	if t == nil {
		return "<nil tensor>"
	}
	return fmt.Sprintf("tensor %dx%dx%d", t.C, t.H, t.W)
}
