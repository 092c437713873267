package host_test

import (
	"context"
	"fmt"
	"image"

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
