package operator

import (
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

// fft2 computes unnormalised 2-D complex FFTs of an h×w grid, row-major.
// It is not safe for concurrent use; operators make one per call.
type fft2 struct {
	h, w     int
	row, col *fourier.CmplxFFT
	buf      []complex128
}

func newFFT2(h, w int) *fft2 {
	return &fft2{h: h, w: w, row: fourier.NewCmplxFFT(w), col: fourier.NewCmplxFFT(h), buf: make([]complex128, h)}
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

func (f *fft2) apply(g []complex128, inv bool) {
	for y := 0; y < f.h; y++ {
		r := g[y*f.w : (y+1)*f.w]
		if inv {
			f.row.Sequence(r, r)
		} else {
			f.row.Coefficients(r, r)
		}
	}
	for x := 0; x < f.w; x++ {
		for y := 0; y < f.h; y++ {
			f.buf[y] = g[y*f.w+x]
		}
		if inv {
			f.col.Sequence(f.buf, f.buf)
		} else {
			f.col.Coefficients(f.buf, f.buf)
		}
		for y := 0; y < f.h; y++ {
			g[y*f.w+x] = f.buf[y]
		}
	}
}
