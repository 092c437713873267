package sdk

import (
	"errors"
	"fmt"
	"testing"

	"github.com/restorekit/restore/internal/pb"
)

var testInfo = Info{Name: "t", Version: "1", Kind: KindSolver, Params: []Param{
	FloatParam("zeta", 0.3, 0, 1, "noise share"),
	IntParam("order", 2, 1, 3, "order"),
	BoolParam("churn", false, "churn"),
	ChoiceParam("schedule", "karras", []string{"karras", "vp"}, "schedule"),
}}

func TestResolve(t *testing.T) {
	tests := []struct {
		in   map[string]string
		ok   bool
		name string
	}{
		{nil, true, "defaults"},
		{map[string]string{"zeta": "0.5", "order": "3", "churn": "true", "schedule": "vp"}, true, "all set"},
		{map[string]string{"zeta": "1.5"}, false, "float out of range"},
		{map[string]string{"zeta": "NaN"}, false, "NaN"},
		{map[string]string{"zeta": "lots"}, false, "not a number"},
		{map[string]string{"order": "2.5"}, false, "not an integer"},
		{map[string]string{"order": "0"}, false, "int out of range"},
		{map[string]string{"churn": "maybe"}, false, "not a bool"},
		{map[string]string{"schedule": "linear"}, false, "not a choice"},
		{map[string]string{"speed": "1"}, false, "unknown name"},
	}
	for _, tc := range tests {
		p, err := testInfo.Resolve(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v", tc.name, err)
			continue
		}
		if err != nil && !errors.Is(err, ErrParam) {
			t.Errorf("%s: %v is not ErrParam", tc.name, err)
		}
		if tc.name == "all set" && (p.Float("zeta") != 0.5 || p.Int("order") != 3 || !p.Bool("churn") || p.String("schedule") != "vp") {
			t.Errorf("resolved %v", p.Map())
		}
		if tc.name == "defaults" && (p.Float("zeta") != 0.3 || p.Int("order") != 2 || p.String("schedule") != "karras") {
			t.Errorf("defaults %v", p.Map())
		}
	}
}

func TestInfoValidate(t *testing.T) {
	bad := []Info{
		{Name: "", Kind: KindSolver},
		{Name: "a b", Kind: KindSolver},
		{Name: "x", Kind: "sampler"},
		{Name: "x", Kind: KindSolver, Params: []Param{FloatParam("a", 2, 0, 1, "default out of range")}},
		{Name: "x", Kind: KindSolver, Params: []Param{BoolParam("a", true, ""), BoolParam("a", false, "")}},
	}
	for _, in := range bad {
		if in.Validate() == nil {
			t.Errorf("%+v accepted", in)
		}
	}
	if err := testInfo.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestTensorWireRoundTrip(t *testing.T) {
	x := NewRNG(1).Noise(3, 5, 7, 1)
	y, err := tensorFromPB(tensorToPB(x))
	if err != nil {
		t.Fatal(err)
	}
	for i := range x.Data {
		if x.Data[i] != y.Data[i] {
			t.Fatalf("element %d changed", i)
		}
	}
	bad := []*pb.Tensor{
		{C: 3, H: 5, W: 7, Data: make([]byte, 10)},
		{C: 0, H: 5, W: 7},
		{C: -1, H: 5, W: 7, Data: make([]byte, 4)},
		{C: 1 << 30, H: 1 << 30, W: 4, Data: make([]byte, 16)},
	}
	for _, m := range bad {
		if _, err := tensorFromPB(m); !errors.Is(err, ErrShape) {
			t.Errorf("%dx%dx%d with %d bytes: got %v", m.C, m.H, m.W, len(m.Data), err)
		}
	}
}

func TestRNGRepeats(t *testing.T) {
	a, b := NewRNG(5).Noise(1, 4, 4, 1), NewRNG(5).Noise(1, 4, 4, 1)
	for i := range a.Data {
		if a.Data[i] != b.Data[i] {
			t.Fatal("same seed, different noise")
		}
	}
}

// A plugin declares typed parameters; the host resolves user values against them.
func ExampleInfo_Resolve() {
	info := Info{Name: "my-solver", Version: "1.0.0", Kind: KindSolver, Params: []Param{
		FloatParam("zeta", 0.3, 0, 1, "share of fresh noise per step"),
	}}
	p, err := info.Resolve(map[string]string{"zeta": "0.8"})
	fmt.Println(p.Float("zeta"), err)
	_, err = info.Resolve(map[string]string{"zeta": "2"})
	fmt.Println(err)
	// Output:
	// 0.8 <nil>
	// my-solver: invalid parameter: zeta=2 is outside [0, 1]
}
