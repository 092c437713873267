// Package psf reads and makes blur kernels (point spread functions) for
// deblurring: gray PNG files, whitespace-separated text matrices and
// Gaussians, each checked and normalised to sum 1.
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
