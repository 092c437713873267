package host

import (
	"context"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/restorekit/restore/sdk"
)

// BenchmarkDenoise measures one evaluation of the default score model with
// two ONNX Runtime threads, the figure the model card reports:
//
//	go test ./host -run '^$' -bench Denoise -benchtime 10x
//
// The name carries the device that ran it (RESTORE_DEVICE picks one, default
// auto); 1024×1024 goes through the network as nine 384² tiles (see tileSide).
func BenchmarkDenoise(b *testing.B) {
	h := openHost(b, Config{Threads: 2, Device: os.Getenv("RESTORE_DEVICE")})
	for _, side := range []int{256, 512, 1024} {
		b.Run(fmt.Sprintf("%s/%dx%d", h.Device(), side, side), func(b *testing.B) {
			x := sdk.NewRNG(1).Noise(3, side, side, 0.5)
			ctx := context.Background()
			if _, err := h.model.denoise(ctx, x, 0.2); err != nil { // warm-up: first run plans kernels
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := h.model.denoise(ctx, x, 0.2); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRestore measures a whole 512×512 restoration per task with the
// default method in process (super-resolution: 256×256 up to 512×512), and
// the share of its time spent outside the network, in the steady state
// (after warmUp) and in the task's first restoration:
//
//	go test ./host -run '^$' -bench Restore -benchtime 2x
func BenchmarkRestore(b *testing.B) {
	h := openHost(b, Config{Threads: 2})
	small := readPNG(b, fixtures+"/images/flower.png")
	img := tiled(small, 512, 512)
	holes := readPNG(b, fixtures+"/images/flower-holes.mask.png")
	mask := tiled(holes, 512, 512)
	kernel := readKernelText(b, fixtures+"/kernels/motion15.txt")
	for _, req := range []Request{
		{Task: Denoise, Noise: 25, Image: img},
		{Task: Deblur, Noise: 2.55, Kernel: kernel, Image: img},
		{Task: Inpaint, Mask: mask, Image: img},
		{Task: SR, Scale: 2, Image: small},
	} {
		var first *Result // the task's first restoration in this process
		b.Run(string(req.Task), func(b *testing.B) {
			if res := warmUp(b, h, req); first == nil {
				first = &res
			}
			var total, network time.Duration
			n := 0
			for b.Loop() {
				n++
				res, err := h.Restore(context.Background(), req)
				if err != nil {
					b.Fatal(err)
				}
				total += res.Elapsed
				network += res.NetworkTime
			}
			b.ReportMetric(100*(1-float64(network)/float64(total)), "%outside-network")
			b.ReportMetric(float64((total-network).Microseconds())/1000/float64(n), "ms-outside/op")
			b.ReportMetric(100*(1-float64(first.NetworkTime)/float64(first.Elapsed)), "%outside-first")
		})
	}
}

// warmUp restores req untimed until the process (and a plugin's) has grown
// its heap to the working size of a restoration, and returns the first of
// those restorations. The first restorations fault in fresh memory, and on
// a virtual machine a page fault can cost ~12 µs (3 ms per megabyte,
// measured on the 2-core machine): enough to swing a benchmark of the
// steady state, what a batch or a photo tool's host sees from its second
// photo on. The first restoration's cost is reported beside it.
func warmUp(b *testing.B, h *Host, req Request) (first Result) {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	for i := range warmUps {
		res, err := h.Restore(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			first = res
		}
	}
	return first
}

// warmUps is how many untimed restorations warmUp runs: a plugin process's
// heap grows over about three 512² restorations (GOGC=400, see
// sdk/gc.go) before it stops faulting in pages.
const warmUps = 3

// tiled repeats img to fill a w×h image.
func tiled(img image.Image, w, h int) image.Image {
	r := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			out.Set(x, y, img.At(r.Min.X+x%r.Dx(), r.Min.Y+y%r.Dy()))
		}
	}
	return out
}

// BenchmarkScaling restores growing images with the default denoising and
// deblurring methods; ns/Mpx (time per megapixel) should stay flat once the
// network runs in tiles:
//
//	go test ./host -run '^$' -bench Scaling -benchtime 1x
func BenchmarkScaling(b *testing.B) {
	h := openHost(b, Config{Threads: 2, Device: os.Getenv("RESTORE_DEVICE")})
	small := readPNG(b, fixtures+"/images/flower-blurred.png")
	kernel := readKernelText(b, fixtures+"/kernels/motion15.txt")
	for _, req := range []Request{{Task: Denoise, Noise: 25}, {Task: Deblur, Noise: 2.55, Kernel: kernel}} {
		for _, side := range []int{512, 1024, 2048} {
			b.Run(fmt.Sprintf("%s/%dx%d", req.Task, side, side), func(b *testing.B) {
				img := image.NewNRGBA(image.Rect(0, 0, side, side))
				for y := 0; y < side; y++ {
					for x := 0; x < side; x++ {
						img.Set(x, y, small.At(x%256, y%256))
					}
				}
				req.Image = img
				for i := 0; i < b.N; i++ {
					if _, err := h.Restore(context.Background(), req); err != nil {
						b.Fatal(err)
					}
				}
				mpx := float64(side*side) / 1e6
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/mpx, "ns/Mpx")
			})
		}
	}
}

// BenchmarkSamples compares K posterior samples batched through the network
// (Request.Samples) with K separate restorations, on a 256×256 inpainting:
//
//	go test ./host -run '^$' -bench Samples -benchtime 3x
func BenchmarkSamples(b *testing.B) {
	h := openHost(b, Config{Threads: 2})
	img := readPNG(b, fixtures+"/images/flower-holes.png")
	mask := readPNG(b, fixtures+"/images/flower-holes.mask.png")
	const k = 4
	req := Request{Task: Inpaint, Image: img, Mask: mask, Noise: 0, Steps: 10}
	b.Run(fmt.Sprintf("batched-%d", k), func(b *testing.B) {
		r := req
		r.Samples = k
		for i := 0; i < b.N; i++ {
			if _, err := h.Restore(context.Background(), r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(fmt.Sprintf("separate-%d", k), func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for s := range k {
				r := req
				r.Seed = uint64(s)
				if _, err := h.Restore(context.Background(), r); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// BenchmarkOutOfProcess restores a 512×512 photo (deblurring, 20
// evaluations of DDIM + DiffPIR) with the built-in plugins in process and
// with the same code out of process (fixtures/plugins/oop), after warmUp
// each way, alternating the two within each iteration so that both see
// the same machine. It reports seconds per restoration each way, how much
// slower out of process is (over all iterations, and the median of the
// iterations' own ratios, which a swing of the machine's speed within the
// run moves less: this VM's swings by tens of percent within minutes), and
// each one's share of time outside the network:
//
//	go test ./host -run '^$' -bench OutOfProcess -benchtime 10x
func BenchmarkOutOfProcess(b *testing.B) {
	dir := b.TempDir()
	for _, name := range []string{"ddim", "diffpir"} {
		src := filepath.Join(b.TempDir(), "oop-"+name)
		cmd := exec.Command("go", "build", "-ldflags", "-X main.name="+name, "-o", src, "../fixtures/plugins/oop")
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		if _, err := InstallPlugin(src, dir, false); err != nil {
			b.Fatal(err)
		}
	}
	h := openHost(b, Config{Threads: 2, PluginDir: dir})
	img := tiled(readPNG(b, fixtures+"/images/flower-blurred.png"), 512, 512)
	kernel := readKernelText(b, fixtures+"/kernels/motion15.txt")
	req := func(solver, guidance string) Request {
		return Request{Task: Deblur, Image: img, Kernel: kernel, Noise: 2.55, Method: "diffpir",
			Solver: solver, Guidance: guidance, Steps: 20}
	}
	ways := []Request{req("ddim", "diffpir"), req("oop-ddim", "oop-diffpir")}
	for _, r := range ways { // start the plugin processes, grow their heaps
		warmUp(b, h, r)
	}
	var total, network [2]time.Duration
	var slower []float64 // per iteration, out of process against in process
	n := 0
	for b.Loop() {
		n++
		var t [2]time.Duration
		for w, r := range ways {
			res, err := h.Restore(context.Background(), r)
			if err != nil {
				b.Fatal(err)
			}
			t[w] = res.Elapsed
			total[w] += res.Elapsed
			network[w] += res.NetworkTime
		}
		slower = append(slower, 100*(float64(t[1])/float64(t[0])-1))
	}
	slices.Sort(slower)
	b.ReportMetric(slower[len(slower)/2], "%slower-out-median")
	nf := float64(n)
	b.ReportMetric(total[0].Seconds()/nf, "s/in-process")
	b.ReportMetric(total[1].Seconds()/nf, "s/out-of-process")
	b.ReportMetric(100*(float64(total[1])/float64(total[0])-1), "%slower-out")
	b.ReportMetric(100*(1-float64(network[0])/float64(total[0])), "%outside-network-in")
	b.ReportMetric(100*(1-float64(network[1])/float64(total[1])), "%outside-network-out")
}

// BenchmarkEstimateNoise measures the noise estimate a restoration without
// a given level starts with (Chen et al.'s patch eigenvalues; Donoho's rule,
// which it replaced, for comparison), on a benchmark-sized photo and a
// 12-megapixel one, where the patches read are thinned to the same number:
//
//	go test ./host -run '^$' -bench EstimateNoise -benchmem
func BenchmarkEstimateNoise(b *testing.B) {
	photo := TensorFromImage(readPNG(b, fixtures+"/images/flower.png"))
	for _, size := range [][2]int{{481, 321}, {4000, 3000}} {
		x := TensorFromImage(tiled(ImageFromTensor(photo), size[0], size[1]))
		noise := sdk.NewRNG(1).Noise(x.C, x.H, x.W, 10/127.5)
		for i := range x.Data {
			x.Data[i] += noise.Data[i]
		}
		for _, est := range []struct {
			name string
			f    func(t, o *sdk.Tensor) float64
		}{{"patches", EstimateNoise}, {"haar", haarNoise}} {
			b.Run(fmt.Sprintf("%s/%dx%d", est.name, size[0], size[1]), func(b *testing.B) {
				for b.Loop() {
					est.f(x, nil)
				}
			})
		}
	}
}
