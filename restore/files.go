package main

import (
	"image"

	"github.com/restorekit/restore/internal/imageio"
	"github.com/restorekit/restore/internal/psf"
)

// maxPixels bounds the images restore decodes (checked from the header);
// --max-pixels sets it.
var maxPixels int64 = 100_000_000

// readKernel reads a blur kernel file (see psf.Read).
func readKernel(path string) ([][]float64, error) { return psf.Read(path) }

// readImage decodes a PNG, JPEG or TIFF file upright (see imageio.Read),
// checking its size against maxPixels from the header first.
func readImage(path string) (image.Image, error) {
	im, err := imageio.Read(path, maxPixels)
	if err != nil {
		return nil, err
	}
	return im.Pix, nil
}
