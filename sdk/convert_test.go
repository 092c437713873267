package sdk

import (
	"math"
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/restorekit/restore/internal/pb"
)

// wireOperator sends o through the protobuf encoding and back.
func wireOperator(t *testing.T, o OperatorSpec) OperatorSpec {
	t.Helper()
	b, err := proto.Marshal(operatorToPB(o))
	if err != nil {
		t.Fatal(err)
	}
	var m pb.OperatorSpec
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	got, err := operatorFromPB(&m)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func sameTensor(a, b *Tensor) bool {
	if a == nil || b == nil {
		return a == b
	}
	if !a.SameShape(b) || len(a.Data) != len(b.Data) {
		return false
	}
	for i := range a.Data {
		if math.Float32bits(a.Data[i]) != math.Float32bits(b.Data[i]) {
			return false
		}
	}
	return true
}

func TestOperatorSpecRoundTrip(t *testing.T) {
	kernel := NewTensor(1, 3, 5)
	for i := range kernel.Data {
		kernel.Data[i] = float32(i) / 7
	}
	mask := NewTensor(1, 4, 6)
	for i := range mask.Data {
		mask.Data[i] = float32(i % 2)
	}
	for _, o := range []OperatorSpec{
		{Kind: OpIdentity},
		{Kind: OpBlur, Kernel: kernel},
		{Kind: OpMask, Mask: mask},
		{Kind: OpDownsample, Scale: 2},
		{Kind: OpDownsample, Scale: 4},
		{Kind: OpDownsample, Scale: -3}, // invalid, but carried as it is for the receiver to reject
		{},
	} {
		got := wireOperator(t, o)
		if got.Kind != o.Kind || got.Scale != o.Scale || !sameTensor(got.Kernel, o.Kernel) || !sameTensor(got.Mask, o.Mask) {
			t.Errorf("%+v came back as %+v", o, got)
		}
	}
}

// TestOperatorScaleSaturates checks that a scale beyond int32 stays out of
// range on the wire instead of wrapping round to a plausible value.
func TestOperatorScaleSaturates(t *testing.T) {
	if math.MaxInt == math.MaxInt32 {
		t.Skip("int is 32 bits")
	}
	big := int64(1)<<32 + 2 // would wrap to 2
	for _, tc := range []struct{ in, want int64 }{
		{big, math.MaxInt32},
		{-big, math.MinInt32},
	} {
		if got := wireOperator(t, OperatorSpec{Kind: OpDownsample, Scale: int(tc.in)}).Scale; int64(got) != tc.want {
			t.Errorf("scale %d arrived as %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestInfoCrossesTheWire(t *testing.T) {
	in := Info{Name: "g", Version: "1.2.3", Kind: KindGuidance, Summary: "s", UsesXt: true,
		Params: []Param{FloatParam("lambda", 1, 0, 10, "weight")}}
	out := infoFromPB(infoToPB(in))
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("got %+v, want %+v", out, in)
	}
}
