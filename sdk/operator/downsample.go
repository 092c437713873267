package operator

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/restorekit/restore/internal/par"
	"github.com/restorekit/restore/sdk"
)

// MaxScale is the largest downsampling factor NewDownsample accepts.
const MaxScale = 64

// Conjugate-gradient settings of Downsample's Prox. Preconditioned by the
// exact inverse of A Aᵀ, CG reaches the tolerance in a few iterations (A Aᵀ
// alone has a condition number of about 2 per axis, 4–5 for an image: 15–25
// iterations); the cap is only a guard.
const (
	cgTol     = 1e-10 // stop at ‖residual‖ ≤ cgTol·‖right-hand side‖
	cgMaxIter = 500
)

// Downsample is A = s-fold decimation after an antialiasing bicubic filter:
// the measurement of an H×W image is (H/s)×(W/s), computed as PIL's
// Image.resize((W/s, H/s), Image.BICUBIC) computes it (Pillow's Resample.c,
// float images):
//
//   - output pixel i along an axis is centred on input coordinate
//     c = (i + ½)·s (pixel j covers [j, j+1));
//   - its weights are the Keys cubic (a = −½) stretched by s,
//     k((j + ½ − c)/s), over the input pixels j with |j + ½ − c| < 2s
//     (support 2s each side);
//   - at the image edges the window is cut off and the remaining weights
//     are renormalised to sum to 1 (no reflection or padding);
//   - the rows and columns are filtered separately (horizontal first).
//
// A = R_y ⊗ R_x is therefore a sparse matrix with fixed weights, and Adjoint
// is its exact transpose. Prox and PseudoInverse solve their normal
// equations by conjugate gradients in the measurement space, where A Aᵀ is
// small, well conditioned and separable (see solve).
//
// Apply, Adjoint and Prox panic, with an error wrapping sdk.ErrShape, when a
// tensor's height and width do not fit the operator (PseudoInverse returns
// that error instead); the channel count is free. A Downsample is immutable and safe for concurrent use.
type Downsample struct {
	s, h, w int
	ry, rx  *axis       // (h/s)×h and (w/s)×w resampling matrices
	gy, gx  *axis       // their Gram matrices R Rᵀ, (h/s)×(h/s) and (w/s)×(w/s)
	cy, cx  *bandFactor // Cholesky factors of gy and gx
}

// NewDownsample returns the s-fold bicubic downsampling of h×w images. The
// scale must be in [2, MaxScale], and h and w positive multiples of it;
// anything else is an error wrapping ErrSpec.
func NewDownsample(scale, h, w int) (*Downsample, error) {
	if scale < 2 || scale > MaxScale {
		return nil, fmt.Errorf("%w: downsampling scale %d, want 2 to %d", ErrSpec, scale, MaxScale)
	}
	if h <= 0 || w <= 0 || h%scale != 0 || w%scale != 0 {
		return nil, fmt.Errorf("%w: a %dx%d image cannot be downsampled %d-fold: its sides must be positive multiples of %d",
			ErrSpec, w, h, scale, scale)
	}
	d := &Downsample{s: scale, h: h, w: w, ry: bicubicAxis(h, h/scale), rx: bicubicAxis(w, w/scale)}
	d.gy, d.gx = d.ry.gram(), d.rx.gram()
	var err error
	if d.cy, err = bandCholesky(d.gy); err != nil {
		return nil, err
	}
	if d.cx, err = bandCholesky(d.gx); err != nil {
		return nil, err
	}
	return d, nil
}

// Scale returns the downsampling factor s.
func (d *Downsample) Scale() int { return d.s }

// Domain returns the height and width of the images the operator applies to.
func (d *Downsample) Domain() (h, w int) { return d.h, d.w }

// Range returns the height and width of its measurements: h/s and w/s.
func (d *Downsample) Range() (h, w int) { return d.h / d.s, d.w / d.s }

// Apply returns A x: x is C×H×W, the result C×(H/s)×(W/s).
func (d *Downsample) Apply(x *sdk.Tensor) *sdk.Tensor {
	d.check("Apply", "x", x, d.h, d.w)
	mh, mw := d.Range()
	out := sdk.NewTensor(x.C, mh, mw)
	eachChannel(x.C, func(c int) {
		xc := plane(x, c)
		ax := sep(d.ry, d.rx, xc)
		store(out, c, ax)
		putF64(xc, ax)
	})
	return out
}

// Adjoint returns Aᵀ y: y is C×(H/s)×(W/s), the result C×H×W.
func (d *Downsample) Adjoint(y *sdk.Tensor) *sdk.Tensor {
	mh, mw := d.Range()
	d.check("Adjoint", "y", y, mh, mw)
	out := sdk.NewTensor(y.C, d.h, d.w)
	eachChannel(y.C, func(c int) {
		yc := plane(y, c)
		aty := sepT(d.ry, d.rx, yc)
		store(out, c, aty)
		putF64(yc, aty)
	})
	return out
}

// Prox returns argmin_x ‖A x − y‖²/(2σ_y²) + (ρ/2)‖x − z‖² for z of C×H×W
// and y of C×(H/s)×(W/s).
//
// The minimiser solves (AᵀA/σ_y² + ρI) x = Aᵀy/σ_y² + ρz. By the Woodbury
// identity it is x = z + Aᵀu with (A Aᵀ + ρσ_y² I) u = y − A z, a system the
// size of the measurement whose condition number is at most that of A Aᵀ
// (about 5) whatever σ_y and ρ are; it is solved exactly for ρσ_y² = 0 and by
// preconditioned conjugate gradients to a relative residual of 1e-10
// otherwise (see solve). Because the solve happens there, σ_y = 0
// needs no floor: it gives the exact projection of z onto {x : A x = y}
// (as does ρ = 0). Negative σ_y and ρ are taken as 0.
func (d *Downsample) Prox(z, y *sdk.Tensor, sigmaY, rho float64) *sdk.Tensor {
	d.check("Prox", "z", z, d.h, d.w)
	mh, mw := d.Range()
	d.check("Prox", "y", y, mh, mw)
	if y.C != z.C {
		panic(fmt.Errorf("%w: operator: Downsample.Prox: y has %d channels, z has %d", sdk.ErrShape, y.C, z.C))
	}
	shift := math.Max(rho, 0) * sigmaY * sigmaY
	out := sdk.NewTensor(z.C, d.h, d.w)
	eachChannel(z.C, func(c int) {
		zc := plane(z, c)
		r := plane(y, c)
		az := sep(d.ry, d.rx, zc)
		for i := range r {
			r[i] -= az[i]
		}
		u := d.solve(r, shift)
		x := sepT(d.ry, d.rx, u)
		for i := range x {
			x[i] += zc[i]
		}
		store(out, c, x)
		putF64(zc, r, az, u, x)
	})
	return out
}

// PseudoInverse returns the least-norm solution A⁺ y = Aᵀ(A Aᵀ)⁻¹ y of
// A x = y: A Aᵀ is invertible (A has full row rank), so A A⁺ y = y up to
// rounding (the solve is direct). A⁺ y is the component of the image in Aᵀ's
// range and carries none of the detail A discards.
func (d *Downsample) PseudoInverse(y *sdk.Tensor) (*sdk.Tensor, error) {
	mh, mw := d.Range()
	if y == nil || y.H != mh || y.W != mw || len(y.Data) != y.C*mh*mw {
		return nil, fmt.Errorf("%w: Downsample.PseudoInverse: y is %v, want Cx%dx%d", sdk.ErrShape, y, mh, mw)
	}
	out := sdk.NewTensor(y.C, d.h, d.w)
	eachChannel(y.C, func(c int) {
		yc := plane(y, c)
		u := d.solve(yc, 0)
		x := sepT(d.ry, d.rx, u)
		store(out, c, x)
		putF64(yc, u, x)
	})
	return out, nil
}

// check panics, with an error wrapping sdk.ErrShape, unless t is C×h×w for some C.
func (d *Downsample) check(method, name string, t *sdk.Tensor, h, w int) {
	if t == nil || t.H != h || t.W != w || len(t.Data) != t.C*h*w {
		panic(fmt.Errorf("%w: operator: Downsample.%s: %s is %v, want Cx%dx%d", sdk.ErrShape, method, name, t, h, w))
	}
}

// solve returns u with (A Aᵀ + shift·I) u = r for one channel of the
// measurement. A Aᵀ = G_y ⊗ G_x with G = R Rᵀ per axis, banded and positive
// definite, so (A Aᵀ)⁻¹ r = G_y⁻¹ · r · G_x⁻¹ costs two banded Cholesky
// solves per row and column: with shift = 0 (σ_y = 0 or ρ = 0, noiseless
// super-resolution) that is the answer. Otherwise it preconditions
// conjugate gradients, which then need as many iterations as the shift
// moves the spectrum: a handful, never more than unpreconditioned CG's
// 15–25.
func (d *Downsample) solve(r []float64, shift float64) []float64 {
	u := d.gramSolve(r)
	if shift <= 0 {
		return u
	}
	// Preconditioned CG on (G + shift·I) u = r with M = G, from u₀ = G⁻¹ r.
	q := sep(d.gy, d.gx, u)
	res := getF64(len(r))
	for i := range res {
		res[i] = r[i] - q[i] - shift*u[i]
	}
	putF64(q)
	stop := cgTol * cgTol * dot64(r, r)
	zr := d.gramSolve(res)
	p := getF64(len(r))
	copy(p, zr)
	rz := dot64(res, zr)
	defer func() { putF64(res, p, zr) }()
	for it := 0; it < cgMaxIter && dot64(res, res) > stop; it++ {
		q := sep(d.gy, d.gx, p)
		for i := range q {
			q[i] += shift * p[i]
		}
		alpha := rz / dot64(p, q)
		for i := range u {
			u[i] += alpha * p[i]
			res[i] -= alpha * q[i]
		}
		putF64(q, zr)
		zr = d.gramSolve(res)
		next := dot64(res, zr)
		beta := next / rz
		for i := range p {
			p[i] = zr[i] + beta*p[i]
		}
		rz = next
	}
	return u
}

// gramSolve returns G_y⁻¹ · r · G_x⁻¹ for an (h/s)×(w/s) plane r: the
// solution of (A Aᵀ) u = r. Each step of the triangular solves works on
// whole rows: along y directly, along x on the transposed plane.
func (d *Downsample) gramSolve(r []float64) []float64 {
	mh, mw := d.Range()
	u := getF64(len(r))
	copy(u, r)
	d.cy.solve(u, mw)
	ut := getF64(len(r))
	transpose(ut, u, mh, mw)
	d.cx.solve(ut, mh)
	transpose(u, ut, mw, mh)
	putF64(ut)
	return u
}

// transpose writes the transpose of the rows×cols matrix src into dst.
func transpose(dst, src []float64, rows, cols int) {
	const blk = 32
	for i0 := 0; i0 < rows; i0 += blk {
		for j0 := 0; j0 < cols; j0 += blk {
			for i := i0; i < min(i0+blk, rows); i++ {
				for j := j0; j < min(j0+blk, cols); j++ {
					dst[j*rows+i] = src[i*cols+j]
				}
			}
		}
	}
}

// f64Pools keeps the float64 planes of Downsample's arithmetic between
// calls, by length: a Prox on a 512² image used to allocate (and the
// collector to clear and page in) over 30 MB of them.
var f64Pools sync.Map // int → *sync.Pool of *[]float64

// getF64 returns a slice of n float64s with stale contents.
func getF64(n int) []float64 {
	p, _ := f64Pools.LoadOrStore(n, &sync.Pool{})
	if b, ok := p.(*sync.Pool).Get().(*[]float64); ok {
		return *b
	}
	return make([]float64, n)
}

// putF64 returns slices from getF64 for reuse.
func putF64(bufs ...[]float64) {
	for _, b := range bufs {
		p, _ := f64Pools.LoadOrStore(len(b), &sync.Pool{})
		p.(*sync.Pool).Put(&b)
	}
}

// bandFactor is the Cholesky factor U (G = UᵀU) of a banded Gram matrix:
// row i holds U[i][i], U[i][i+1], …, U[i][i+kd] (fewer at the end).
type bandFactor struct {
	n, kd int
	rows  [][]float64
}

// solve overwrites x, n blocks of the given width (block i is
// x[i·width:(i+1)·width]), with G⁻¹x: Uᵀz = x, then U x = z, each step on
// whole blocks.
func (f *bandFactor) solve(x []float64, width int) {
	block := func(i int) []float64 { return x[i*width : (i+1)*width] }
	for i := 0; i < f.n; i++ { // forward: z_i = (x_i − Σ_{k<i} U[k][i] z_k) / U[i][i]
		xi := block(i)
		for k := max(0, i-f.kd); k < i; k++ {
			axpy(xi, -f.rows[k][i-k], block(k))
		}
		scale(xi, 1/f.rows[i][0])
	}
	for i := f.n - 1; i >= 0; i-- { // backward: x_i = (z_i − Σ_{k>i} U[i][k] x_k) / U[i][i]
		xi := block(i)
		row := f.rows[i]
		for o := 1; o < len(row); o++ {
			axpy(xi, -row[o], block(i+o))
		}
		scale(xi, 1/row[0])
	}
}

// axpy adds a·x to y.
func axpy(y []float64, a float64, x []float64) {
	x = x[:len(y)]
	for j := range y {
		y[j] += a * x[j]
	}
}

// scale multiplies x by a.
func scale(x []float64, a float64) {
	for j := range x {
		x[j] *= a
	}
}

// bandCholesky factorises the Gram matrix g = R Rᵀ of an axis (symmetric,
// banded, positive definite since R has full row rank): U row by row,
// U[i][i] = √(G[i][i] − Σ_k U[k][i]²), U[i][j] = (G[i][j] − Σ_k U[k][i]U[k][j]) / U[i][i],
// the sums over the rows k < i whose band reaches column i.
func bandCholesky(g *axis) (*bandFactor, error) {
	kd := 0
	for i, row := range g.w {
		kd = max(kd, g.start[i]+len(row)-1-i)
	}
	at := func(i, j int) float64 { // G[i][j] for j ≥ i
		if k := j - g.start[i]; k >= 0 && k < len(g.w[i]) {
			return g.w[i][k]
		}
		return 0
	}
	f := &bandFactor{n: g.m, kd: kd, rows: make([][]float64, g.m)}
	for i := range g.m {
		row := make([]float64, min(kd, g.m-1-i)+1)
		for o := range row {
			j := i + o
			v := at(i, j)
			for k := max(0, j-kd); k < i; k++ {
				v -= f.rows[k][i-k] * f.rows[k][j-k]
			}
			if o == 0 {
				if !(v > 0) {
					return nil, fmt.Errorf("%w: the %dx%d bicubic Gram matrix is not positive definite", ErrSpec, g.m, g.m)
				}
				v = math.Sqrt(v)
			} else {
				v /= row[0]
			}
			row[o] = v
		}
		f.rows[i] = row
	}
	return f, nil
}

// eachChannel runs fn(c) for every channel c < n, on as many goroutines as
// there are cores to run them (channels are independent).
func eachChannel(n int, fn func(c int)) {
	par.Chunks(n, runtime.GOMAXPROCS(0), func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			fn(c)
		}
	})
}

// dot64 returns the inner product of a and b.
func dot64(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// plane returns channel c of t in float64.
func plane(t *sdk.Tensor, c int) []float64 {
	n := t.H * t.W
	out := getF64(n)
	for i, v := range t.Data[c*n : (c+1)*n] {
		out[i] = float64(v)
	}
	return out
}

// store writes p into channel c of t.
func store(t *sdk.Tensor, c int, p []float64) {
	n := t.H * t.W
	dst := t.Data[c*n : (c+1)*n]
	for i, v := range p {
		dst[i] = float32(v)
	}
}

// axis is a sparse m×n matrix acting along one image axis: row i holds the
// weights w[i] of the inputs start[i], start[i]+1, ….
type axis struct {
	n, m  int
	start []int
	w     [][]float64
}

// keys is the Keys cubic convolution kernel with a = −½ (Pillow's bicubic).
func keys(x float64) float64 {
	const a = -0.5
	x = math.Abs(x)
	switch {
	case x < 1:
		return ((a+2)*x-(a+3))*x*x + 1
	case x < 2:
		return (((x-5)*x+8)*x - 4) * a
	}
	return 0
}

// bicubicAxis returns Pillow's bicubic resampling matrix from n samples to
// m ≤ n, as precompute_coeffs in Pillow's Resample.c builds it: the kernel
// stretched by the scale n/m, windows cut at the edges and renormalised.
func bicubicAxis(n, m int) *axis {
	scale := float64(n) / float64(m)
	support := 2 * scale // the kernel's support, 2, stretched
	a := &axis{n: n, m: m, start: make([]int, m), w: make([][]float64, m)}
	for i := 0; i < m; i++ {
		center := (float64(i) + 0.5) * scale
		lo := max(int(center-support+0.5), 0) // Pillow rounds by truncation
		hi := min(int(center+support+0.5), n)
		w := make([]float64, hi-lo)
		sum := 0.0
		for k := range w {
			w[k] = keys((float64(lo+k) - center + 0.5) / scale)
			sum += w[k]
		}
		if sum != 0 {
			for k := range w {
				w[k] /= sum
			}
		}
		a.start[i], a.w[i] = lo, w
	}
	return a
}

// mul sets dst (length m) to a·src (length n).
func (a *axis) mul(dst, src []float64) {
	for i, w := range a.w {
		s := 0.0
		for k, v := range src[a.start[i] : a.start[i]+len(w)] {
			s += w[k] * v
		}
		dst[i] = s
	}
}

// mulT sets dst (length n) to aᵀ·src (length m).
func (a *axis) mulT(dst, src []float64) {
	clear(dst)
	for i, w := range a.w {
		d := dst[a.start[i] : a.start[i]+len(w)]
		for k := range d {
			d[k] += w[k] * src[i]
		}
	}
}

// gram returns a·aᵀ, an m×m band matrix, as an axis.
func (a *axis) gram() *axis {
	g := &axis{n: a.m, m: a.m, start: make([]int, a.m), w: make([][]float64, a.m)}
	for i := range a.m {
		lo := -1
		var row []float64
		for j := range a.m {
			// Rows i and j meet where their windows overlap.
			s0 := max(a.start[i], a.start[j])
			s1 := min(a.start[i]+len(a.w[i]), a.start[j]+len(a.w[j]))
			if s0 >= s1 {
				continue
			}
			v := 0.0
			for k := s0; k < s1; k++ {
				v += a.w[i][k-a.start[i]] * a.w[j][k-a.start[j]]
			}
			if lo < 0 {
				lo = j
			}
			for len(row) <= j-lo {
				row = append(row, 0)
			}
			row[j-lo] = v
		}
		g.start[i], g.w[i] = lo, row
	}
	return g
}

// sep returns R_y·X·R_xᵀ for the ry.n×rx.n plane x (row-major): rows are
// filtered first, then columns.
func sep(ry, rx *axis, x []float64) []float64 {
	t := getF64(ry.n * rx.m)
	defer putF64(t)
	for r := 0; r < ry.n; r++ {
		rx.mul(t[r*rx.m:(r+1)*rx.m], x[r*rx.n:(r+1)*rx.n])
	}
	out := getF64(ry.m * rx.m)
	clear(out)
	for i, w := range ry.w {
		o := out[i*rx.m : (i+1)*rx.m]
		for k, wk := range w {
			row := t[(ry.start[i]+k)*rx.m : (ry.start[i]+k+1)*rx.m]
			for j, v := range row {
				o[j] += wk * v
			}
		}
	}
	return out
}

// sepT returns R_yᵀ·Y·R_x for the ry.m×rx.m plane y, the transpose of sep.
func sepT(ry, rx *axis, y []float64) []float64 {
	t := getF64(ry.n * rx.m)
	defer putF64(t)
	clear(t)
	for i, w := range ry.w {
		yrow := y[i*rx.m : (i+1)*rx.m]
		for k, wk := range w {
			row := t[(ry.start[i]+k)*rx.m : (ry.start[i]+k+1)*rx.m]
			for j, v := range yrow {
				row[j] += wk * v
			}
		}
	}
	out := getF64(ry.n * rx.n)
	for r := 0; r < ry.n; r++ {
		rx.mulT(out[r*rx.n:(r+1)*rx.n], t[r*rx.m:(r+1)*rx.m])
	}
	return out
}
