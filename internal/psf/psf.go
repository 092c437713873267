// Package psf reads and makes blur kernels (point spread functions) for
// deblurring: gray PNG files and whitespace-separated text matrices, and
// the shapes blur commonly takes (a Gaussian, a defocus disk, a straight
// camera motion), each checked and normalised to sum 1.
package psf

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"image/png"
	"math"
	"os"
	"strconv"
	"strings"
)

// MaxSide bounds a kernel's width and height.
const MaxSide = 255

// Read reads a kernel file: a gray PNG (8- or 16-bit, normalised by its sum)
// or a whitespace-separated text matrix.
func Read(path string) ([][]float64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data)
}

// Parse reads a kernel from a PNG file's bytes or a text matrix. A PNG's
// size is checked from its header before it is decoded.
func Parse(data []byte) ([][]float64, error) {
	var k [][]float64
	if bytes.HasPrefix(data, []byte("\x89PNG")) {
		cfg, err := png.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("corrupt PNG kernel (%v)", err)
		}
		if cfg.Width > MaxSide || cfg.Height > MaxSide {
			return nil, fmt.Errorf("kernel is %dx%d, over the limit of %dx%d", cfg.Width, cfg.Height, MaxSide, MaxSide)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("corrupt PNG kernel (%v)", err)
		}
		b := img.Bounds()
		if b.Dx() > MaxSide || b.Dy() > MaxSide {
			return nil, fmt.Errorf("kernel is %dx%d, over the limit of %dx%d", b.Dx(), b.Dy(), MaxSide, MaxSide)
		}
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := make([]float64, 0, b.Dx())
			for x := b.Min.X; x < b.Max.X; x++ {
				row = append(row, float64(color.Gray16Model.Convert(img.At(x, y)).(color.Gray16).Y))
			}
			k = append(k, row)
		}
		return Normalize(k)
	}
	for n, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) > MaxSide {
			return nil, fmt.Errorf("kernel is over the limit of %dx%d: line %d has %d values", MaxSide, MaxSide, n+1, len(fields))
		}
		row := make([]float64, len(fields))
		for i, f := range fields {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %q is not a number", n+1, f)
			}
			row[i] = v
		}
		if len(k) > 0 && len(row) != len(k[0]) {
			return nil, fmt.Errorf("kernel is not a 2-D matrix: line %d has %d values, the first row %d", n+1, len(row), len(k[0]))
		}
		k = append(k, row)
		if len(k) > MaxSide {
			return nil, fmt.Errorf("kernel is over the limit of %dx%d: it has more than %d rows", MaxSide, MaxSide, MaxSide)
		}
	}
	return Normalize(k)
}

// Normalize requires a non-empty matrix of finite, non-negative values with a
// positive sum, and scales it in place to sum 1.
func Normalize(k [][]float64) ([][]float64, error) {
	if len(k) == 0 || len(k[0]) == 0 {
		return nil, errors.New("kernel is not a 2-D matrix: it is empty")
	}
	peak := 0.0
	for _, row := range k {
		if len(row) != len(k[0]) {
			return nil, errors.New("kernel is not a 2-D matrix: its rows differ in length")
		}
		for _, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				return nil, fmt.Errorf("kernel has a negative or non-finite value %g", v)
			}
			peak = max(peak, v)
		}
	}
	if peak == 0 {
		return nil, errors.New("kernel sums to 0")
	}
	// Scaling by the peak first keeps the sum finite for weights near the
	// largest float64 ("1e308 1e308" once summed to +Inf and became zeros).
	sum := 0.0
	for _, row := range k {
		for j := range row {
			row[j] /= peak
			sum += row[j]
		}
	}
	for _, row := range k {
		for j := range row {
			row[j] /= sum
		}
	}
	return k, nil
}

// Gaussian is a normalised isotropic Gaussian kernel of standard deviation
// std pixels, of side 2·⌈3·std⌉+1; std must lie in (0, 40].
func Gaussian(std float64) ([][]float64, error) {
	if !(std > 0) || std > 40 {
		return nil, fmt.Errorf("gaussian blur std %g is outside (0, 40]", std)
	}
	r := int(math.Ceil(3 * std))
	k := make([][]float64, 2*r+1)
	for i := range k {
		k[i] = make([]float64, 2*r+1)
		for j := range k[i] {
			y, x := float64(i-r), float64(j-r)
			k[i][j] = math.Exp(-(x*x + y*y) / (2 * std * std))
		}
	}
	return Normalize(k)
}

// Disk is a defocus blur: a uniform disk of the given radius in pixels,
// each tap weighted by the share of its pixel inside the circle (sampled
// 16×16 within the pixel), normalised; side 2·⌈radius − 0.5⌉+1, radius in
// (0, 100]. Radius 4 gives a 9×9 kernel; under 0.5, a single tap.
func Disk(radius float64) ([][]float64, error) {
	if !(radius > 0) || radius > 100 {
		return nil, fmt.Errorf("disk blur radius %g is outside (0, 100]", radius)
	}
	const sub = 16
	n := int(math.Ceil(radius - 0.5))
	if n == 0 { // within its pixel: no blur
		return [][]float64{{1}}, nil
	}
	k := square(2*n + 1)
	for i := -n; i <= n; i++ {
		for j := -n; j <= n; j++ {
			in := 0
			for a := range sub {
				y := float64(i) + (float64(a)+0.5)/sub - 0.5
				for b := range sub {
					x := float64(j) + (float64(b)+0.5)/sub - 0.5
					if x*x+y*y <= radius*radius {
						in++
					}
				}
			}
			k[i+n][j+n] = float64(in)
		}
	}
	return Normalize(k)
}

// Line is a straight motion blur: a segment of the given length in pixels
// through the kernel's centre at the given angle (degrees, counter-clockwise
// from the x axis, the image's y pointing down), each tap weighted by the
// share of the segment within its pixel (the segment sampled 64 times per
// pixel of length); empty outer rows and columns are trimmed evenly, so
// the centre stays the centre. Length in (0, 255].
func Line(length, degrees float64) ([][]float64, error) {
	if !(length > 0) || length > MaxSide {
		return nil, fmt.Errorf("motion blur length %g is outside (0, %d]", length, MaxSide)
	}
	if math.IsNaN(degrees) || math.IsInf(degrees, 0) {
		return nil, fmt.Errorf("motion blur angle %g is not a number of degrees", degrees)
	}
	n := int(math.Ceil(length / 2))
	k := square(2*n + 1)
	sin, cos := math.Sincos(degrees * math.Pi / 180)
	samples := int(math.Ceil(length * 64))
	for s := range samples {
		t := (float64(s)+0.5)/float64(samples) - 0.5
		i := int(math.RoundToEven(-t*length*sin)) + n
		j := int(math.RoundToEven(t*length*cos)) + n
		k[min(max(i, 0), 2*n)][min(max(j, 0), 2*n)]++
	}
	top, left := n, n // the empty rows above (and below), columns left (and right)
	for i, row := range k {
		for j, v := range row {
			if v > 0 {
				top = min(top, i, 2*n-i)
				left = min(left, j, 2*n-j)
			}
		}
	}
	k = k[top : 2*n+1-top]
	for i := range k {
		k[i] = k[i][left : 2*n+1-left]
	}
	return Normalize(k)
}

// square is an n×n matrix of zeros.
func square(n int) [][]float64 {
	k := make([][]float64, n)
	for i := range k {
		k[i] = make([]float64, n)
	}
	return k
}

// ShortcutHelp names the blur shortcuts Shortcut reads.
const ShortcutHelp = "gaussian:STD, disk:RADIUS or motion:LENGTH[@ANGLE]"

// Shortcut makes the kernel a blur shortcut names: gaussian:STD (Gaussian),
// disk:RADIUS (Disk: defocus) or motion:LENGTH[@ANGLE] (Line: a straight
// camera motion, ANGLE in degrees, 0 if left out), all in pixels.
func Shortcut(s string) ([][]float64, error) {
	kind, arg, _ := strings.Cut(s, ":")
	number := func(v string) (float64, bool) {
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil
	}
	switch kind {
	case "gaussian":
		if std, ok := number(arg); ok {
			return Gaussian(std)
		}
	case "disk":
		if r, ok := number(arg); ok {
			return Disk(r)
		}
	case "motion":
		l, a, hasAngle := strings.Cut(arg, "@")
		length, ok := number(l)
		angle := 0.0
		if hasAngle {
			var ok2 bool
			angle, ok2 = number(a)
			ok = ok && ok2
		}
		if ok {
			return Line(length, angle)
		}
	}
	return nil, fmt.Errorf("%q is not a blur shortcut: want %s, e.g. disk:4", s, ShortcutHelp)
}
