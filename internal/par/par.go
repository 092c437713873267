// Package par splits loops across the cores.
package par

import (
	"sync"
	"sync/atomic"
)

// Chunks runs fn over [0, n) split into chunks that k workers take in
// turn, the calling goroutine being worker 0 and k−1 goroutines the
// others; it returns when every chunk is done. fn gets the worker's number
// (below k, for per-worker scratch space) and its chunk [lo, hi).
//
// Chunks, about eight per worker, rather than one share per worker: a
// restoration's loops run right after a network evaluation, when the other
// cores wake up late (on a VM, milliseconds), and the workers already
// running take on the work of those not yet started.
func Chunks(n, k int, fn func(worker, lo, hi int)) {
	k = min(k, n)
	if k <= 1 {
		if n > 0 {
			fn(0, 0, n)
		}
		return
	}
	chunk := max(1, n/(8*k))
	var next atomic.Int64
	work := func(w int) {
		for {
			hi := int(next.Add(int64(chunk)))
			lo := hi - chunk
			if lo >= n {
				return
			}
			fn(w, lo, min(hi, n))
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < k; w++ {
		wg.Go(func() { work(w) })
	}
	work(0)
	wg.Wait()
}
