package guidance

import (
	"math"
	"testing"

	"github.com/restorekit/restore/sdk"
	"github.com/restorekit/restore/sdk/operator"
)

// scaled is s·A, an operator lipschitz knows nothing about.
type scaled struct {
	operator.Operator
	s float32
}

func (o scaled) Apply(x *sdk.Tensor) *sdk.Tensor   { return o.mul(o.Operator.Apply(x)) }
func (o scaled) Adjoint(y *sdk.Tensor) *sdk.Tensor { return o.mul(o.Operator.Adjoint(y)) }
func (o scaled) mul(t *sdk.Tensor) *sdk.Tensor {
	for i := range t.Data {
		t.Data[i] *= o.s
	}
	return t
}

// normSquared is ‖A‖² by 300 power iterations: slow and sure.
func normSquared(op operator.Operator, h, w int) float64 {
	x := sdk.NewRNG(5).Noise(1, h, w, 1)
	l := 0.0
	for range 300 {
		n := 0.0
		for _, v := range x.Data {
			n += float64(v) * float64(v)
		}
		for i := range x.Data {
			x.Data[i] /= float32(math.Sqrt(n))
		}
		z := op.Adjoint(op.Apply(x))
		l = 0
		for i, v := range z.Data {
			l += float64(v) * float64(x.Data[i])
		}
		x = z
	}
	return l
}

func TestLipschitzBoundsTheNorm(t *testing.T) {
	const h, w = 24, 30
	gauss := sdk.NewTensor(1, 5, 5)
	for i := range gauss.Data {
		y, x := i/5-2, i%5-2
		gauss.Data[i] = float32(math.Exp(-float64(x*x+y*y) / 2))
	}
	streak := sdk.NewTensor(1, 9, 9)
	for i := 0; i <= 4; i++ {
		streak.Data[i*9+i] = 1
	}
	mask := sdk.NewTensor(1, h, w)
	mask.Data[3] = 1
	blur := func(k *sdk.Tensor) operator.Operator {
		b, err := operator.NewBlur(k, h, w)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	m, _ := operator.NewMask(mask)
	for _, c := range []struct {
		name      string
		op        operator.Operator
		slack     float64 // how far above ‖A‖² the bound may be
		wantExact bool
	}{
		{"identity", operator.Identity{}, 1, true},
		{"mask", m, 1, true},
		{"gauss", blur(gauss), 1.001, false},
		{"streak", blur(streak), 1.7, false},
		{"scaled-streak", scaled{blur(streak), 1.5}, 1.1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, want := lipschitz(c.op, domain{1, h, w}), normSquared(c.op, h, w)
			t.Logf("L = %.5g, ‖A‖² = %.5g", got, want)
			if got < want*(1-1e-6) || got > c.slack*want*(1+1e-6) {
				t.Errorf("L = %.5g for ‖A‖² = %.5g, want within [1, %g]×", got, want, c.slack)
			}
			if c.wantExact && got != 1 {
				t.Errorf("L = %g, want exactly 1", got)
			}
		})
	}
}
