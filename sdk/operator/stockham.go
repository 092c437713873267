package operator

import (
	"math"
	"math/cmplx"
)

// plan1 is a 1-D complex FFT of length n, a mixed-radix (4, 2, 3, 5)
// Stockham autosort transform (Govindaraju et al., "High performance
// discrete Fourier transforms on graphics processors", 2008): each pass
// reads its R inputs n/R apart, applies the twiddles and a radix-R
// butterfly, and writes the outputs in order into the other buffer, so
// there is no bit reversal and every loop runs over consecutive elements.
// It is what the blur's FFTs spend their time in: gonum's FFTPACK, which
// it replaced for these lengths, takes three to four times as long
// (BenchmarkPlan1). A plan is read-only once made: one plan serves any number of
// goroutines, each with its own scratch buffer.
type plan1 struct {
	n      int
	stages []stage
}

// stage is one pass: radix r after sub-transforms of length ns, with its
// twiddles ω^(k·q) (k < ns, 1 ≤ q < r, ω = e^(∓2πi/(ns·r))) for each
// direction, laid out [k][q-1].
type stage struct {
	r, ns    int
	fwd, inv []complex128
}

// newPlan1 returns the plan for length n, whose prime factors must be 2, 3
// and 5 (fastSize's sizes); it panics otherwise.
func newPlan1(n int) *plan1 {
	var radices []int
	m := n
	for m%4 == 0 {
		radices = append(radices, 4)
		m /= 4
	}
	for _, r := range []int{2, 3, 5} {
		for m%r == 0 {
			radices = append(radices, r)
			m /= r
		}
	}
	if m != 1 {
		panic("operator: FFT length with a prime factor other than 2, 3 and 5")
	}
	p := &plan1{n: n}
	ns := 1
	for _, r := range radices {
		st := stage{r: r, ns: ns}
		if ns > 1 {
			st.fwd = make([]complex128, ns*(r-1))
			st.inv = make([]complex128, ns*(r-1))
			for k := range ns {
				for q := 1; q < r; q++ {
					a := 2 * math.Pi * float64(k*q) / float64(ns*r)
					st.fwd[k*(r-1)+q-1] = cmplx.Rect(1, -a)
					st.inv[k*(r-1)+q-1] = cmplx.Rect(1, a)
				}
			}
		}
		p.stages = append(p.stages, st)
		ns *= r
	}
	return p
}

// transform computes the unnormalised DFT of x in place (the inverse
// direction with inv), using scratch (length ≥ n).
func (p *plan1) transform(x, scratch []complex128, inv bool) {
	in, out := x[:p.n], scratch[:p.n]
	for _, st := range p.stages {
		tw := st.fwd
		if inv {
			tw = st.inv
		}
		switch st.r {
		case 4:
			radix4(in, out, st.ns, tw, inv)
		case 2:
			radix2(in, out, st.ns, tw)
		case 3:
			radix3(in, out, st.ns, tw, inv)
		case 5:
			radix5(in, out, st.ns, tw, inv)
		}
		in, out = out, in
	}
	if len(p.stages)%2 == 1 {
		copy(x[:p.n], in)
	}
}

// The radix passes: in holds n/(ns·r) groups of r interleaved
// sub-transforms of length ns; element j (= b·ns + k) of each input row
// q is in[j + q·n/r]; the outputs go to out[b·ns·r + k + q·ns].

func radix2(in, out []complex128, ns int, tw []complex128) {
	n := len(in)
	s := n / 2
	for j0 := 0; j0 < s; j0 += ns {
		b := j0 / ns
		o := out[b*ns*2:]
		for k := 0; k < ns; k++ {
			a0, a1 := in[j0+k], in[j0+k+s]
			if ns > 1 {
				a1 *= tw[k]
			}
			o[k], o[k+ns] = a0+a1, a0-a1
		}
	}
}

func radix4(in, out []complex128, ns int, tw []complex128, inv bool) {
	n := len(in)
	s := n / 4
	for j0 := 0; j0 < s; j0 += ns {
		b := j0 / ns
		o := out[b*ns*4 : b*ns*4+4*ns]
		i0, i1, i2, i3 := in[j0:j0+ns], in[j0+s:j0+s+ns], in[j0+2*s:j0+2*s+ns], in[j0+3*s:j0+3*s+ns]
		for k := 0; k < ns; k++ {
			a0, a1, a2, a3 := i0[k], i1[k], i2[k], i3[k]
			if ns > 1 {
				w := tw[3*k : 3*k+3]
				a1 *= w[0]
				a2 *= w[1]
				a3 *= w[2]
			}
			t0, t1 := a0+a2, a0-a2
			t2, d := a1+a3, a1-a3
			// t3 = ∓i·d
			t3 := complex(imag(d), -real(d))
			if inv {
				t3 = -t3
			}
			o[k], o[k+ns], o[k+2*ns], o[k+3*ns] = t0+t2, t1+t3, t0-t2, t1-t3
		}
	}
}

func radix3(in, out []complex128, ns int, tw []complex128, inv bool) {
	const c = -0.5
	s3 := math.Sqrt(3) / 2
	if inv {
		s3 = -s3
	}
	n := len(in)
	s := n / 3
	for j0 := 0; j0 < s; j0 += ns {
		b := j0 / ns
		o := out[b*ns*3 : b*ns*3+3*ns]
		for k := 0; k < ns; k++ {
			a0, a1, a2 := in[j0+k], in[j0+k+s], in[j0+k+2*s]
			if ns > 1 {
				a1 *= tw[2*k]
				a2 *= tw[2*k+1]
			}
			t1 := a1 + a2
			t2 := a0 + mulReal(c, t1)
			d := a1 - a2
			t3 := complex(s3*imag(d), -s3*real(d)) // ∓i·(√3/2)·d
			o[k], o[k+ns], o[k+2*ns] = a0+t1, t2+t3, t2-t3
		}
	}
}

func radix5(in, out []complex128, ns int, tw []complex128, inv bool) {
	c1, c2 := math.Cos(2*math.Pi/5), math.Cos(4*math.Pi/5)
	s1, s2 := math.Sin(2*math.Pi/5), math.Sin(4*math.Pi/5)
	if inv {
		s1, s2 = -s1, -s2
	}
	n := len(in)
	s := n / 5
	for j0 := 0; j0 < s; j0 += ns {
		b := j0 / ns
		o := out[b*ns*5 : b*ns*5+5*ns]
		for k := 0; k < ns; k++ {
			a0, a1, a2, a3, a4 := in[j0+k], in[j0+k+s], in[j0+k+2*s], in[j0+k+3*s], in[j0+k+4*s]
			if ns > 1 {
				w := tw[4*k : 4*k+4]
				a1 *= w[0]
				a2 *= w[1]
				a3 *= w[2]
				a4 *= w[3]
			}
			b1, b2, d1, d2 := a1+a4, a2+a3, a1-a4, a2-a3
			e1 := a0 + mulReal(c1, b1) + mulReal(c2, b2)
			e2 := a0 + mulReal(c2, b1) + mulReal(c1, b2)
			f1 := mulReal(s1, d1) + mulReal(s2, d2)
			f2 := mulReal(s2, d1) - mulReal(s1, d2)
			// −i·f = (imag f, −real f)
			g1 := complex(imag(f1), -real(f1))
			g2 := complex(imag(f2), -real(f2))
			o[k], o[k+ns], o[k+2*ns], o[k+3*ns], o[k+4*ns] = a0+b1+b2, e1+g1, e2+g2, e2-g2, e1-g1
		}
	}
}

// mulReal returns a·z for real a (two multiplications, not a complex product's four).
func mulReal(a float64, z complex128) complex128 { return complex(a*real(z), a*imag(z)) }
