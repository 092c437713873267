package par

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// TestChunks checks that every index is visited exactly once, by workers
// numbered below k, in chunks within [0, n).
func TestChunks(t *testing.T) {
	for _, tc := range []struct{ n, k int }{
		{0, 1}, {0, 4}, {1, 1}, {1, 4}, {7, 2}, {16, 2}, {17, 3}, {576, 2}, {1000, 8}, {5, 0},
	} {
		t.Run(fmt.Sprintf("n=%d,k=%d", tc.n, tc.k), func(t *testing.T) {
			seen := make([]atomic.Int32, tc.n)
			var bad atomic.Bool
			Chunks(tc.n, tc.k, func(w, lo, hi int) {
				if w < 0 || w >= max(tc.k, 1) || lo < 0 || hi > tc.n || lo >= hi {
					bad.Store(true)
					return
				}
				for i := lo; i < hi; i++ {
					seen[i].Add(1)
				}
			})
			if bad.Load() {
				t.Fatal("a chunk or worker number out of range")
			}
			for i := range seen {
				if c := seen[i].Load(); c != 1 {
					t.Fatalf("index %d visited %d times", i, c)
				}
			}
		})
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
