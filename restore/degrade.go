package main

import (
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/restorekit/restore/host"
	"github.com/restorekit/restore/internal/imageio"
	"github.com/restorekit/restore/internal/psf"
	"github.com/restorekit/restore/sdk"
	"github.com/restorekit/restore/sdk/operator"
)

// runDegrade makes a synthetic degraded image from a clean one, so anyone can
// try restore on their own photos and measure what it recovers.
func runDegrade(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("degrade", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var task, kernel, blur, output string
	var noise, missing float64
	var box, scale int
	var seed uint64
	var force bool
	fs.StringVar(&task, "task", "", "degradation: denoise (add noise), deblur (blur, then noise), inpaint (remove pixels) or sr (shrink, then noise)")
	fs.IntVar(&scale, "scale", 0, "sr: shrink factor (2 to 8), bicubic with antialiasing; the sides are first cropped to multiples of it")
	fs.StringVar(&kernel, "kernel", "", "blur kernel for deblur (gray PNG or text matrix)")
	fs.StringVar(&blur, "blur", "", "blur shortcut for deblur: "+psf.ShortcutHelp+" (pixels, degrees), e.g. disk:4")
	fs.Float64Var(&noise, "noise", 0, "Gaussian noise std to add, in 8-bit levels")
	fs.Float64Var(&missing, "missing", 0.7, "inpaint: share of pixels to remove at random")
	fs.IntVar(&box, "box", 0, "inpaint: remove one centred square of this side instead of random pixels")
	fs.Uint64Var(&seed, "seed", 1, "random seed")
	fs.StringVarP(&output, "output", "o", "", "degraded image (.png, .jpg, .tif; in the clean image's form); inpaint also writes OUTPUT's name + .mask.png, deblur --blur + .kernel.txt")
	fs.BoolVarP(&force, "force", "f", false, "overwrite existing files")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: restore degrade --task TASK [flags] CLEAN -o DEGRADED\n\nExamples:\n  restore degrade --task denoise --noise 25 photo.png -o noisy.png\n  restore degrade --task deblur --blur gaussian:3 --noise 2.55 photo.png -o blurred.png\n  restore degrade --task inpaint --missing 0.7 photo.png -o holes.png   (writes holes.mask.png)\n  restore degrade --task sr --scale 4 photo.png -o small.png\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == pflag.ErrHelp {
			return errHelp
		}
		return usageError{err}
	}
	if fs.NArg() != 1 || output == "" {
		fs.Usage()
		return usagef("degrade: want one CLEAN image and -o DEGRADED")
	}
	if noise < 0 || noise > 255 || missing < 0 || missing > 1 {
		return usagef("degrade: --noise must be in [0, 255] and --missing in [0, 1]")
	}
	if _, err := imageio.FormatFromPath(output); err != nil {
		return usagef("%s: %v", output, err)
	}
	stem := strings.TrimSuffix(output, filepath.Ext(output))
	extra := map[string]bool{}
	switch task {
	case "inpaint":
		extra[stem+".mask.png"] = true
	case "deblur":
		if blur != "" {
			extra[stem+".kernel.txt"] = true
		}
	}
	for _, p := range append([]string{output}, keys(extra)...) {
		if _, err := os.Stat(p); err == nil && !force {
			return usagef("%s already exists (use --force to overwrite it)", p)
		}
	}
	in, err := imageio.Read(fs.Arg(0), maxPixels)
	if err != nil {
		return usagef("%s: %v", fs.Arg(0), err)
	}
	x := host.TensorFromImage(in.Pix)
	rng := sdk.NewRNG(seed)
	switch task {
	case "denoise":
	case "deblur":
		var k [][]float64
		switch {
		case kernel != "":
			if k, err = readKernel(kernel); err != nil {
				return usagef("%s: %v", kernel, err)
			}
		case blur != "":
			if k, err = psf.Shortcut(blur); err != nil {
				return usagef("--blur: %v", err)
			}
			if err := writeKernelText(stem+".kernel.txt", k); err != nil {
				return err
			}
		default:
			return usagef("degrade --task deblur needs --kernel FILE or --blur %s", psf.ShortcutHelp)
		}
		op, err := operator.NewBlur(kernelTensor(k), x.H, x.W)
		if err != nil {
			return usagef("%v", err)
		}
		x = op.Apply(x)
	case "inpaint":
		mask := image.NewGray(image.Rect(0, 0, x.W, x.H))
		for i := range mask.Pix {
			if box == 0 && rng.Float() < missing {
				mask.Pix[i] = 255
			}
		}
		if box > 0 {
			y0, x0 := (x.H-box)/2, (x.W-box)/2
			for y := max(y0, 0); y < min(y0+box, x.H); y++ {
				for xx := max(x0, 0); xx < min(x0+box, x.W); xx++ {
					mask.Pix[y*x.W+xx] = 255
				}
			}
		}
		n := x.H * x.W
		for i := 0; i < n; i++ {
			if mask.Pix[i] != 0 {
				for c := 0; c < x.C; c++ {
					x.Data[c*n+i] = -1 // black: the value under the mask is ignored
				}
			}
		}
		if err := imageio.Write(stem+".mask.png", mask, nil); err != nil {
			return err
		}
	case "sr":
		if scale < 2 || scale > host.MaxScale {
			return usagef("degrade --task sr needs --scale 2 to %d (got %d)", host.MaxScale, scale)
		}
		h, w := x.H/scale*scale, x.W/scale*scale
		if h == 0 || w == 0 {
			return usagef("%s: a %dx%d image is too small to shrink %d-fold", fs.Arg(0), x.W, x.H, scale)
		}
		op, err := operator.NewDownsample(scale, h, w)
		if err != nil {
			return usagef("%v", err)
		}
		x = op.Apply(cropTensor(x, h, w))
	default:
		return usagef("degrade: --task must be denoise, deblur, inpaint or sr")
	}
	if noise > 0 {
		s := noise / 127.5
		if in.Gray {
			// A gray photo's noise is gray: one draw per pixel for all three
			// channels, so the gray output has the std asked for.
			n := x.H * x.W
			for i := 0; i < n; i++ {
				v := float32(s * rng.Normal())
				for c := 0; c < x.C; c++ {
					x.Data[c*n+i] += v
				}
			}
		} else {
			for i := range x.Data {
				x.Data[i] += float32(s * rng.Normal())
			}
		}
	}
	// The degraded image takes the clean one's form: bit depth, gray, alpha
	// (resized with it for sr), EXIF and ICC profile.
	out := image.Image(host.ImageFromTensor(x))
	if in.Depth16 {
		out = host.ImageFromTensor16(x)
	}
	if err := imageio.Write(output, out, in); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s", output)
	for _, p := range keys(extra) {
		fmt.Fprintf(stdout, " and %s", p)
	}
	fmt.Fprintln(stdout)
	return nil
}

// cropTensor returns the top-left h×w of x.
func cropTensor(x *sdk.Tensor, h, w int) *sdk.Tensor {
	if h == x.H && w == x.W {
		return x
	}
	out := sdk.NewTensor(x.C, h, w)
	for c := 0; c < x.C; c++ {
		for y := 0; y < h; y++ {
			copy(out.Data[(c*h+y)*w:(c*h+y+1)*w], x.Data[(c*x.H+y)*x.W:(c*x.H+y)*x.W+w])
		}
	}
	return out
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func writeKernelText(path string, k [][]float64) error {
	var b strings.Builder
	for _, row := range k {
		for j, v := range row {
			if j > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.FormatFloat(v, 'e', 9, 64))
		}
		b.WriteByte('\n')
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
