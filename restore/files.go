package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// maxPixels bounds the images restore decodes (checked from the header);
// the fuzz tests lower it.
var maxPixels int64 = 100_000_000

// maxKernelSide bounds a blur kernel's width and height.
const maxKernelSide = 255

// readImage decodes a PNG or JPEG file, checking its size from the header first.
func readImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cfg, format, err := image.DecodeConfig(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("not a readable PNG or JPEG image (%v)", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("image has no pixels (%dx%d)", cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, fmt.Errorf("image is %dx%d, over the limit of %d pixels", cfg.Width, cfg.Height, maxPixels)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("corrupt %s image (%v)", format, err)
	}
	return img, nil
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

// outputFormat returns the encoder for an output path's extension.
func outputFormat(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		return "png", nil
	case ".jpg", ".jpeg":
		return "jpeg", nil
	}
	return "", fmt.Errorf("unknown output format %q (use .png, .jpg or .jpeg)", filepath.Ext(path))
}

// writeImage writes img atomically: to a temporary file beside path, renamed
// over it only once complete, so no half-written file is ever left.
func writeImage(path, format string, img image.Image) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w := bufio.NewWriter(tmp)
	switch format {
	case "png":
		err = png.Encode(w, img)
	case "jpeg":
		err = jpeg.Encode(w, img, &jpeg.Options{Quality: 95})
	default:
		err = fmt.Errorf("unknown format %q", format)
	}
	if err != nil {
		return err
	}
	if err = w.Flush(); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
