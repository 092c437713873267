package host_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"

	"github.com/restorekit/restore/host"
)

// Restore an image.Image with the built-in model and plugins, watching progress.
func ExampleHost_Restore() {
	h, err := host.Open(host.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()

	img := image.NewGray(image.Rect(0, 0, 48, 32)) // stands in for a noisy photo
	for i := range img.Pix {
		img.Pix[i] = uint8(100 + 50*(i%7)/7)
	}
	evals := 0
	res, err := h.Restore(context.Background(), host.Request{
		Task:     host.Denoise,
		Image:    img,
		Noise:    10, // 8-bit levels; -1 estimates it
		Steps:    5,
		Progress: func(p host.Progress) { evals = p.Evaluation },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Image.Bounds().Size(), evals, "evaluations with", res.Solver, "and", res.Guidance)
	// Output: (48,32) 5 evaluations with ddim and none
}

// Stop a restoration from its progress callback (or from anywhere, through
// the context): Restore returns within one network evaluation with an error
// that errors.Is recognises as context.Canceled.
func ExampleHost_Restore_cancel() {
	h, err := host.Open(host.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	_, err = h.Restore(ctx, host.Request{
		Task: host.Denoise, Image: img, Noise: 25, Steps: 100, StartSigma: 0.5,
		Progress: func(p host.Progress) {
			if p.Evaluation == 3 {
				cancel()
			}
		},
	})
	fmt.Println(errors.Is(err, context.Canceled))
	// Output: true
}

// Choose a preset and draw several posterior samples: Std says per pixel how
// much they disagree.
func ExampleHost_Restore_samples() {
	h, err := host.Open(host.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()

	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	mask := image.NewGray(img.Bounds())
	for i := range mask.Pix {
		if i%3 == 0 {
			mask.Pix[i] = 255 // a third of the pixels missing
		}
	}
	res, err := h.Restore(context.Background(), host.Request{
		Task: host.Inpaint, Image: img, Mask: mask, Noise: 0, Method: "dpir", Steps: 4, Samples: 3,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// dpir is an optimiser: the result is its own estimate (4 steps), and
	// the three samples are drawn beside it by its re-noised iteration (3
	// steps each, 13 evaluations in all); the map is their spread about it.
	fmt.Println(res.Method, res.Evaluations, "evaluations;", host.StdImage(res.Std).Bounds().Size(), "spread map; beside:", res.SamplesBeside)
	// Output: dpir 13 evaluations; (32,32) spread map; beside: true
}

// Fill a large hole: the default inpainting method gives a hole with
// pixels 8 or more from any known one the texture stage (a sample's fine
// detail deep inside it, for 40 evaluations more); Texture: host.Off keeps
// the smooth fill.
func ExampleHost_Restore_texture() {
	h, err := host.Open(host.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()

	img := image.NewRGBA(image.Rect(0, 0, 64, 48)) // stands in for a photo
	for i := range img.Pix {
		img.Pix[i] = uint8(60 + 40*(i%11)/11)
	}
	mask := image.NewGray(img.Bounds()) // nonzero = missing: a 24×24 hole
	for y := 12; y < 36; y++ {
		for x := 20; x < 44; x++ {
			mask.Pix[y*mask.Stride+x] = 255
		}
	}
	for _, texture := range []host.Choice{host.ByMethod, host.Off} {
		res, err := h.Restore(context.Background(), host.Request{Task: host.Inpaint, Image: img, Mask: mask, Noise: 0, Texture: texture})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s: textured %v, %d evaluations\n", res.Method, res.Textured, res.Evaluations)
	}
	// Output:
	// dpir: textured true, 50 evaluations
	// dpir: textured false, 40 evaluations
}

// Use third-party plugins from a directory of your own; they must have been
// installed there (host.InstallPlugin, or `restore plugins install`), which
// records the checksum restore checks before starting them.
func ExampleConfig_pluginDir() {
	dir, err := os.MkdirTemp("", "plugins")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	h, err := host.Open(host.Config{PluginDir: dir})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()
	list, errs := h.Plugins()
	fmt.Println(len(list) > 0, len(errs)) // the built-ins, and nothing refused
	// Output: true 0
}
