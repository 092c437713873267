package sdk

import (
	"fmt"
	"math"
	"testing"
)

// TestFinite puts each kind of value at each position of short tensors
// (the four lanes and the tail of Finite's loop).
func TestFinite(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	for _, tc := range []struct {
		v    float32
		want bool
	}{
		{0, true}, {float32(math.Copysign(0, -1)), true}, {1, true}, {-2.5, true},
		{math.MaxFloat32, true}, {-math.MaxFloat32, true}, {math.SmallestNonzeroFloat32, true},
		{inf, false}, {-inf, false}, {nan, false}, {-nan, false},
	} {
		for n := 1; n <= 9; n++ {
			for at := 0; at < n; at++ {
				x := NewTensor(1, 1, n)
				for i := range x.Data {
					x.Data[i] = float32(i) - 3
				}
				x.Data[at] = tc.v
				t.Run(fmt.Sprintf("%g-at-%d-of-%d", tc.v, at, n), func(t *testing.T) {
					if got := x.Finite(); got != tc.want {
						t.Errorf("Finite() = %v, want %v", got, tc.want)
					}
				})
			}
		}
	}
	if !NewTensor(1, 1, 1).Finite() {
		t.Error("zeros: not finite")
	}
	// Image-sized tensors are checked in parallel chunks: a bad value in
	// the first, a middle or the last chunk is found.
	big := NewTensor(3, 300, 300)
	if !big.Finite() {
		t.Error("large zeros: not finite")
	}
	for _, at := range []int{0, len(big.Data) / 2, len(big.Data) - 1} {
		big.Data[at] = nan
		if big.Finite() {
			t.Errorf("large tensor with NaN at %d: finite", at)
		}
		big.Data[at] = 0
	}
}
