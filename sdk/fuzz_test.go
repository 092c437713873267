package sdk

import (
	"testing"

	"github.com/restorekit/restore/internal/pb"
)

// FuzzTensorFromPB feeds the wire converter arbitrary shapes and payloads:
// a plugin or host on the other end may be broken or hostile. It must
// return a tensor whose shape and data agree, or an error.
func FuzzTensorFromPB(f *testing.F) {
	f.Add(int32(3), int32(2), int32(2), make([]byte, 48))
	f.Add(int32(1), int32(1), int32(1), []byte{0, 0, 0x80, 0x7f}) // +Inf
	f.Add(int32(-1), int32(2), int32(2), []byte{})
	f.Add(int32(1<<30), int32(1<<30), int32(4), []byte{1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, c, h, w int32, data []byte) {
		tt, err := tensorFromPB(&pb.Tensor{C: c, H: h, W: w, Data: data})
		if err != nil {
			return
		}
		if tt.C < 1 || tt.H < 1 || tt.W < 1 || len(tt.Data) != tt.C*tt.H*tt.W || 4*len(tt.Data) != len(data) {
			t.Fatalf("accepted %dx%dx%d with %d values from %d bytes", tt.C, tt.H, tt.W, len(tt.Data), len(data))
		}
	})
}

// FuzzOperatorFromPB: operator descriptions from the wire.
func FuzzOperatorFromPB(f *testing.F) {
	f.Add("blur", int32(1), int32(3), int32(3), make([]byte, 36), int32(0))
	f.Add("downsample", int32(0), int32(0), int32(0), []byte{}, int32(4))
	f.Add("mask", int32(1), int32(2), int32(2), make([]byte, 16), int32(-7))
	f.Fuzz(func(t *testing.T, kind string, c, h, w int32, data []byte, scale int32) {
		m := &pb.OperatorSpec{Kind: kind, Scale: scale}
		switch kind {
		case OpBlur:
			m.Kernel = &pb.Tensor{C: c, H: h, W: w, Data: data}
		case OpMask:
			m.Mask = &pb.Tensor{C: c, H: h, W: w, Data: data}
		}
		_, _ = operatorFromPB(m) // must not panic
	})
}
