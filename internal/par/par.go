// Package par splits loops across the cores.
package par

import (
	"runtime"
	"sync/atomic"
)

// Chunks runs fn over [0, n) split into chunks that k workers take in
// turn, the calling goroutine being worker 0 and k−1 goroutines the
// others; it returns when every chunk is done. fn gets the worker's number
// (below k, for per-worker scratch space) and its chunk [lo, hi).
//
// Chunks, about eight per worker, rather than one share per worker: a
// restoration's loops run right after a network evaluation, when the other
// cores wake up late (on a VM, 0.2 to 3 ms for a parked thread), and the
// workers already running take on the work of those not yet started.
// Chunks returns as soon as every chunk is done, without waiting for a
// worker that has not started: it finds no chunk left and ends.
func Chunks(n, k int, fn func(worker, lo, hi int)) {
	k = min(k, n)
	if k <= 1 {
		if n > 0 {
			fn(0, 0, n)
		}
		return
	}
	l := newLoop(n, k, fn)
	for w := 1; w < k; w++ {
		go l.work(w)
	}
	l.work(0)
	l.wait()
}

// loop is one parallel loop: its chunks, the next one to take and how many
// are done.
type loop struct {
	n, chunk, chunks int
	fn               func(worker, lo, hi int)
	next, done       atomic.Int64
}

func newLoop(n, k int, fn func(worker, lo, hi int)) *loop {
	chunk := max(1, n/(8*k))
	return &loop{n: n, chunk: chunk, chunks: (n + chunk - 1) / chunk, fn: fn}
}

// work takes chunks until none is left.
func (l *loop) work(w int) {
	for {
		c := int(l.next.Add(1)) - 1
		if c >= l.chunks {
			return
		}
		lo := c * l.chunk
		l.fn(w, lo, min(lo+l.chunk, l.n))
		l.done.Add(1)
	}
}

// wait returns when every chunk is done: after the caller's own last
// chunk, only chunks other workers are in the middle of, so it yields
// rather than sleeps (a sleeping goroutine is woken late).
func (l *loop) wait() {
	for l.done.Load() < int64(l.chunks) {
		runtime.Gosched()
	}
}

// Team runs consecutive parallel loops on workers that stay awake between
// them: a parked thread takes 0.2 to 3 ms to wake on a VM, and a
// computation of several short loops (an FFT's passes) would otherwise
// wake the other cores once per loop. Its workers yield between loops
// rather than sleep, for as long as the Team's function runs.
type Team struct {
	k    int
	cur  atomic.Pointer[loop]
	over atomic.Bool
}

// Do runs body with a Team of k workers (the calling goroutine and k−1
// others) and returns when body does; the workers end with it.
func Do(k int, body func(t *Team)) {
	t := &Team{k: max(k, 1)}
	defer t.over.Store(true)
	for w := 1; w < t.k; w++ {
		go t.worker(w)
	}
	body(t)
}

// worker joins each loop the team starts until the team is over. A worker
// that starts late joins the loop running then, or none.
func (t *Team) worker(w int) {
	var last *loop
	for !t.over.Load() {
		if l := t.cur.Load(); l != nil && l != last {
			last = l
			l.work(w)
			continue
		}
		runtime.Gosched()
	}
}

// Chunks is the package's Chunks on the team's workers: it runs fn over
// [0, n) in chunks and returns when every chunk is done. Loops of one
// team run one after another, from the goroutine that called Do.
func (t *Team) Chunks(n int, fn func(worker, lo, hi int)) {
	k := min(t.k, n)
	if k <= 1 {
		if n > 0 {
			fn(0, 0, n)
		}
		return
	}
	l := newLoop(n, t.k, fn)
	t.cur.Store(l)
	l.work(0)
	l.wait()
}
