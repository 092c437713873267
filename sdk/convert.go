package sdk

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/restorekit/restore/internal/pb"
)

// littleEndian: the wire format is little-endian float32, which on such
// machines is the memory layout itself, copied as bytes.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// tensorToPB encodes a tensor for the wire (little-endian float32).
func tensorToPB(t *Tensor) *pb.Tensor {
	if t == nil {
		return nil
	}
	buf := make([]byte, 4*len(t.Data))
	if littleEndian && len(t.Data) > 0 {
		copy(buf, unsafe.Slice((*byte)(unsafe.Pointer(&t.Data[0])), len(buf)))
	} else {
		for i, v := range t.Data {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
	}
	return &pb.Tensor{C: int32(t.C), H: int32(t.H), W: int32(t.W), Data: buf}
}

// tensorFromPB decodes a wire tensor, checking that its shape and data agree.
// A nil message decodes to a nil tensor.
func tensorFromPB(m *pb.Tensor) (*Tensor, error) {
	if m == nil {
		return nil, nil
	}
	c, h, w := int(m.GetC()), int(m.GetH()), int(m.GetW())
	if c <= 0 || h <= 0 || w <= 0 {
		return nil, fmt.Errorf("%w: wire tensor has shape %dx%dx%d", ErrShape, c, h, w)
	}
	n := c * h * w
	// n == len/4, not 4n == len: 4n overflows for 2³⁰×2³⁰×4 (found by FuzzTensorFromPB).
	if n/c/h != w || len(m.GetData())%4 != 0 || n != len(m.GetData())/4 {
		return nil, fmt.Errorf("%w: wire tensor %dx%dx%d carries %d bytes", ErrShape, c, h, w, len(m.GetData()))
	}
	t := &Tensor{C: c, H: h, W: w, Data: make([]float32, n)}
	d := m.GetData()
	if littleEndian {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&t.Data[0])), len(d)), d)
		return t, nil
	}
	for i := range t.Data {
		t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(d[4*i:]))
	}
	return t, nil
}

func infoToPB(in Info) *pb.PluginInfo {
	out := &pb.PluginInfo{Name: in.Name, Version: in.Version, Kind: string(in.Kind), Summary: in.Summary, Protocol: ProtocolVersion,
		UsesXt: in.UsesXt}
	for _, p := range in.Params {
		out.Params = append(out.Params, &pb.Param{Name: p.Name, Type: string(p.Type), Default: p.Default,
			Min: p.Min, Max: p.Max, Choices: p.Choices, Doc: p.Doc})
	}
	return out
}

func infoFromPB(m *pb.PluginInfo) Info {
	out := Info{Name: m.GetName(), Version: m.GetVersion(), Kind: Kind(m.GetKind()), Summary: m.GetSummary(),
		UsesXt: m.GetUsesXt()}
	for _, p := range m.GetParams() {
		out.Params = append(out.Params, Param{Name: p.GetName(), Type: ParamType(p.GetType()), Default: p.GetDefault(),
			Min: p.GetMin(), Max: p.GetMax(), Choices: p.GetChoices(), Doc: p.GetDoc()})
	}
	return out
}

func operatorToPB(o OperatorSpec) *pb.OperatorSpec {
	return &pb.OperatorSpec{Kind: o.Kind, Kernel: tensorToPB(o.Kernel), Mask: tensorToPB(o.Mask),
		Scale: saturateInt32(o.Scale)}
}

// saturateInt32 converts n for an int32 wire field, clamping out-of-range
// values to the nearest bound so that an invalid value stays invalid instead
// of wrapping around into a valid one.
func saturateInt32(n int) int32 {
	switch {
	case n > math.MaxInt32:
		return math.MaxInt32
	case n < math.MinInt32:
		return math.MinInt32
	}
	return int32(n)
}

func operatorFromPB(m *pb.OperatorSpec) (OperatorSpec, error) {
	k, err := tensorFromPB(m.GetKernel())
	if err != nil {
		return OperatorSpec{}, fmt.Errorf("kernel: %w", err)
	}
	mask, err := tensorFromPB(m.GetMask())
	if err != nil {
		return OperatorSpec{}, fmt.Errorf("mask: %w", err)
	}
	return OperatorSpec{Kind: m.GetKind(), Kernel: k, Mask: mask, Scale: int(m.GetScale())}, nil
}
