package operator

import (
	"fmt"
	"math"
	"math/cmplx"
	"runtime"
	"slices"
	"sync"
	"weak"

	"github.com/restorekit/restore/internal/par"
	"github.com/restorekit/restore/sdk"
)

// Blur is A = true 2-D convolution with a point spread function k (the kernel
// flipped, as scipy.ndimage.convolve and MATLAB conv2 do; the kernel centre is
// at (kh/2, kw/2) rounded down).
//
// The default boundary is reflective ("d c b a | a b c d", scipy's 'reflect'),
// because photographs are not periodic: A and Aᵀ are exact for it. They are
// computed by FFT on a grid that holds the image plus a reflected border at
// least a kernel wide, so the wrap-around of the FFT never reaches the image.
// Prox solves the same problem with the border treated as part of the image
// (circular convolution on the padded grid): exact in closed form there, and
// free of ringing at the image edges because the border continues the image.
// Between the two reflections, through the wrap-around, the grid cross-fades
// from one to the other over at least two kernel widths: a shorter fade is a
// step sharper than any blurred image, and its deconvolution rings at the
// frequencies the kernel removes (a defocus disk's zero rings) right across
// the photo. With two kernel widths of border and 5 pixels of fade, a
// radius-6 disk striped bright skies with 10-pixel bands (first 20 CBSD68
// images: 25.81 dB; with the longer fade 26.86, up to +4.35 on one image).
type Blur struct {
	h, w      int         // image size
	gh, gw    int         // FFT grid size
	top, left int         // where the image sits in the grid
	kf        []complex64 // FFT of the kernel placed for circular convolution on the grid
	k2        []float32   // |kf|²
	spec      *spectrum   // holds kf and k2, shared with other operators of the same kernel and grid
	rows      []tap       // seamless border taps, see smoothTaps
	cols      []tap
	circular  bool
	cache     *proxCache // shared by copies of the operator and by operators of the same spectrum
	// Epsilon regularises PseudoInverse: conj(K)/(|K|² + Epsilon).
	Epsilon float64
}

// minSigmaY stands in for σ_y = 0 in Prox: deconvolution has no exact constraint.
const minSigmaY = 1e-3

// NewBlur returns the reflective-boundary blur for h×w images. The kernel is
// 1×kh×kw with finite, non-negative values and a positive sum; it is
// normalised to sum to 1.
func NewBlur(kernel *sdk.Tensor, h, w int) (*Blur, error) {
	return newBlur(kernel, h, w, false)
}

// NewCircularBlur returns blur with periodic boundaries: the image wraps
// around. Its Prox is exact; it is the textbook model (DPIR, DiffPIR) and the
// one to use on synthetic data blurred circularly.
func NewCircularBlur(kernel *sdk.Tensor, h, w int) (*Blur, error) {
	return newBlur(kernel, h, w, true)
}

func newBlur(kernel *sdk.Tensor, h, w int, circular bool) (*Blur, error) {
	if err := kernel.Validate(); err != nil {
		return nil, fmt.Errorf("%w: kernel: %w", ErrSpec, err)
	}
	if kernel.C != 1 {
		return nil, fmt.Errorf("%w: kernel has %d channels, want 1", ErrSpec, kernel.C)
	}
	sum := 0.0
	for _, v := range kernel.Data {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			return nil, fmt.Errorf("%w: kernel values must be finite and non-negative", ErrSpec)
		}
		sum += f
	}
	if !(sum > 0) {
		return nil, fmt.Errorf("%w: kernel sums to 0", ErrSpec)
	}
	kh, kw := kernel.H, kernel.W
	b := &Blur{h: h, w: w, circular: circular, Epsilon: 1e-3}
	if circular {
		if kh > h || kw > w {
			return nil, fmt.Errorf("%w: %dx%d kernel is larger than the %dx%d image", ErrSpec, kw, kh, w, h)
		}
		b.gh, b.gw = h, w
	} else {
		// a border a kernel wide on each side and a fade of two (see Blur)
		b.top, b.left = kh, kw
		b.gh, b.gw = fastSize(h+4*kh), fastSize(w+4*kw)
	}
	b.rows = smoothTaps(b.gh, h, b.top, kh)
	b.cols = smoothTaps(b.gw, w, b.left, kw)
	b.spec = spectrumFor(kernel, sum, b.gh, b.gw)
	b.kf, b.k2, b.cache = b.spec.kf, b.spec.k2, b.spec.cache
	return b, nil
}

// spectrum is a kernel's FFT on a grid, with |K|², computed in complex128
// and kept in complex64 and float32: on a 24-megapixel photo that is 290 MB,
// not 580.
type spectrum struct {
	kernel []float32
	kh, kw int
	gh, gw int
	kf     []complex64
	k2     []float32
	cache  *proxCache // the prox's data term, for the operators that use this spectrum
	// grids holds Prox's grids and FFT plans between calls (a 512² image's
	// grid is 5 MB) for the operators that use this spectrum: the host's
	// warm start and an in-process guidance's steps reuse one grid.
	grids sync.Pool

	stripsMu sync.Mutex
	k2Strips map[int][]float32 // k2 in strip order (see stripBase), by grid row length
}

// lastSpectrum is the most recent spectrum while an operator still holds
// it: the host and an in-process guidance each build an operator for the
// same problem, and on a large photo a second copy is hundreds of megabytes.
var lastSpectrum struct {
	mu sync.Mutex
	p  weak.Pointer[spectrum]
}

// spectrumFor returns the spectrum of kernel (normalised by sum) on a gh×gw
// grid, reusing the last one computed when it matches and is still in use.
func spectrumFor(kernel *sdk.Tensor, sum float64, gh, gw int) *spectrum {
	lastSpectrum.mu.Lock()
	defer lastSpectrum.mu.Unlock()
	if s := lastSpectrum.p.Value(); s != nil && s.gh == gh && s.gw == gw && s.kh == kernel.H && s.kw == kernel.W &&
		slices.Equal(s.kernel, kernel.Data) {
		return s
	}
	kh, kw := kernel.H, kernel.W
	s := &spectrum{kernel: slices.Clone(kernel.Data), kh: kh, kw: kw, gh: gh, gw: gw,
		kf: make([]complex64, gh*gw), k2: make([]float32, gh*gw), cache: &proxCache{}}
	// y[i] = Σ_m x[i + c − m] k[m]  ⇔  circular convolution with k placed at (m − c) mod N.
	// Only the kernel's rows of the grid are non-zero, and so are only
	// their transforms: the rows pass transforms those (a 15-tap kernel on
	// a 576² grid: 15 rows, not 576), the columns pass every column, a
	// strip at a time, from a strip holding just those rows.
	ch, cw := kh/2, kw/2
	type krow struct {
		y int
		v []complex128
	}
	rows := make([]krow, kh) // by grid row; kh ≤ gh, so every kernel row has its own
	f := newFFT2(gh, gw)
	f.parallel(kh, func(wk *fftWorker, lo, hi int) {
		for m := lo; m < hi; m++ {
			r := krow{y: ((m-ch)%gh + gh) % gh, v: make([]complex128, gw)}
			for n := 0; n < kw; n++ {
				r.v[((n-cw)%gw+gw)%gw] += complex(float64(kernel.Data[m*kw+n])/sum, 0)
			}
			wk.row.transform(r.v, wk.scratch, false)
			rows[m] = r
		}
	})
	f.forStrips(gw, func(wk *fftWorker, x0, nc int) {
		strip := wk.strip[:gh*nc]
		clear(strip)
		for _, r := range rows {
			copy(strip[r.y*nc:(r.y+1)*nc], r.v[x0:x0+nc])
		}
		wk.columnsOf(strip, gh, nc, false)
		for y := 0; y < gh; y++ {
			for c, v := range strip[y*nc : (y+1)*nc] {
				i := y*gw + x0 + c
				s.kf[i] = complex64(v)
				s.k2[i] = float32(real(v)*real(v) + imag(v)*imag(v))
			}
		}
	})
	lastSpectrum.p = weak.Make(s)
	return s
}

// Attenuates reports whether the kernel only attenuates: its centred
// spectrum is real and non-negative (within 1% of its sum) at every
// frequency of the grid, as a Gaussian's is. Such a kernel loses the fine
// detail gradually and keeps the sign of every frequency; motion and
// defocus kernels have notches and sign changes (motion's spectrum is
// complex). Restoration presets weigh the measurement differently for the
// kinds (host: deblurring's λ; see also PassShare and Compactness).
func (b *Blur) Attenuates() bool {
	for _, k := range b.kf {
		if real(k) < -0.01 || imag(k) > 0.01 || imag(k) < -0.01 {
			return false
		}
	}
	return true
}

// PassShare is the share of the grid's frequencies at which the kernel
// keeps at least level (0 to 1) of their amplitude, |K(f)| ≥ level: how
// much of the detail survives the blur. At level 0.1, Gaussians of std
// 1.5 / 2 / 3 pass 0.16 / 0.09 / 0.04 of the grid, disks of radius 2 to 8
// 0.23 to 0.03, Levin et al.'s eight camera-shake kernels 0.44–0.68, and
// straight lines 0.70 (5 pixels long) to 0.28 (21): it measures the blur's
// strength, not its shape (see Compactness).
func (b *Blur) PassShare(level float64) float64 {
	if len(b.kf) == 0 {
		return 1
	}
	n, l2 := 0, float32(level*level)
	for _, k := range b.kf {
		if real(k)*real(k)+imag(k)*imag(k) >= l2 {
			n++
		}
	}
	return float64(n) / float64(len(b.kf))
}

// Compactness is the kernel's effective area, 1/Σk², over its spread,
// Σk·|x − x̄|² (the trace of its covariance, in pixels²), for the kernel
// normalised to sum 1: a measure of its shape, not its size. Kernels that
// spread over an area come near 2π (antialiased disks of radius 1 to 8:
// 6.5–7.0, a hard-edged one of radius 4 6.25; square boxes 6.1–6.8; round
// Gaussians 6.3); kernels that spread along a path, as camera motion does,
// stay well under it (straight lines 0.4–2.8, Levin et al.'s eight
// camera-shake kernels 0.4–4.3). A single tap, with no spread,
// gives +Inf.
func (b *Blur) Compactness() float64 {
	m := b.moments()
	spread := m.vyy + m.vxx
	if spread == 0 {
		return math.Inf(1)
	}
	return 1 / m.k2 / spread
}

// Widths are the kernel's extents along its principal axes, the longer
// first: the lengths of the uniform segments with the same variances,
// √(12·λ) for each eigenvalue λ of its covariance (pixels). A straight
// line of length L gives about (L, 1) — under 1.1 across at any angle —,
// an antialiased disk of radius r about (1.7r, 1.7r), Levin et al.'s eight
// camera-shake kernels 7.4–31.8 by 3.5–6.9.
func (b *Blur) Widths() (major, minor float64) {
	m := b.moments()
	mean, diff := (m.vyy+m.vxx)/2, (m.vyy-m.vxx)/2
	r := math.Hypot(diff, m.vxy)
	return math.Sqrt(12 * (mean + r)), math.Sqrt(12 * math.Max(mean-r, 0))
}

// AxisWidths are the kernel's extents along the pixel grid's axes,
// √(12·variance) of its columns (x) and of its rows (y), in pixels. For a
// straight line of length L at angle θ they are L·|cos θ| and L·|sin θ|:
// the smaller counts the rows or columns the line steps across.
func (b *Blur) AxisWidths() (x, y float64) {
	m := b.moments()
	return math.Sqrt(12 * m.vxx), math.Sqrt(12 * m.vyy)
}

// kernelMoments are a kernel's second moments, normalised to sum 1: its
// covariance (pixels²) and Σk².
type kernelMoments struct{ vyy, vxx, vxy, k2 float64 }

func (b *Blur) moments() kernelMoments {
	k, kw := b.spec.kernel, b.spec.kw
	var sum, my, mx float64
	for i, v := range k {
		w := float64(v)
		sum += w
		my += w * float64(i/kw)
		mx += w * float64(i%kw)
	}
	my, mx = my/sum, mx/sum
	var m kernelMoments
	for i, v := range k {
		w := float64(v) / sum
		dy, dx := float64(i/kw)-my, float64(i%kw)-mx
		m.k2 += w * w
		m.vyy += w * dy * dy
		m.vxx += w * dx * dx
		m.vxy += w * dy * dx
	}
	return m
}

// Reflect maps any integer index onto [0, n) by half-sample symmetric
// reflection ("d c b a | a b c d | d c b a"), scipy's 'reflect' mode.
func Reflect(i, n int) int {
	p := 2 * n
	r := ((i % p) + p) % p
	if r >= n {
		r = p - 1 - r
	}
	return r
}

// extend fills grid with channel ch of t (reflective border) as real parts
// (imag = false) or imaginary parts (imag = true).
func (b *Blur) extend(grid []complex128, t *sdk.Tensor, ch int, imag bool) {
	plane := t.Data[ch*b.h*b.w : (ch+1)*b.h*b.w]
	for gy := 0; gy < b.gh; gy++ {
		sy := Reflect(gy-b.top, b.h)
		for gx := 0; gx < b.gw; gx++ {
			v := float64(plane[sy*b.w+Reflect(gx-b.left, b.w)])
			set(grid, gy*b.gw+gx, v, imag)
		}
	}
}

func set(grid []complex128, i int, v float64, imag bool) {
	if imag {
		grid[i] = complex(real(grid[i]), v)
	} else {
		grid[i] = complex(v, 0)
	}
}

// tap is one grid index's source along an axis: (1−t)·src[i0] + t·src[i1].
type tap struct {
	i0, i1 int
	t      float64
}

// smoothTaps maps the g grid positions of an axis onto an image axis of n
// pixels placed at offset off: the image itself, then a reflected border of
// width r on each side, and between the two borders (through the FFT's
// wrap-around) a cross-fade from one reflection to the other, so that the
// periodic grid has no jump for the FFT to ring on.
func smoothTaps(g, n, off, r int) []tap {
	taps := make([]tap, g)
	p := g - n // the border band, from below the image, through the wrap, to above it
	for d := 0; d < p; d++ {
		gi := (off + n + d) % g
		below := Reflect(n+d, n) // reflection across the far edge
		above := Reflect(d-p, n) // reflection across the near edge, reached through the wrap
		t := 0.0
		switch {
		case d < r:
			t = 0
		case d >= p-r:
			t = 1
		default:
			t = (float64(d-r) + 0.5) / float64(p-2*r)
		}
		taps[gi] = tap{below, above, t}
	}
	for i := 0; i < n; i++ {
		taps[off+i] = tap{i, i, 0}
	}
	return taps
}

// extendPair fills grid with channels c0 (real parts) and c1 (imaginary
// parts; −1: none) of t with a seamless periodic border (see smoothTaps),
// in one pass split across the cores: used where the border is free, in
// Prox and PseudoInverse.
func (b *Blur) extendPair(grid []complex128, t *sdk.Tensor, c0, c1 int) {
	p0, p1 := b.planes(t, c0, c1)
	parallelRange(b.gh, func(lo, hi int) {
		for gy := lo; gy < hi; gy++ {
			b.extendRow(grid[gy*b.gw:(gy+1)*b.gw], gy, p0, p1)
		}
	})
}

// planes returns channels c0 and c1 (nil for −1) of t.
func (b *Blur) planes(t *sdk.Tensor, c0, c1 int) (p0, p1 []float32) {
	n := b.h * b.w
	p0 = t.Data[c0*n : (c0+1)*n]
	if c1 >= 0 {
		p1 = t.Data[c1*n : (c1+1)*n]
	}
	return p0, p1
}

// extendRow fills grid row gy (row) from planes p0 (real parts) and p1
// (imaginary parts; nil: none) with the seamless border of extendPair.
func (b *Blur) extendRow(row []complex128, gy int, p0, p1 []float32) {
	at := func(plane []float32, ty, tx tap) float64 {
		r0, r1 := plane[ty.i0*b.w:(ty.i0+1)*b.w], plane[ty.i1*b.w:(ty.i1+1)*b.w]
		a := (1-tx.t)*float64(r0[tx.i0]) + tx.t*float64(r0[tx.i1])
		c := (1-tx.t)*float64(r1[tx.i0]) + tx.t*float64(r1[tx.i1])
		return (1-ty.t)*a + ty.t*c
	}
	ty := b.rows[gy]
	if ty.t == 0 {
		// an image row or a plain reflection of one: copy, with the
		// border taps only at the ends
		r0 := p0[ty.i0*b.w : (ty.i0+1)*b.w]
		var r1 []float32
		if p1 != nil {
			r1 = p1[ty.i0*b.w : (ty.i0+1)*b.w]
		}
		for gx, tx := range b.cols {
			var v0, v1 float64
			if tx.t == 0 {
				v0 = float64(r0[tx.i0])
				if r1 != nil {
					v1 = float64(r1[tx.i0])
				}
			} else {
				v0 = (1-tx.t)*float64(r0[tx.i0]) + tx.t*float64(r0[tx.i1])
				if r1 != nil {
					v1 = (1-tx.t)*float64(r1[tx.i0]) + tx.t*float64(r1[tx.i1])
				}
			}
			row[gx] = complex(v0, v1)
		}
		return
	}
	for gx, tx := range b.cols {
		var v1 float64
		if p1 != nil {
			v1 = at(p1, ty, tx)
		}
		row[gx] = complex(at(p0, ty, tx), v1)
	}
}

// parallelRange runs fn over [0, n) in chunks split across the cores (up
// to 8; par.Chunks).
func parallelRange(n int, fn func(lo, hi int)) {
	par.Chunks(n, min(runtime.GOMAXPROCS(0), 8), func(_, lo, hi int) { fn(lo, hi) })
}

// pairs runs fn over channels two at a time, packed as real and imaginary
// parts of one complex grid: every filter here is a real convolution, so the
// two channels do not mix.
func (b *Blur) pairs(c int, fn func(c0, c1 int)) {
	for ch := 0; ch < c; ch += 2 {
		c1 := ch + 1
		if c1 >= c {
			c1 = -1
		}
		fn(ch, c1)
	}
}

// cropInto writes the image region of grid (real → channel c0, imag → c1)
// into out, or adds it to what out holds.
func (b *Blur) cropInto(out *sdk.Tensor, grid []complex128, c0, c1 int, add bool) {
	n := b.h * b.w
	parallelRange(b.h, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			src := grid[(y+b.top)*b.gw+b.left : (y+b.top)*b.gw+b.left+b.w]
			d0 := out.Data[c0*n+y*b.w : c0*n+(y+1)*b.w]
			var d1 []float32
			if c1 >= 0 {
				d1 = out.Data[c1*n+y*b.w : c1*n+(y+1)*b.w]
			}
			for x, v := range src {
				if add {
					d0[x] += float32(real(v))
					if d1 != nil {
						d1[x] += float32(imag(v))
					}
					continue
				}
				d0[x] = float32(real(v))
				if d1 != nil {
					d1[x] = float32(imag(v))
				}
			}
		}
	})
}

// filter extends each channel of x onto the grid (smoothly, or by plain
// reflection), multiplies its spectrum by gain, and crops the result.
func (b *Blur) filter(x *sdk.Tensor, smooth bool, gain func(i int) complex128) *sdk.Tensor {
	out := sdk.NewTensor(x.C, x.H, x.W)
	f := newFFT2(b.gh, b.gw)
	grid := make([]complex128, b.gh*b.gw)
	b.pairs(x.C, func(c0, c1 int) {
		if smooth {
			b.extendPair(grid, x, c0, c1)
		} else {
			b.extend(grid, x, c0, false)
			if c1 >= 0 {
				b.extend(grid, x, c1, true)
			}
		}
		f.forward(grid)
		for i := range grid {
			grid[i] *= gain(i)
		}
		f.inverse(grid)
		b.cropInto(out, grid, c0, c1, false)
	})
	return out
}

// Apply returns k ∗ x with reflective (or circular) boundaries.
func (b *Blur) Apply(x *sdk.Tensor) *sdk.Tensor {
	return b.filter(x, false, func(i int) complex128 { return complex128(b.kf[i]) })
}

// Adjoint returns Aᵀ y: correlation with k, then the reflective border folded
// back onto the pixels it copied.
func (b *Blur) Adjoint(y *sdk.Tensor) *sdk.Tensor {
	out := sdk.NewTensor(y.C, y.H, y.W)
	f := newFFT2(b.gh, b.gw)
	grid := make([]complex128, b.gh*b.gw)
	n := b.h * b.w
	b.pairs(y.C, func(c0, c1 int) {
		clear(grid)
		for yy := 0; yy < b.h; yy++ {
			for xx := 0; xx < b.w; xx++ {
				v := complex(float64(y.Data[c0*n+yy*b.w+xx]), 0)
				if c1 >= 0 {
					v += complex(0, float64(y.Data[c1*n+yy*b.w+xx]))
				}
				grid[(yy+b.top)*b.gw+xx+b.left] = v
			}
		}
		f.forward(grid)
		for i := range grid {
			grid[i] *= cmplx.Conj(complex128(b.kf[i]))
		}
		f.inverse(grid)
		acc0 := make([]float64, n)
		acc1 := make([]float64, n)
		for gy := 0; gy < b.gh; gy++ {
			sy := Reflect(gy-b.top, b.h)
			for gx := 0; gx < b.gw; gx++ {
				j := sy*b.w + Reflect(gx-b.left, b.w)
				v := grid[gy*b.gw+gx]
				acc0[j] += real(v)
				acc1[j] += imag(v)
			}
		}
		for i := 0; i < n; i++ {
			out.Data[c0*n+i] = float32(acc0[i])
			if c1 >= 0 {
				out.Data[c1*n+i] = float32(acc1[i])
			}
		}
	})
	return out
}

// proxBuf is what a Prox call works in: a gh×gw grid (its contents
// stale between calls) and the FFT's plans and scratch.
type proxBuf struct {
	g []complex128
	f *fft2
}

// buf returns a proxBuf from the pool, or a new one. Prox runs once per
// evaluation: without the pool each call would allocate, and page in, a
// grid the garbage collector just freed.
func (b *Blur) buf() *proxBuf {
	if p, ok := b.spec.grids.Get().(*proxBuf); ok {
		return p
	}
	return &proxBuf{g: make([]complex128, b.gh*b.gw), f: newFFT2(b.gh, b.gw)}
}

// putBuf returns p to the pool, unless its grid is larger than the grids
// Prox caches (maxCachedGrid): a 24-megapixel photo's grid is 390 MB,
// better freed while the network runs.
func (b *Blur) putBuf(p *proxBuf) {
	if len(p.g) <= maxCachedGrid {
		b.spec.grids.Put(p)
	}
}

// Prox returns argmin_x ‖k ∗ x − y‖²/(2σ_y²) + (ρ/2)‖x − z‖² in closed form:
// X = (conj(K)·Y/σ_y² + ρ·Z) / (|K|²/σ_y² + ρ) on the FFT grid. The first
// term depends only on y and σ_y, which stay the same through a
// restoration: it is kept from the previous call (for grids up to
// maxCachedGrid), so a call costs two FFTs per channel pair, not three;
// larger grids go through proxOneGrid.
func (b *Blur) Prox(z, y *sdk.Tensor, sigmaY, rho float64) *sdk.Tensor {
	return b.prox(z, y, sigmaY, rho, false)
}

// ProxOver is Prox written over z where the data term is kept (images up
// to maxCachedGrid: each channel pair of z is read before the pair is
// written); larger images get a new tensor.
func (b *Blur) ProxOver(z, y *sdk.Tensor, sigmaY, rho float64) *sdk.Tensor {
	return b.prox(z, y, sigmaY, rho, true)
}

func (b *Blur) prox(z, y *sdk.Tensor, sigmaY, rho float64, over bool) (out *sdk.Tensor) {
	if sigmaY < minSigmaY {
		sigmaY = minSigmaY
	}
	a := 1 / (sigmaY * sigmaY)
	p := b.buf()
	defer b.putBuf(p)
	// Every pass below, the data term's too, runs on one team of workers.
	p.f.together(func() { out = b.proxOn(p.f, p.g, z, y, a, rho, over) })
	return out
}

// proxOn is prox with its grid and transforms.
func (b *Blur) proxOn(f *fft2, g []complex128, z, y *sdk.Tensor, a, rho float64, over bool) *sdk.Tensor {
	cached := b.cachedDataTerm(f, g, y, a)
	if cached == nil {
		out := sdk.NewTensor(z.C, z.H, z.W)
		b.proxOneGrid(f, g, out, z, y, a, rho)
		return out
	}
	out := z
	if !over {
		out = sdk.NewTensor(z.C, z.H, z.W)
	}
	// Three passes over the grid per channel pair: each row extended and
	// transformed; each strip of columns transformed, divided and
	// transformed back; each image row transformed back and cropped (the
	// border's rows are not needed).
	norm := 1 / float64(len(g)) // the inverse FFT's, folded in
	n := b.h * b.w
	b.pairs(z.C, func(c0, c1 int) {
		d := cached[c0/2]
		if c1 < 0 && b.packsReal() {
			b.proxReal(f, g, out, z, c0, d, a, rho, norm)
			return
		}
		p0, p1 := b.planes(z, c0, c1)
		b.pairRows(f, g, p0, p1)
		k2s := b.k2Strips(b.gw)
		f.filterColumns(g, func(strip []complex128, x0, _ int) {
			b.divide(strip, d, k2s, x0, a, rho, norm)
		})
		f.parallel(b.h, func(wk *fftWorker, lo, hi int) {
			for y := lo; y < hi; y++ {
				row := g[(y+b.top)*b.gw : (y+b.top+1)*b.gw]
				wk.row.transform(row, wk.scratch, true)
				d0 := out.Data[c0*n+y*b.w : c0*n+(y+1)*b.w]
				for x, v := range row[b.left : b.left+b.w] {
					d0[x] = float32(real(v))
				}
				if c1 >= 0 {
					d1 := out.Data[c1*n+y*b.w : c1*n+(y+1)*b.w]
					for x, v := range row[b.left : b.left+b.w] {
						d1[x] = float32(imag(v))
					}
				}
			}
		})
	})
	return out
}

// Strip order: the prox's data term and |K|² are kept in the order the
// column strips visit them (strip after strip, each gh rows of its nc
// columns), so that the division reads them in sequence: after a network
// evaluation they are out of the cache, and read a row of a strip at a
// time from the grid's order they cost more than the transforms.

// stripBase is where the strip of columns from x0 starts in strip order.
func (b *Blur) stripBase(x0 int) int { return x0 * b.gh }

// k2Strips returns |K|² in strip order for the first w columns of the grid
// (w = gw, or gw/2+1 for a real image's half spectrum), made once per
// spectrum.
func (b *Blur) k2Strips(w int) []float32 {
	sp := b.spec
	sp.stripsMu.Lock()
	defer sp.stripsMu.Unlock()
	if k, ok := sp.k2Strips[w]; ok {
		return k
	}
	k := make([]float32, b.gh*w)
	for x0 := 0; x0 < w; x0 += colStrip {
		nc := min(colStrip, w-x0)
		base := b.stripBase(x0)
		for y := 0; y < b.gh; y++ {
			copy(k[base+y*nc:base+(y+1)*nc], b.k2[y*b.gw+x0:y*b.gw+x0+nc])
		}
	}
	if sp.k2Strips == nil {
		sp.k2Strips = map[int][]float32{}
	}
	sp.k2Strips[w] = k
	return k
}

// divide is Prox's step in the frequency domain on the strip of columns
// from x0: X = (D + ρ·Z)·norm/(a|K|² + ρ), with the data term D and |K|²
// (k2s) in strip order.
func (b *Blur) divide(strip []complex128, d []complex64, k2s []float32, x0 int, a, rho, norm float64) {
	base := b.stripBase(x0)
	dd, kk := d[base:base+len(strip)], k2s[base:base+len(strip)]
	for i, v := range strip {
		inv := norm / (a*float64(kk[i]) + rho)
		strip[i] = complex((float64(real(dd[i]))+rho*real(v))*inv, (float64(imag(dd[i]))+rho*imag(v))*inv)
	}
}

// pairRows extends planes p0 (real parts) and p1 (imaginary parts; nil:
// none) onto the grid and transforms its rows, each row while it is in the
// cache.
func (b *Blur) pairRows(f *fft2, g []complex128, p0, p1 []float32) {
	f.parallel(b.gh, func(wk *fftWorker, lo, hi int) {
		for gy := lo; gy < hi; gy++ {
			row := g[gy*b.gw : (gy+1)*b.gw]
			b.extendRow(row, gy, p0, p1)
			wk.row.transform(row, wk.scratch, false)
		}
	})
}

// packsReal reports whether a lone channel is transformed as a real image
// (proxReal, the data term): the grid's sides must be even.
func (b *Blur) packsReal() bool { return b.gh%2 == 0 && b.gw%2 == 0 }

// realRows extends plane p onto the grid and transforms its rows, two at a
// time as one complex row, leaving in g the gw/2+1 frequencies of each row
// that a real row has (rows gw/2+1 long).
func (b *Blur) realRows(f *fft2, g []complex128, p []float32) {
	gw, hw := b.gw, b.gw/2+1
	f.parallel(b.gh/2, func(wk *fftWorker, lo, hi int) {
		za, zb := wk.pair[:gw], wk.pair[gw:2*gw]
		for r := lo; r < hi; r++ {
			b.extendRow(za, 2*r, p, nil)
			b.extendRow(zb, 2*r+1, p, nil)
			for k, v := range zb {
				za[k] = complex(real(za[k]), real(v))
			}
			wk.row.transform(za, wk.scratch, false)
			// Z = A + iB with A, B real: A's transform is (Z[k] + conj Z[−k])/2,
			// B's (Z[k] − conj Z[−k])/(2i).
			ha, hb := g[2*r*hw:(2*r+1)*hw], g[(2*r+1)*hw:(2*r+2)*hw]
			for k := range ha {
				zk, zm := za[k], cmplx.Conj(za[(gw-k)%gw])
				s, e := zk+zm, zk-zm
				ha[k] = complex(real(s)*0.5, imag(s)*0.5)
				hb[k] = complex(imag(e)*0.5, -real(e)*0.5)
			}
		}
	})
}

// proxReal is Prox's three passes for a lone channel c (a real image,
// gh and gw even): two grid rows are packed as one complex row (real and
// imaginary parts) and told apart after their transform, and the columns
// are transformed for only the gw/2+1 frequencies a real row has (the
// others mirror them) — half the work of the channel as a complex grid.
// The half spectrum lies in g with rows gw/2+1 long.
func (b *Blur) proxReal(f *fft2, g []complex128, out, z *sdk.Tensor, c int, d []complex64, a, rho, norm float64) {
	gw, hw := b.gw, b.gw/2+1
	p, _ := b.planes(z, c, -1)
	b.realRows(f, g, p)
	k2s := b.k2Strips(hw)
	f.filterColumnsOf(g[:b.gh*hw], hw, func(strip []complex128, x0, _ int) {
		b.divide(strip, d, k2s, x0, a, rho, norm)
	})
	// Back: the image's row pairs, each as A + iB with the mirrored half
	// restored, transformed at once.
	n := b.h * b.w
	r0, r1 := b.top/2, (b.top+b.h-1)/2+1
	f.parallel(r1-r0, func(wk *fftWorker, lo, hi int) {
		zr := wk.pair[:gw]
		for r := r0 + lo; r < r0+hi; r++ {
			ha, hb := g[2*r*hw:(2*r+1)*hw], g[(2*r+1)*hw:(2*r+2)*hw]
			for k := range ha {
				zr[k] = complex(real(ha[k])-imag(hb[k]), imag(ha[k])+real(hb[k]))
			}
			for k := hw; k < gw; k++ {
				va, vb := ha[gw-k], hb[gw-k] // conj(va) + i·conj(vb)
				zr[k] = complex(real(va)+imag(vb), -imag(va)+real(vb))
			}
			wk.row.transform(zr, wk.scratch, true)
			if y := 2*r - b.top; y >= 0 && y < b.h {
				dst := out.Data[c*n+y*b.w : c*n+(y+1)*b.w]
				for x, v := range zr[b.left : b.left+b.w] {
					dst[x] = float32(real(v))
				}
			}
			if y := 2*r + 1 - b.top; y >= 0 && y < b.h {
				dst := out.Data[c*n+y*b.w : c*n+(y+1)*b.w]
				for x, v := range zr[b.left : b.left+b.w] {
					dst[x] = float32(imag(v))
				}
			}
		}
	})
}

// proxOneGrid is Prox for grids too large to keep the data term: by
// linearity X = a·conj(K)·Y/(a|K|² + ρ) + ρ·Z/(a|K|² + ρ), each term
// transformed back on its own through one grid (four FFTs per channel pair
// instead of three, one grid of memory instead of two: on a 24-megapixel
// photo a grid is 390 MB).
func (b *Blur) proxOneGrid(f *fft2, g []complex128, out, z, y *sdk.Tensor, a, rho float64) {
	b.pairs(z.C, func(c0, c1 int) {
		b.extendPair(g, y, c0, c1)
		f.forward(g)
		for i, v := range g {
			g[i] = cmplx.Conj(complex128(b.kf[i])) * v * complex(a/(a*float64(b.k2[i])+rho), 0)
		}
		f.inverse(g)
		b.cropInto(out, g, c0, c1, false)
		b.extendPair(g, z, c0, c1)
		f.forward(g)
		for i := range g {
			g[i] *= complex(rho/(a*float64(b.k2[i])+rho), 0)
		}
		f.inverse(g)
		b.cropInto(out, g, c0, c1, true)
	})
}

// maxCachedGrid bounds the grid points (over all channel pairs) of the data
// term Prox keeps between calls: 16 M points, 128 MB in complex64 (a 2.6
// megapixel RGB image). Larger images transform it anew in each call
// (proxOneGrid).
var maxCachedGrid = 16 << 20

// proxCache is the data term a·conj(K)·Y of the last Prox call, per channel
// pair, with the measurement, weight and image size it was computed for.
// Operators that share a spectrum share it too: the host's warm start and
// an in-process guidance compute the same term for the same photo.
type proxCache struct {
	mu       sync.Mutex
	h, w     int
	circular bool
	y        []float32
	a        float64
	data     [][]complex64
}

// cachedDataTerm returns a·conj(K)·Y for each channel pair of y, kept from
// the previous call when y and a are the same; nil when the grids are too
// large to keep. g is a scratch grid.
func (b *Blur) cachedDataTerm(f *fft2, g []complex128, y *sdk.Tensor, a float64) [][]complex64 {
	if (y.C+1)/2*b.gh*b.gw > maxCachedGrid {
		return nil
	}
	c := b.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.data != nil && c.a == a && c.h == b.h && c.w == b.w && c.circular == b.circular && slices.Equal(c.y, y.Data) {
		return c.data
	}
	data := make([][]complex64, 0, (y.C+1)/2)
	b.pairs(y.C, func(c0, c1 int) {
		data = append(data, b.dataTerm(f, g, y, c0, c1, a))
	})
	c.h, c.w, c.circular = b.h, b.w, b.circular
	c.y, c.a, c.data = slices.Clone(y.Data), a, data
	return data
}

// dataTerm returns a·conj(K)·Y for channels c0 and c1 (−1: none) of y, in
// strip order (a lone channel's, when it packs real rows, for the gw/2+1
// columns proxReal transforms). g is a scratch grid.
func (b *Blur) dataTerm(f *fft2, g []complex128, y *sdk.Tensor, c0, c1 int, a float64) []complex64 {
	p0, p1 := b.planes(y, c0, c1)
	w := b.gw
	if c1 < 0 && b.packsReal() {
		b.realRows(f, g, p0)
		w = b.gw/2 + 1
	} else {
		b.pairRows(f, g, p0, p1)
	}
	d := make([]complex64, b.gh*w)
	f.eachStrip(g[:b.gh*w], w, func(wk *fftWorker, strip []complex128, x0, nc int) {
		wk.columnsOf(strip, b.gh, nc, false)
		base := b.stripBase(x0)
		for y := 0; y < b.gh; y++ {
			row := strip[y*nc : (y+1)*nc]
			dd, kf := d[base+y*nc:base+(y+1)*nc], b.kf[y*b.gw+x0:y*b.gw+x0+nc]
			for c, v := range row {
				dd[c] = complex64(mulReal(a, cmplx.Conj(complex128(kf[c]))*v))
			}
		}
	})
	return d
}

// PseudoInverse returns the regularised inverse filter conj(K)·Y/(|K|² + Epsilon):
// a blur kernel's exact inverse does not exist where K vanishes.
func (b *Blur) PseudoInverse(y *sdk.Tensor) (*sdk.Tensor, error) {
	return b.filter(y, true, func(i int) complex128 {
		return cmplx.Conj(complex128(b.kf[i])) / complex(float64(b.k2[i])+b.Epsilon, 0)
	}), nil
}
