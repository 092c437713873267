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
