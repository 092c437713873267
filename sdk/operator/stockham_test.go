package operator

import (
	"fmt"
	"math/cmplx"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/dsp/fourier"
)

// TestPlan1MatchesGonum compares the Stockham FFT with gonum's FFTPACK on
// every length up to 1000 whose prime factors are 2, 3 and 5, both ways.
func TestPlan1MatchesGonum(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 1; n <= 1000; n++ {
		if fastSize(n) != n {
			continue
		}
		p := newPlan1(n)
		ref := fourier.NewCmplxFFT(n)
		x := make([]complex128, n)
		for i := range x {
			x[i] = complex(r.NormFloat64(), r.NormFloat64())
		}
		for _, inv := range []bool{false, true} {
			want := make([]complex128, n)
			if inv {
				ref.Sequence(want, x)
			} else {
				ref.Coefficients(want, x)
			}
			got := append([]complex128(nil), x...)
			p.transform(got, make([]complex128, n), inv)
			worst := 0.0
			for i := range got {
				worst = max(worst, cmplx.Abs(got[i]-want[i]))
			}
			if worst > 1e-9*float64(n) {
				t.Fatalf("n=%d inverse=%v: largest difference from gonum %g", n, inv, worst)
			}
		}
	}
}

// BenchmarkPlan1 times 1-D transforms of the Stockham plan and of gonum's
// FFTPACK side by side, and a 576×576 2-D transform (a 512² image's blur
// grid):
//
//	go test ./sdk/operator -run '^$' -bench 'Plan1|FFT2'
func BenchmarkPlan1(b *testing.B) {
	for _, n := range []int{512, 540, 576, 600, 640} {
		g := make([]complex128, n)
		s := make([]complex128, n)
		for i := range g {
			g[i] = complex(float64(i%7), float64(i%5))
		}
		for _, impl := range []struct {
			name string
			l    line
		}{{"stockham", newPlan1(n)}, {"gonum", gonumLine{fourier.NewCmplxFFT(n)}}} {
			b.Run(fmt.Sprintf("%s/%d", impl.name, n), func(b *testing.B) {
				for b.Loop() {
					impl.l.transform(g, s, false)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/point")
			})
		}
	}
}

func BenchmarkFFT2(b *testing.B) {
	f := newFFT2(576, 576)
	g := make([]complex128, 576*576)
	for b.Loop() {
		f.forward(g)
	}
}

// TestFFT2MatchesGonum checks the 2-D transform, with its strips of
// columns, against gonum's 1-D transforms along rows and then columns, on
// a grid whose width is not a multiple of the strip and on one whose
// sides gonum alone transforms.
func TestFFT2MatchesGonum(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, sz := range [][2]int{{45, 50}, {36, 17}, {23, 31}} {
		h, w := sz[0], sz[1]
		g := make([]complex128, h*w)
		for i := range g {
			g[i] = complex(r.NormFloat64(), r.NormFloat64())
		}
		want := append([]complex128(nil), g...)
		rows, cols := fourier.NewCmplxFFT(w), fourier.NewCmplxFFT(h)
		for y := range h {
			rows.Coefficients(want[y*w:(y+1)*w], want[y*w:(y+1)*w])
		}
		col := make([]complex128, h)
		for x := range w {
			for y := range h {
				col[y] = want[y*w+x]
			}
			cols.Coefficients(col, col)
			for y := range h {
				want[y*w+x] = col[y]
			}
		}
		f := newFFT2(h, w)
		got := append([]complex128(nil), g...)
		f.forward(got)
		for i := range got {
			if cmplx.Abs(got[i]-want[i]) > 1e-9 {
				t.Fatalf("%dx%d: element %d is %v, gonum %v", h, w, i, got[i], want[i])
			}
		}
		f.inverse(got)
		for i := range got {
			if cmplx.Abs(got[i]-g[i]) > 1e-12 {
				t.Fatalf("%dx%d: inverse(forward(g)) differs from g at %d: %v vs %v", h, w, i, got[i], g[i])
			}
		}
	}
}
