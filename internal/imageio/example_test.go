package imageio_test

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log"
	"os"
	"path/filepath"

	"github.com/restorekit/restore/internal/imageio"
)

// A 16-bit gray photo in, a restoration (here: the pixels made brighter,
// in colour, as a model gives them back) out: the output is 16-bit gray
// again, like the input.
func Example() {
	dir, err := os.MkdirTemp("", "imageio-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	photo := image.NewGray16(image.Rect(0, 0, 4, 3))
	photo.SetGray16(1, 1, color.Gray16{Y: 0x1234})
	f, err := os.Create(filepath.Join(dir, "in.png"))
	if err != nil {
		log.Fatal(err)
	}
	if err := png.Encode(f, photo); err != nil {
		log.Fatal(err)
	}
	f.Close()

	in, err := imageio.Read(filepath.Join(dir, "in.png"), 100_000_000)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(in.Format, "16-bit:", in.Depth16, "gray:", in.Gray, "alpha:", in.Alpha != nil)

	restored := image.NewNRGBA64(in.Pix.Bounds())
	restored.SetNRGBA64(1, 1, color.NRGBA64{R: 0x2345, G: 0x2345, B: 0x2345, A: 0xffff})
	if err := imageio.Write(filepath.Join(dir, "out.png"), restored, in); err != nil {
		log.Fatal(err)
	}

	out, err := imageio.Read(filepath.Join(dir, "out.png"), 100_000_000)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%T %#04x\n", out.Pix, out.Pix.(*image.Gray16).Gray16At(1, 1).Y)
	// Output:
	// png 16-bit: true gray: true alpha: false
	// *image.Gray16 0x2345
}
