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

// radix4First is radix4's first pass (ns = 1: no twiddles, one output
// group per input index), without the per-group slicing that the general
// loop pays once for every element here.
func radix4First(in, out []complex128, inv bool) {
	s := len(in) / 4
	i0, i1, i2, i3 := in[:s], in[s:2*s], in[2*s:3*s], in[3*s:4*s]
	out = out[:4*s]
	for j := range i0 {
		a0, a1, a2, a3 := i0[j], i1[j], i2[j], i3[j]
		t0, t1 := a0+a2, a0-a2
		t2, d := a1+a3, a1-a3
		t3 := complex(imag(d), -real(d))
		if inv {
			t3 = -t3
		}
		o := out[4*j : 4*j+4 : 4*j+4]
		o[0], o[1], o[2], o[3] = t0+t2, t1+t3, t0-t2, t1-t3
	}
}

func radix2(in, out []complex128, ns int, tw []complex128) {
	n := len(in)
	s := n / 2
	for j0, b := 0, 0; j0 < s; j0, b = j0+ns, b+1 {
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
	if ns == 1 {
		radix4First(in, out, inv)
		return
	}
	for j0, b := 0, 0; j0 < s; j0, b = j0+ns, b+1 {
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
	for j0, b := 0, 0; j0 < s; j0, b = j0+ns, b+1 {
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
	for j0, b := 0, 0; j0 < s; j0, b = j0+ns, b+1 {
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

// transformStrips computes the DFT along the first axis of x, n rows of
// width columns each (row-major, row j is x[j·width:(j+1)·width]): the same
// passes as transform, each butterfly applied to whole rows, so that every
// inner loop runs over width consecutive elements with its twiddle held
// fixed. scratch must hold n·width elements. The 2-D transform uses it on
// strips of a grid's columns.
func (p *plan1) transformStrips(x, scratch []complex128, width int, inv bool) {
	in, out := x[:p.n*width], scratch[:p.n*width]
	for _, st := range p.stages {
		tw := st.fwd
		if inv {
			tw = st.inv
		}
		switch st.r {
		case 4:
			radix4v(in, out, st.ns, width, tw, inv)
		case 2:
			radix2v(in, out, st.ns, width, tw)
		case 3:
			radix3v(in, out, st.ns, width, tw, inv)
		case 5:
			radix5v(in, out, st.ns, width, tw, inv)
		}
		in, out = out, in
	}
	if len(p.stages)%2 == 1 {
		copy(x[:p.n*width], in)
	}
}

// The row-wise passes: as radix2 … radix5, with element j the row
// in[j·wd:(j+1)·wd].

func radix2v(in, out []complex128, ns, wd int, tw []complex128) {
	s := len(in) / wd / 2
	for j0, b := 0, 0; j0 < s; j0, b = j0+ns, b+1 {
		for k := 0; k < ns; k++ {
			i0 := in[(j0+k)*wd : (j0+k+1)*wd]
			i1 := in[(j0+k+s)*wd : (j0+k+s+1)*wd]
			o0 := out[(b*ns*2+k)*wd : (b*ns*2+k+1)*wd]
			o1 := out[(b*ns*2+k+ns)*wd : (b*ns*2+k+ns+1)*wd]
			w := complex(1, 0)
			if ns > 1 {
				w = tw[k]
			}
			for l := range o0 {
				a0, a1 := i0[l], i1[l]*w
				o0[l], o1[l] = a0+a1, a0-a1
			}
		}
	}
}

func radix4v(in, out []complex128, ns, wd int, tw []complex128, inv bool) {
	s := len(in) / wd / 4
	for j0, b := 0, 0; j0 < s; j0, b = j0+ns, b+1 {
		for k := 0; k < ns; k++ {
			i0 := in[(j0+k)*wd : (j0+k+1)*wd]
			i1 := in[(j0+k+s)*wd : (j0+k+s+1)*wd]
			i2 := in[(j0+k+2*s)*wd : (j0+k+2*s+1)*wd]
			i3 := in[(j0+k+3*s)*wd : (j0+k+3*s+1)*wd]
			base := b*ns*4 + k
			o0 := out[base*wd : (base+1)*wd]
			o1 := out[(base+ns)*wd : (base+ns+1)*wd]
			o2 := out[(base+2*ns)*wd : (base+2*ns+1)*wd]
			o3 := out[(base+3*ns)*wd : (base+3*ns+1)*wd]
			w1, w2, w3 := complex(1, 0), complex(1, 0), complex(1, 0)
			if ns > 1 {
				w1, w2, w3 = tw[3*k], tw[3*k+1], tw[3*k+2]
			}
			sign := 1.0 // t3 = ∓i·d: (imag d, −real d) forward
			if inv {
				sign = -1
			}
			i1, i2, i3 = i1[:len(o0)], i2[:len(o0)], i3[:len(o0)]
			o1, o2, o3 = o1[:len(o0)], o2[:len(o0)], o3[:len(o0)]
			if ns == 1 { // the first pass: no twiddles
				for l := range o0 {
					a0, a1, a2, a3 := i0[l], i1[l], i2[l], i3[l]
					t0, t1 := a0+a2, a0-a2
					t2, d := a1+a3, a1-a3
					t3 := complex(sign*imag(d), -sign*real(d))
					o0[l], o1[l], o2[l], o3[l] = t0+t2, t1+t3, t0-t2, t1-t3
				}
				continue
			}
			for l := range o0 {
				a0, a1, a2, a3 := i0[l], i1[l]*w1, i2[l]*w2, i3[l]*w3
				t0, t1 := a0+a2, a0-a2
				t2, d := a1+a3, a1-a3
				t3 := complex(sign*imag(d), -sign*real(d))
				o0[l], o1[l], o2[l], o3[l] = t0+t2, t1+t3, t0-t2, t1-t3
			}
		}
	}
}

func radix3v(in, out []complex128, ns, wd int, tw []complex128, inv bool) {
	s3 := math.Sqrt(3) / 2
	if inv {
		s3 = -s3
	}
	s := len(in) / wd / 3
	for j0, b := 0, 0; j0 < s; j0, b = j0+ns, b+1 {
		for k := 0; k < ns; k++ {
			i0 := in[(j0+k)*wd : (j0+k+1)*wd]
			i1 := in[(j0+k+s)*wd : (j0+k+s+1)*wd]
			i2 := in[(j0+k+2*s)*wd : (j0+k+2*s+1)*wd]
			base := b*ns*3 + k
			o0 := out[base*wd : (base+1)*wd]
			o1 := out[(base+ns)*wd : (base+ns+1)*wd]
			o2 := out[(base+2*ns)*wd : (base+2*ns+1)*wd]
			w1, w2 := complex(1, 0), complex(1, 0)
			if ns > 1 {
				w1, w2 = tw[2*k], tw[2*k+1]
			}
			i1, i2, o1, o2 = i1[:len(o0)], i2[:len(o0)], o1[:len(o0)], o2[:len(o0)]
			for l := range o0 {
				a0, a1, a2 := i0[l], i1[l]*w1, i2[l]*w2
				t1 := a1 + a2
				t2 := a0 + mulReal(-0.5, t1)
				d := a1 - a2
				t3 := complex(s3*imag(d), -s3*real(d))
				o0[l], o1[l], o2[l] = a0+t1, t2+t3, t2-t3
			}
		}
	}
}

func radix5v(in, out []complex128, ns, wd int, tw []complex128, inv bool) {
	c1, c2 := math.Cos(2*math.Pi/5), math.Cos(4*math.Pi/5)
	s1, s2 := math.Sin(2*math.Pi/5), math.Sin(4*math.Pi/5)
	if inv {
		s1, s2 = -s1, -s2
	}
	s := len(in) / wd / 5
	for j0, b := 0, 0; j0 < s; j0, b = j0+ns, b+1 {
		for k := 0; k < ns; k++ {
			var iv, ov [5][]complex128
			base := b*ns*5 + k
			for q := range 5 {
				iv[q] = in[(j0+k+q*s)*wd : (j0+k+q*s+1)*wd]
				ov[q] = out[(base+q*ns)*wd : (base+q*ns+1)*wd]
			}
			w := [4]complex128{1, 1, 1, 1}
			if ns > 1 {
				copy(w[:], tw[4*k:4*k+4])
			}
			for l := 0; l < wd; l++ {
				a0, a1, a2, a3, a4 := iv[0][l], iv[1][l]*w[0], iv[2][l]*w[1], iv[3][l]*w[2], iv[4][l]*w[3]
				b1, b2, d1, d2 := a1+a4, a2+a3, a1-a4, a2-a3
				e1 := a0 + mulReal(c1, b1) + mulReal(c2, b2)
				e2 := a0 + mulReal(c2, b1) + mulReal(c1, b2)
				f1 := mulReal(s1, d1) + mulReal(s2, d2)
				f2 := mulReal(s2, d1) - mulReal(s1, d2)
				g1 := complex(imag(f1), -real(f1))
				g2 := complex(imag(f2), -real(f2))
				ov[0][l], ov[1][l], ov[2][l], ov[3][l], ov[4][l] = a0+b1+b2, e1+g1, e2+g2, e2-g2, e1-g1
			}
		}
	}
}
