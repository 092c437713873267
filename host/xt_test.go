package host

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/restorekit/restore/sdk"
)

// xtProbe is guidance that changes nothing and counts the steps that
// carried Xt.
type xtProbe struct {
	name string
	uses bool
	saw  *atomic.Int32
}

func (p xtProbe) Info() sdk.Info {
	return sdk.Info{Name: p.name, Version: "1.0.0", Kind: sdk.KindGuidance, Summary: "counts Xt (test)", UsesXt: p.uses}
}

func (p xtProbe) Begin(context.Context, sdk.Problem, sdk.Params) (sdk.Guider, error) { return p, nil }

func (p xtProbe) Guide(_ context.Context, s sdk.GuideStep) (*sdk.Tensor, error) {
	if s.Xt != nil {
		p.saw.Add(1)
	}
	return s.X0, nil
}

func (p xtProbe) End() error { return nil }

// Xt reaches only guidance whose Info asks for it (out of process it is an
// image-sized message per evaluation).
func TestGuidanceGetsXtOnlyWhenItAsks(t *testing.T) {
	with, without := &atomic.Int32{}, &atomic.Int32{}
	h := openHost(t, Config{Plugins: []sdk.Plugin{
		xtProbe{name: "probe-xt", uses: true, saw: with},
		xtProbe{name: "probe-noxt", uses: false, saw: without},
	}})
	img := crop(readPNG(t, fixtures+"/images/dog-noisy25.png"), 32, 32)
	for _, g := range []string{"probe-xt", "probe-noxt"} {
		if _, err := h.Restore(context.Background(), Request{Task: Denoise, Image: img, Noise: 25, Steps: 4,
			Solver: "ddim", Guidance: g}); err != nil {
			t.Fatalf("%s: %v", g, err)
		}
	}
	if with.Load() != 4 || without.Load() != 0 {
		t.Fatalf("steps with Xt: %d (want 4) asking for it, %d (want 0) not asking", with.Load(), without.Load())
	}
}
