package host

import (
	"context"
	"sort"
	"sync"

	"github.com/restorekit/restore/sdk"
)

// batcher coalesces the network evaluations of concurrent posterior samples
// into one run: an evaluation waits until every sample still running has
// asked for one, then all go through the network together, ordered by
// sample, so the batches (and the results) do not depend on timing.
type batcher struct {
	m        *model
	ensemble int // copies per evaluation (see denoiseEnsemble)
	mu       sync.Mutex
	active   int // samples not yet finished
	queue    []*batchCall
}

type batchCall struct {
	ctx   context.Context
	i     int
	x     *sdk.Tensor
	sigma float64
	done  chan struct{}
	out   *sdk.Tensor
	err   error
}

func newBatcher(m *model, samples, ensemble int) *batcher {
	return &batcher{m: m, active: samples, ensemble: ensemble}
}

// denoise queues one evaluation for sample i and waits for its batch.
func (b *batcher) denoise(ctx context.Context, i int, x *sdk.Tensor, sigma float64) (*sdk.Tensor, error) {
	c := &batchCall{ctx: ctx, i: i, x: x, sigma: sigma, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, c)
	run := b.takeLocked()
	b.mu.Unlock()
	b.run(run)
	select {
	case <-c.done:
		return c.out, c.err
	case <-ctx.Done():
		b.mu.Lock()
		for j, q := range b.queue {
			if q == c {
				b.queue = append(b.queue[:j], b.queue[j+1:]...)
				b.mu.Unlock()
				return nil, ctx.Err()
			}
		}
		b.mu.Unlock()
		<-c.done // already running
		return c.out, c.err
	}
}

// leave marks a sample finished, which may complete a batch the others wait on.
func (b *batcher) leave() {
	b.mu.Lock()
	b.active--
	run := b.takeLocked()
	b.mu.Unlock()
	b.run(run)
}

// takeLocked removes and returns the queue when every active sample is in it.
func (b *batcher) takeLocked() []*batchCall {
	if len(b.queue) == 0 || len(b.queue) < b.active {
		return nil
	}
	run := b.queue
	b.queue = nil
	return run
}

// run evaluates calls in batches of equal shape.
func (b *batcher) run(calls []*batchCall) {
	if len(calls) == 0 {
		return
	}
	sort.SliceStable(calls, func(i, j int) bool { return calls[i].i < calls[j].i })
	for len(calls) > 0 {
		n := 1
		for n < len(calls) && calls[n].x.SameShape(calls[0].x) {
			n++
		}
		group := calls[:n]
		calls = calls[n:]
		xs := make([]*sdk.Tensor, n)
		sigmas := make([]float64, n)
		for j, c := range group {
			xs[j], sigmas[j] = c.x, c.sigma
		}
		outs, err := b.m.denoiseEnsemble(group[0].ctx, xs, sigmas, b.ensemble)
		for j, c := range group {
			if err != nil {
				c.err = err
			} else {
				c.out = outs[j]
			}
			close(c.done)
		}
	}
}
