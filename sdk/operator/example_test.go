package operator_test

import (
	"fmt"
	"math"

	"github.com/restorekit/restore/sdk"
	"github.com/restorekit/restore/sdk/operator"
)

// A 4× super-resolution problem: the measurement is 16×12, the image it
// came from 64×48.
func ExampleForProblem() {
	y := sdk.NewTensor(3, 12, 16)
	for i := range y.Data {
		y.Data[i] = float32(math.Sin(float64(i) / 9))
	}
	p := sdk.Problem{Y: y, Operator: sdk.OperatorSpec{Kind: sdk.OpDownsample, Scale: 4}, SigmaY: 0.05}
	op, dom, err := operator.ForProblem(p)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("image:", dom)

	// The least-norm image consistent with y, measured again.
	x, _ := op.PseudoInverse(y)
	ax := op.Apply(x)
	worst := 0.0
	for i := range ax.Data {
		worst = math.Max(worst, math.Abs(float64(ax.Data[i]-y.Data[i])))
	}
	fmt.Println("A⁺y:", x, "A A⁺y:", ax, "matches y:", worst < 1e-5)

	// A DiffPIR step pulls an estimate of the image towards the measurement.
	est := op.Prox(sdk.NewTensor(dom.C, dom.H, dom.W), y, p.SigmaY, 1)
	fmt.Println("prox:", est)
	// Output:
	// image: 3x48x64
	// A⁺y: tensor 3x48x64 A A⁺y: tensor 3x12x16 matches y: true
	// prox: tensor 3x48x64
}

// Compactness tells a kernel spread over an area (defocus) from one spread
// along a path (motion); PassShare says how much of the detail passes;
// Widths tell a thin straight line from a shake, and AxisWidths count the
// rows a line steps across.
func ExampleBlur_Compactness() {
	kernel := func(n int, f func(i, j int) bool) *sdk.Tensor {
		k := sdk.NewTensor(1, n, n)
		for i := range n {
			for j := range n {
				if f(i-n/2, j-n/2) {
					k.Data[i*n+j] = 1
				}
			}
		}
		return k
	}
	for _, c := range []struct {
		name string
		k    *sdk.Tensor
	}{
		{"disk, radius 4", kernel(9, func(i, j int) bool { return i*i+j*j <= 16 })},
		{"7×7 box", kernel(7, func(int, int) bool { return true })},
		{"horizontal line, 9 px", kernel(9, func(i, _ int) bool { return i == 0 })},
		{"diagonal, 9 taps", kernel(9, func(i, j int) bool { return i == j })},
		{"L-shaped shake", kernel(9, func(i, j int) bool { return i == 0 && j >= 0 || j == 0 && i >= 0 })},
	} {
		b, err := operator.NewBlur(c.k, 256, 256)
		if err != nil {
			fmt.Println(err)
			return
		}
		major, minor := b.Widths()
		x, y := b.AxisWidths()
		fmt.Printf("%-22s compactness %.2f, passes %.2f, widths %.1f × %.1f, along the axes %.1f × %.1f\n",
			c.name, b.Compactness(), b.PassShare(0.1), major, minor, x, y)
	}
	// Output:
	// disk, radius 4         compactness 6.25, passes 0.16, widths 6.9 × 6.9, along the axes 6.9 × 6.9
	// 7×7 box                compactness 6.12, passes 0.18, widths 6.9 × 6.9, along the axes 6.9 × 6.9
	// horizontal line, 9 px  compactness 1.35, passes 0.59, widths 8.9 × 0.0, along the axes 8.9 × 0.0
	// diagonal, 9 taps       compactness 0.67, passes 0.59, widths 12.6 × 0.0, along the axes 8.9 × 8.9
	// L-shaped shake         compactness 2.14, passes 0.74, widths 6.3 × 3.2, along the axes 5.0 × 5.0
}
