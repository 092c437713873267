package par

import (
	"fmt"
	"sync/atomic"
	"testing"
)

var loopCases = []struct{ n, k int }{
	{0, 1}, {0, 4}, {1, 1}, {1, 4}, {7, 2}, {16, 2}, {17, 3}, {576, 2}, {1000, 8}, {5, 0},
}

// TestChunks checks that every index is visited exactly once, by workers
// numbered below k, in chunks within [0, n).
func TestChunks(t *testing.T) {
	for _, tc := range loopCases {
		t.Run(fmt.Sprintf("n=%d,k=%d", tc.n, tc.k), func(t *testing.T) {
			checkLoop(t, tc.n, tc.k, func(fn func(w, lo, hi int)) { Chunks(tc.n, tc.k, fn) })
		})
	}
}

// TestTeam runs every case three times over as consecutive loops of one
// team, for teams of several sizes, each loop checked as TestChunks checks
// Chunks; no worker number runs two chunks at once (they index per-worker
// scratch space).
func TestTeam(t *testing.T) {
	for _, k := range []int{0, 1, 2, 3, 8} {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			Do(k, func(team *Team) {
				for range 3 {
					for _, tc := range loopCases {
						var busy [8]atomic.Int32
						checkLoop(t, tc.n, k, func(fn func(w, lo, hi int)) {
							team.Chunks(tc.n, func(w, lo, hi int) {
								if w >= 0 && w < len(busy) {
									if busy[w].Add(1) != 1 {
										t.Errorf("worker %d runs two chunks at once", w)
									}
									defer busy[w].Add(-1)
								}
								fn(w, lo, hi)
							})
						})
					}
				}
			})
		})
	}
}

// checkLoop checks that run(fn) calls fn on every index of [0, n) exactly
// once, by workers numbered below k (below 1 when k < 1), in non-empty
// chunks within [0, n), all before run returns.
func checkLoop(t *testing.T, n, k int, run func(fn func(w, lo, hi int))) {
	t.Helper()
	seen := make([]atomic.Int32, n)
	var bad atomic.Bool
	run(func(w, lo, hi int) {
		if w < 0 || w >= max(k, 1) || lo < 0 || hi > n || lo >= hi {
			bad.Store(true)
			return
		}
		for i := lo; i < hi; i++ {
			seen[i].Add(1)
		}
	})
	if bad.Load() {
		t.Fatalf("n=%d, k=%d: a chunk or worker number out of range", n, k)
	}
	for i := range seen {
		if c := seen[i].Load(); c != 1 {
			t.Fatalf("n=%d, k=%d: index %d visited %d times", n, k, i, c)
		}
	}
}

func ExampleChunks() {
	data := make([]float64, 1000)
	Chunks(len(data), 2, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			data[i] = float64(i) * 2
		}
	})
	fmt.Println(data[999])
	// Output: 1998
}

func ExampleDo() {
	// Two loops, the second reading what the first wrote, on one team of
	// two workers: the other core is woken once, not once per loop.
	a := make([]float64, 1000)
	var sum atomic.Int64
	Do(2, func(t *Team) {
		t.Chunks(len(a), func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				a[i] = float64(i)
			}
		})
		t.Chunks(len(a), func(_, lo, hi int) {
			s := 0.0
			for _, v := range a[lo:hi] {
				s += v
			}
			sum.Add(int64(s))
		})
	})
	fmt.Println(sum.Load())
	// Output: 499500
}
