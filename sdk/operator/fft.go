package operator

import (
	"runtime"
	"sync"

	"gonum.org/v1/gonum/dsp/fourier"
)

// fastSize returns the smallest n' ≥ n whose only prime factors are 2, 3 and 5,
// the sizes gonum's FFTPACK transforms quickly.
func fastSize(n int) int {
	for m := n; ; m++ {
		k := m
		for _, p := range []int{2, 3, 5} {
			for k%p == 0 {
				k /= p
			}
		}
		if k == 1 {
			return m
		}
	}
}

// fft2 computes unnormalised 2-D complex FFTs of an h×w grid, row-major,
// rows and then columns split across the available cores (each worker has
// its own transforms: gonum's are not safe for concurrent use). An fft2 is
// not safe for concurrent use; operators make one per call.
type fft2 struct {
	h, w    int
	workers []fftWorker
}

type fftWorker struct {
	row, col *fourier.CmplxFFT
	buf      []complex128
}

func newFFT2(h, w int) *fft2 {
	n := max(1, min(runtime.GOMAXPROCS(0), 8, h, w))
	f := &fft2{h: h, w: w, workers: make([]fftWorker, n)}
	for i := range f.workers {
		f.workers[i] = fftWorker{row: fourier.NewCmplxFFT(w), col: fourier.NewCmplxFFT(h), buf: make([]complex128, h)}
	}
	return f
}

// forward transforms g in place.
func (f *fft2) forward(g []complex128) { f.apply(g, false) }

// inverse transforms g in place, including the 1/(h·w) normalisation.
func (f *fft2) inverse(g []complex128) {
	f.apply(g, true)
	s := complex(1/float64(f.h*f.w), 0)
	for i := range g {
		g[i] *= s
	}
}

// parallel runs fn(worker, lo, hi) over [0, n) split across the workers.
func (f *fft2) parallel(n int, fn func(w *fftWorker, lo, hi int)) {
	k := len(f.workers)
	if k == 1 {
		fn(&f.workers[0], 0, n)
		return
	}
	var wg sync.WaitGroup
	for i := range k {
		lo, hi := i*n/k, (i+1)*n/k
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(&f.workers[i], lo, hi)
		}()
	}
	wg.Wait()
}

func (f *fft2) apply(g []complex128, inv bool) {
	f.parallel(f.h, func(wk *fftWorker, lo, hi int) {
		for y := lo; y < hi; y++ {
			r := g[y*f.w : (y+1)*f.w]
			if inv {
				wk.row.Sequence(r, r)
			} else {
				wk.row.Coefficients(r, r)
			}
		}
	})
	f.parallel(f.w, func(wk *fftWorker, lo, hi int) {
		for x := lo; x < hi; x++ {
			for y := 0; y < f.h; y++ {
				wk.buf[y] = g[y*f.w+x]
			}
			if inv {
				wk.col.Sequence(wk.buf, wk.buf)
			} else {
				wk.col.Coefficients(wk.buf, wk.buf)
			}
			for y := 0; y < f.h; y++ {
				g[y*f.w+x] = wk.buf[y]
			}
		}
	})
}
