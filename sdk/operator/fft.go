package operator

import (
	"math"
	"runtime"

	"github.com/restorekit/restore/internal/par"
	"gonum.org/v1/gonum/dsp/fourier"
)

// fastSize returns the n' ≥ n whose FFT is cheapest: n' has no prime
// factor but 2, 3 and 5, and among such lengths up to n + n/4 the one
// with the least estimated work (radix-4 passes are the cheapest per point,
// radix-5 the dearest: 576 = 4³·3² transforms faster than 540 = 4·3³·5).
func fastSize(n int) int {
	best, bestCost := 0, math.Inf(1)
	for m := n; m <= n+n/4 || best == 0; m++ {
		if c, ok := fftCost(m); ok && c < bestCost {
			best, bestCost = m, c
		}
	}
	return best
}

// fftCost estimates the time of a length-n transform (in units of a
// radix-4 pass over one point), or false when n has another prime factor.
func fftCost(n int) (float64, bool) {
	per := 0.0
	m := n
	for m%4 == 0 {
		per += 1
		m /= 4
	}
	for _, rc := range []struct {
		r    int
		cost float64
	}{{2, 0.8}, {3, 1.3}, {5, 2}} {
		for m%rc.r == 0 {
			per += rc.cost
			m /= rc.r
		}
	}
	return float64(n) * per, m == 1
}

// fft2 computes unnormalised 2-D complex FFTs of an h×w grid, row-major:
// rows, then columns a strip of colStrip at a time (copied out row by row
// into a buffer that fits the cache, transformed with each butterfly on
// whole strip rows, copied back), split across the available cores. An fft2 is not safe for concurrent use; operators make
// one per call.
type fft2 struct {
	h, w    int
	workers []fftWorker
	team    *par.Team // while set (see together), the passes run on its workers
}

// colStrip is how many columns a worker transforms at a time.
const colStrip = 16

type fftWorker struct {
	row, col     line
	scratch      []complex128 // max(h, w)
	strip        []complex128 // colStrip columns of h rows, row-major
	stripScratch []complex128 // as large
	pair         []complex128 // 2·w: two rows of a real image (Blur.proxReal)
}

// line is a 1-D transform of one length.
type line interface {
	transform(x, scratch []complex128, inv bool)
}

// newLines returns a maker of transforms of length n for each worker: the
// Stockham plan, shared, when n's prime factors are 2, 3 and 5 (the blur's
// padded grids always are), otherwise gonum's FFTPACK, one per worker (it
// is not safe for concurrent use; circular blur on an image of any size
// needs it).
func newLines(n int) func() line {
	if _, ok := fftCost(n); ok {
		p := newPlan1(n)
		return func() line { return p }
	}
	return func() line { return gonumLine{fourier.NewCmplxFFT(n)} }
}

// gonumLine is gonum's FFT of any length.
type gonumLine struct{ f *fourier.CmplxFFT }

func (g gonumLine) transform(x, _ []complex128, inv bool) {
	if inv {
		g.f.Sequence(x, x)
	} else {
		g.f.Coefficients(x, x)
	}
}

func newFFT2(h, w int) *fft2 {
	n := max(1, min(runtime.GOMAXPROCS(0), 8, h, w))
	f := &fft2{h: h, w: w, workers: make([]fftWorker, n)}
	rows, cols := newLines(w), newLines(h)
	for i := range f.workers {
		f.workers[i] = fftWorker{row: rows(), col: cols(),
			scratch: make([]complex128, max(h, w)), strip: make([]complex128, colStrip*h),
			stripScratch: make([]complex128, colStrip*h), pair: make([]complex128, 2*w)}
	}
	return f
}

// forward transforms g in place.
func (f *fft2) forward(g []complex128) { f.apply(g, false) }

// inverse transforms g in place, including the 1/(h·w) normalisation.
func (f *fft2) inverse(g []complex128) {
	f.apply(g, true)
	s := 1 / float64(f.h*f.w)
	f.parallel(f.h, func(_ *fftWorker, lo, hi int) {
		for i := lo * f.w; i < hi*f.w; i++ {
			g[i] = complex(real(g[i])*s, imag(g[i])*s)
		}
	})
}

// parallel runs fn(worker, lo, hi) over [0, n) in chunks the workers
// take in turn (par.Chunks).
func (f *fft2) parallel(n int, fn func(w *fftWorker, lo, hi int)) {
	if f.team != nil {
		f.team.Chunks(n, func(w, lo, hi int) { fn(&f.workers[w], lo, hi) })
		return
	}
	par.Chunks(n, len(f.workers), func(w, lo, hi int) { fn(&f.workers[w], lo, hi) })
}

// together runs body, whose passes (f.parallel) then share one par.Team:
// the other cores are woken once for all of them, not once per pass.
func (f *fft2) together(body func()) {
	par.Do(len(f.workers), func(t *par.Team) {
		f.team = t
		defer func() { f.team = nil }()
		body()
	})
}

func (f *fft2) apply(g []complex128, inv bool) {
	f.rows(g, inv)
	f.eachStrip(g, f.w, func(wk *fftWorker, strip []complex128, _, nc int) {
		wk.columnsOf(strip, f.h, nc, inv)
	})
}

// rows transforms every row of g in place.
func (f *fft2) rows(g []complex128, inv bool) {
	w := f.w
	f.parallel(f.h, func(wk *fftWorker, lo, hi int) {
		for y := lo; y < hi; y++ {
			wk.row.transform(g[y*w:(y+1)*w], wk.scratch, inv)
		}
	})
}

// filterColumns transforms the columns of g (rows already transformed)
// forward, calls gain on each strip of the spectrum, and transforms the
// columns back: one pass over the grid, each strip in the cache throughout.
// gain gets colStrip (or fewer, nc) columns starting at x0, h rows of nc,
// row-major: grid index y·w + x0 + c is strip[y·nc + c].
func (f *fft2) filterColumns(g []complex128, gain func(strip []complex128, x0, nc int)) {
	f.filterColumnsOf(g, f.w, gain)
}

// filterColumnsOf is filterColumns on the first w ≤ f.w columns of a grid
// whose rows are w long (a real image's half spectrum).
func (f *fft2) filterColumnsOf(g []complex128, w int, gain func(strip []complex128, x0, nc int)) {
	f.eachStrip(g, w, func(wk *fftWorker, strip []complex128, x0, nc int) {
		wk.columnsOf(strip, f.h, nc, false)
		gain(strip, x0, nc)
		wk.columnsOf(strip, f.h, nc, true)
	})
}

// eachStrip copies g (h rows of w) out colStrip columns at a time into a
// worker's strip buffer (h rows of nc, row-major), calls fn on it and
// copies it back, the strips split across the workers.
func (f *fft2) eachStrip(g []complex128, w int, fn func(wk *fftWorker, strip []complex128, x0, nc int)) {
	h := f.h
	f.forStrips(w, func(wk *fftWorker, x0, nc int) {
		strip := wk.strip[:h*nc]
		for y := 0; y < h; y++ {
			copy(strip[y*nc:(y+1)*nc], g[y*w+x0:y*w+x0+nc])
		}
		fn(wk, strip, x0, nc)
		for y := 0; y < h; y++ {
			copy(g[y*w+x0:y*w+x0+nc], strip[y*nc:(y+1)*nc])
		}
	})
}

// forStrips calls fn for each strip of colStrip columns (nc of them: the
// last may be narrower) of a grid w wide, the strips split across the
// workers.
func (f *fft2) forStrips(w int, fn func(wk *fftWorker, x0, nc int)) {
	strips := (w + colStrip - 1) / colStrip
	f.parallel(strips, func(wk *fftWorker, lo, hi int) {
		for s := lo; s < hi; s++ {
			x0 := s * colStrip
			fn(wk, x0, min(colStrip, w-x0))
		}
	})
}

// columnsOf transforms the nc columns of strip (the worker's strip buffer,
// h rows of nc).
func (wk *fftWorker) columnsOf(strip []complex128, h, nc int, inv bool) {
	if p, ok := wk.col.(*plan1); ok {
		p.transformStrips(strip, wk.stripScratch, nc, inv)
		return
	}
	wk.columns(h, nc, inv)
}

// columns transforms the nc columns of a strip (h rows of nc) one at a
// time: for lengths only gonum transforms.
func (wk *fftWorker) columns(h, nc int, inv bool) {
	col := wk.stripScratch[:h]
	for c := 0; c < nc; c++ {
		for y := 0; y < h; y++ {
			col[y] = wk.strip[y*nc+c]
		}
		wk.col.transform(col, wk.scratch, inv)
		for y := 0; y < h; y++ {
			wk.strip[y*nc+c] = col[y]
		}
	}
}
