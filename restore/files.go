package main

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/restorekit/restore/internal/imageio"
)

// maxPixels bounds the images restore decodes (checked from the header);
// the fuzz tests lower it.
var maxPixels int64 = 100_000_000

// maxKernelSide bounds a blur kernel's width and height.
const maxKernelSide = 255

// readImage decodes a PNG, JPEG or TIFF file upright (see imageio.Read),
// checking its size against maxPixels from the header first.
func readImage(path string) (image.Image, error) {
	im, err := imageio.Read(path, maxPixels)
	if err != nil {
		return nil, err
	}
	return im.Pix, nil
}

// readKernel reads a point spread function: a gray PNG (8- or 16-bit,
// normalised by its sum) or a whitespace-separated text matrix.
func readKernel(path string) ([][]float64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var k [][]float64
	if strings.HasPrefix(string(data), "\x89PNG") {
		cfg, err := png.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("corrupt PNG kernel (%v)", err)
		}
		if cfg.Width > maxKernelSide || cfg.Height > maxKernelSide {
			return nil, fmt.Errorf("kernel is %dx%d, over the limit of %dx%d", cfg.Width, cfg.Height, maxKernelSide, maxKernelSide)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("corrupt PNG kernel (%v)", err)
		}
		b := img.Bounds()
		if b.Dx() > maxKernelSide || b.Dy() > maxKernelSide {
			return nil, fmt.Errorf("kernel is %dx%d, over the limit of %dx%d", b.Dx(), b.Dy(), maxKernelSide, maxKernelSide)
		}
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := make([]float64, 0, b.Dx())
			for x := b.Min.X; x < b.Max.X; x++ {
				row = append(row, float64(color.Gray16Model.Convert(img.At(x, y)).(color.Gray16).Y))
			}
			k = append(k, row)
		}
	} else {
		for n, line := range strings.Split(string(data), "\n") {
			fields := strings.Fields(line)
			if len(fields) == 0 {
				continue
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
			if len(k) > maxKernelSide || len(row) > maxKernelSide {
				return nil, fmt.Errorf("kernel is over the limit of %dx%d", maxKernelSide, maxKernelSide)
			}
		}
	}
	return checkKernel(k)
}

// checkKernel requires a non-empty matrix of finite, non-negative values with a
// positive sum, and returns it normalised to sum 1.
func checkKernel(k [][]float64) ([][]float64, error) {
	if len(k) == 0 || len(k[0]) == 0 {
		return nil, errors.New("kernel is not a 2-D matrix: it is empty")
	}
	sum := 0.0
	for _, row := range k {
		for _, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				return nil, fmt.Errorf("kernel has a negative or non-finite value %g", v)
			}
			sum += v
		}
	}
	if !(sum > 0) {
		return nil, errors.New("kernel sums to 0")
	}
	for _, row := range k {
		for j := range row {
			row[j] /= sum
		}
	}
	return k, nil
}

// gaussianKernel is the --blur gaussian:STD shortcut: a normalised Gaussian
// PSF of side 2·⌈3·std⌉+1.
func gaussianKernel(std float64) ([][]float64, error) {
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
	return checkKernel(k)
}
