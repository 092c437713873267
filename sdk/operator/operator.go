// Package operator holds the measurement operators of restoration problems,
// y = A(x) + n: Identity (denoising), Blur (deblurring), Mask (inpainting)
// and Downsample (super-resolution).
//
// Each operator offers A, its adjoint Aᵀ, the proximal step
//
//	Prox(z, y, σ_y, ρ) = argmin_x ‖A x − y‖²/(2σ_y²) + (ρ/2)‖x − z‖²
//
// (in closed form, except Downsample's, which uses conjugate gradients), and
// a pseudo-inverse where one exists. Downsample's measurements are smaller
// than its images; ForProblem derives the image shape from the measurement. The vocabulary
// follows DeepInverse's physics operators (A, A_adjoint, prox_l2, A_dagger).
// Operators act on every channel of a C×H×W tensor alike and are safe for
// concurrent use.
package operator

import (
	"errors"
	"fmt"

	"github.com/restorekit/restore/sdk"
)

// Operator is a linear measurement operator on C×H×W tensors.
type Operator interface {
	// Apply returns A x.
	Apply(x *sdk.Tensor) *sdk.Tensor
	// Adjoint returns Aᵀ y.
	Adjoint(y *sdk.Tensor) *sdk.Tensor
	// Prox returns argmin_x ‖A x − y‖²/(2σ_y²) + (ρ/2)‖x − z‖².
	// With sigmaY = 0 the data term becomes the constraint A x = y where the
	// operator can enforce it exactly (Identity, Mask, Downsample), and a tiny
	// σ_y otherwise (Blur).
	Prox(z, y *sdk.Tensor, sigmaY, rho float64) *sdk.Tensor
	// PseudoInverse returns A⁺ y, or ErrNoPseudoInverse.
	PseudoInverse(y *sdk.Tensor) (*sdk.Tensor, error)
}

// ProxOverwriter is an Operator whose Prox can write its result over z,
// sparing a restoration one image-sized allocation per step (on a 512²
// photo, about as long as a tenth of the step's FFTs: fresh memory is
// paged in as it is written).
type ProxOverwriter interface {
	// ProxOver returns Prox(z, y, sigmaY, rho), written over z where the
	// operator can (z's contents are then lost either way).
	ProxOver(z, y *sdk.Tensor, sigmaY, rho float64) *sdk.Tensor
}

// ErrNoPseudoInverse is returned by operators without a pseudo-inverse.
var ErrNoPseudoInverse = errors.New("operator: no pseudo-inverse")

// ErrSpec reports an operator description that cannot be built.
var ErrSpec = errors.New("operator: bad specification")

// New builds the operator that spec describes, for images of c×h×w (the
// image's shape, which for OpDownsample is Scale times the measurement's).
// spec.Scale must be 0 (or 1) for every kind but OpDownsample.
func New(spec sdk.OperatorSpec, c, h, w int) (Operator, error) {
	if spec.Kind != sdk.OpDownsample && (spec.Scale < 0 || spec.Scale > 1) {
		return nil, fmt.Errorf("%w: scale %d given to a %q operator (only %q takes one)", ErrSpec, spec.Scale, spec.Kind, sdk.OpDownsample)
	}
	switch spec.Kind {
	case sdk.OpIdentity, "":
		return Identity{}, nil
	case sdk.OpMask:
		if spec.Mask == nil {
			return nil, fmt.Errorf("%w: mask operator without a mask", ErrSpec)
		}
		if spec.Mask.C != 1 || spec.Mask.H != h || spec.Mask.W != w {
			return nil, fmt.Errorf("%w: mask is %dx%d, image is %dx%d", ErrSpec, spec.Mask.W, spec.Mask.H, w, h)
		}
		return NewMask(spec.Mask)
	case sdk.OpBlur:
		if spec.Kernel == nil {
			return nil, fmt.Errorf("%w: blur operator without a kernel", ErrSpec)
		}
		return NewBlur(spec.Kernel, h, w)
	case sdk.OpDownsample:
		return NewDownsample(spec.Scale, h, w)
	}
	return nil, fmt.Errorf("%w: unknown operator kind %q", ErrSpec, spec.Kind)
}

// Shape is the C×H×W shape of a tensor.
type Shape struct{ C, H, W int }

// Matches reports whether t is a tensor of shape s.
func (s Shape) Matches(t *sdk.Tensor) bool {
	return t != nil && t.C == s.C && t.H == s.H && t.W == s.W
}

// String describes the shape, for messages.
func (s Shape) String() string { return fmt.Sprintf("%dx%dx%d", s.C, s.H, s.W) }

// Domain returns the shape of the images x whose measurement A x under spec
// has y's shape: y's own for identity, mask and blur, C×(H·s)×(W·s) for
// downsample by s. It checks y's shape and the scale, not the rest of spec.
func Domain(spec sdk.OperatorSpec, y *sdk.Tensor) (Shape, error) {
	if err := y.Validate(); err != nil {
		return Shape{}, fmt.Errorf("%w: measurement: %w", ErrSpec, err)
	}
	if spec.Kind != sdk.OpDownsample {
		return Shape{y.C, y.H, y.W}, nil
	}
	if spec.Scale < 2 || spec.Scale > MaxScale {
		return Shape{}, fmt.Errorf("%w: downsampling scale %d, want 2 to %d", ErrSpec, spec.Scale, MaxScale)
	}
	return Shape{y.C, y.H * spec.Scale, y.W * spec.Scale}, nil
}

// ForProblem builds the operator of p for the image shape that p.Y
// implies (see Domain), and returns that shape: the shape of the estimates
// x̂₀ a guider receives and of the images Apply takes. p.Y is then the
// shape of Apply's results.
func ForProblem(p sdk.Problem) (Operator, Shape, error) {
	dom, err := Domain(p.Operator, p.Y)
	if err != nil {
		return nil, Shape{}, err
	}
	op, err := New(p.Operator, dom.C, dom.H, dom.W)
	if err != nil {
		return nil, Shape{}, err
	}
	return op, dom, nil
}

// Identity is A = I: the denoising problem.
type Identity struct{}

// Apply returns a copy of x.
func (Identity) Apply(x *sdk.Tensor) *sdk.Tensor { return x.Clone() }

// Adjoint returns a copy of y.
func (Identity) Adjoint(y *sdk.Tensor) *sdk.Tensor { return y.Clone() }

// Prox returns (y/σ_y² + ρ z)/(1/σ_y² + ρ), per element.
func (Identity) Prox(z, y *sdk.Tensor, sigmaY, rho float64) *sdk.Tensor {
	if sigmaY == 0 {
		return y.Clone()
	}
	a := 1 / (sigmaY * sigmaY)
	out := sdk.NewTensor(z.C, z.H, z.W)
	for i := range out.Data {
		out.Data[i] = float32((a*float64(y.Data[i]) + rho*float64(z.Data[i])) / (a + rho))
	}
	return out
}

// PseudoInverse returns a copy of y.
func (Identity) PseudoInverse(y *sdk.Tensor) (*sdk.Tensor, error) { return y.Clone(), nil }

// Mask is A = diag(m): the inpainting problem. m is 1 where a pixel was
// observed and 0 where it is missing; the same mask applies to every channel.
type Mask struct {
	m    []float32
	h, w int
}

// NewMask returns the mask operator for a 1×H×W mask of zeros and ones
// (values are rounded to 0 or 1).
func NewMask(m *sdk.Tensor) (*Mask, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%w: mask: %w", ErrSpec, err)
	}
	if m.C != 1 {
		return nil, fmt.Errorf("%w: mask has %d channels, want 1", ErrSpec, m.C)
	}
	out := &Mask{m: make([]float32, len(m.Data)), h: m.H, w: m.W}
	for i, v := range m.Data {
		if v >= 0.5 {
			out.m[i] = 1
		}
	}
	return out, nil
}

// Observed reports whether pixel (y, x) was observed.
func (k *Mask) Observed(y, x int) bool { return k.m[y*k.w+x] == 1 }

func (k *Mask) scale(x *sdk.Tensor) *sdk.Tensor {
	out := sdk.NewTensor(x.C, x.H, x.W)
	n := k.h * k.w
	for c := 0; c < x.C; c++ {
		for i := 0; i < n; i++ {
			out.Data[c*n+i] = x.Data[c*n+i] * k.m[i]
		}
	}
	return out
}

// Apply returns m ⊙ x.
func (k *Mask) Apply(x *sdk.Tensor) *sdk.Tensor { return k.scale(x) }

// Adjoint returns m ⊙ y (the mask is diagonal, so self-adjoint).
func (k *Mask) Adjoint(y *sdk.Tensor) *sdk.Tensor { return k.scale(y) }

// Prox returns, per pixel, (m y/σ_y² + ρ z)/(m/σ_y² + ρ); with σ_y = 0 the
// observed pixels are set to y exactly.
func (k *Mask) Prox(z, y *sdk.Tensor, sigmaY, rho float64) *sdk.Tensor {
	out := z.Clone()
	n := k.h * k.w
	for c := 0; c < z.C; c++ {
		for i := 0; i < n; i++ {
			if k.m[i] == 0 {
				continue
			}
			j := c*n + i
			if sigmaY == 0 {
				out.Data[j] = y.Data[j]
				continue
			}
			a := 1 / (sigmaY * sigmaY)
			out.Data[j] = float32((a*float64(y.Data[j]) + rho*float64(z.Data[j])) / (a + rho))
		}
	}
	return out
}

// PseudoInverse returns m ⊙ y: observed pixels kept, missing ones zero.
func (k *Mask) PseudoInverse(y *sdk.Tensor) (*sdk.Tensor, error) { return k.scale(y), nil }
