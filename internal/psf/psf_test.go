package psf

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func pngBytes(t testing.TB, w, h int, v func(x, y int) uint16) []byte {
	t.Helper()
	img := image.NewGray16(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetGray16(x, y, color.Gray16{Y: v(x, y)})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want [][]float64 // nil: an error containing err
		err  string
	}{
		{name: "text", data: []byte("1 1\n2 0\n"), want: [][]float64{{0.25, 0.25}, {0.5, 0}}},
		{name: "blank lines and tabs", data: []byte("\n 1\t3 \n\n"), want: [][]float64{{0.25, 0.75}}},
		{name: "huge weights", data: []byte("1e308 1e308"), want: [][]float64{{0.5, 0.5}}},
		{name: "tiny weights", data: []byte("5e-324 5e-324"), want: [][]float64{{0.5, 0.5}}},
		{name: "png", data: pngBytes(t, 2, 1, func(x, _ int) uint16 { return uint16(1000 * (x + 1)) }), want: [][]float64{{1.0 / 3, 2.0 / 3}}},
		{name: "empty", data: nil, err: "empty"},
		{name: "word", data: []byte("1 x\n"), err: `line 1: "x" is not a number`},
		{name: "ragged", data: []byte("1 1\n1\n"), err: "line 2 has 1 values"},
		{name: "negative", data: []byte("-1 2"), err: "negative or non-finite value -1"},
		{name: "NaN", data: []byte("NaN 1"), err: "non-finite value NaN"},
		{name: "Inf", data: []byte("1 +Inf"), err: "non-finite value +Inf"},
		{name: "zeros", data: []byte("0 0\n0 0"), err: "sums to 0"},
		{name: "too wide", data: []byte(strings.Repeat("1 ", 256)), err: "over the limit of 255x255"},
		{name: "too tall", data: []byte(strings.Repeat("1\n", 256)), err: "over the limit of 255x255"},
		{name: "png too big", data: pngBytes(t, 256, 1, func(int, int) uint16 { return 1 }), err: "kernel is 256x1, over the limit"},
		{name: "corrupt png", data: []byte("\x89PNG\r\n\x1a\nrest"), err: "corrupt PNG kernel"},
		{name: "black png", data: pngBytes(t, 3, 3, func(int, int) uint16 { return 0 }), err: "sums to 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := Parse(tc.data)
			if tc.want == nil {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, %v; want an error with %q", k, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(k) != len(tc.want) {
				t.Fatalf("%d rows, want %d", len(k), len(tc.want))
			}
			for i := range k {
				for j := range k[i] {
					if math.Abs(k[i][j]-tc.want[i][j]) > 1e-12 {
						t.Fatalf("k = %v, want %v", k, tc.want)
					}
				}
			}
		})
	}
}

func TestGaussian(t *testing.T) {
	k, err := Gaussian(1.5)
	if err != nil {
		t.Fatal(err)
	}
	if len(k) != 11 || len(k[0]) != 11 {
		t.Fatalf("%dx%d, want 11x11", len(k), len(k[0]))
	}
	var sum, my, vy float64
	for i, row := range k {
		for j, v := range row {
			sum += v
			my += v * float64(i-5)
			vy += v * float64(i-5) * float64(i-5)
			if v != k[j][i] {
				t.Fatal("not symmetric")
			}
		}
	}
	if math.Abs(sum-1) > 1e-12 || math.Abs(my) > 1e-12 || math.Abs(vy-2.25) > 0.01 {
		t.Fatalf("sum %g, mean %g, variance %g; want 1, 0, 2.25", sum, my, vy)
	}
	for _, std := range []float64{0, -1, 41, math.NaN()} {
		if _, err := Gaussian(std); err == nil {
			t.Errorf("Gaussian(%g) accepted", std)
		}
	}
}

func TestRead(t *testing.T) {
	k, err := Read(filepath.Join("..", "..", "fixtures", "kernels", "motion15.png"))
	if err != nil {
		t.Fatal(err)
	}
	if len(k) != 15 || len(k[0]) != 15 {
		t.Fatalf("motion15.png is %dx%d, want 15x15", len(k), len(k[0]))
	}
	if _, err := Read(filepath.Join(t.TempDir(), "missing.txt")); !os.IsNotExist(err) {
		t.Fatalf("missing file: %v", err)
	}
}

// Every input gives a kernel within the limits, normalised, or an error;
// never a panic. `make fuzz` runs the engine for a bounded time.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"motion15.txt", "motion15.png"} {
		if data, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "kernels", name)); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("0.25 0.25\n0.25 0.25\n"))
	f.Add([]byte("1e308 1e308\nNaN 1\n"))
	f.Add([]byte("-1 2\n"))
	f.Add(pngBytes(f, 3, 2, func(x, y int) uint16 { return uint16(x * y * 999) }))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := Parse(data)
		if err != nil {
			return
		}
		if len(k) == 0 || len(k) > MaxSide || len(k[0]) == 0 || len(k[0]) > MaxSide {
			t.Fatalf("accepted a kernel of %d rows", len(k))
		}
		var sum float64
		for _, row := range k {
			if len(row) != len(k[0]) {
				t.Fatal("accepted a ragged kernel")
			}
			for _, v := range row {
				if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("accepted the weight %g", v)
				}
				sum += v
			}
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Fatalf("kernel sums to %g, want 1", sum)
		}
	})
}

func ExampleParse() {
	k, err := Parse([]byte("1 2 1\n2 4 2\n1 2 1\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(k[1][1], k[0][0])
	_, err = Parse([]byte("1 -2"))
	fmt.Println(err)
	// Output:
	// 0.25 0.0625
	// kernel has a negative or non-finite value -2
}

// TestShapes checks the made kernels' size, sum, symmetry and shape, and
// that bad shortcuts are refused.
func TestShapes(t *testing.T) {
	for _, tc := range []struct {
		shortcut string
		h, w     int
		centre   float64 // the centre tap, 0: not checked
	}{
		{"gaussian:1.5", 11, 11, 0},
		{"disk:4", 9, 9, 1 / (math.Pi * 16)},
		{"disk:0.5", 1, 1, 1},
		{"disk:0.1", 1, 1, 1},
		{"motion:0.4", 1, 1, 1},
		{"disk:6", 13, 13, 1 / (math.Pi * 36)},
		{"motion:7", 1, 7, 1.0 / 7},
		{"motion:7@0", 1, 7, 1.0 / 7},
		{"motion:9@90", 9, 1, 1.0 / 9},
		{"motion:11@30", 7, 11, 0},
		{"motion:11@-45", 9, 9, 0},
		{"motion:1", 1, 1, 1},
	} {
		t.Run(tc.shortcut, func(t *testing.T) {
			k, err := Shortcut(tc.shortcut)
			if err != nil {
				t.Fatal(err)
			}
			if len(k) != tc.h || len(k[0]) != tc.w {
				t.Fatalf("%dx%d, want %dx%d", len(k), len(k[0]), tc.h, tc.w)
			}
			sum := 0.0
			for i, row := range k {
				for j, v := range row {
					sum += v
					if m := k[tc.h-1-i][tc.w-1-j]; math.Abs(v-m) > 1e-12 {
						t.Fatalf("not point-symmetric: [%d][%d] %g, its mirror %g", i, j, v, m)
					}
				}
			}
			if math.Abs(sum-1) > 1e-12 {
				t.Fatalf("sums to %g", sum)
			}
			if c := k[tc.h/2][tc.w/2]; tc.centre != 0 && math.Abs(c-tc.centre) > 0.02*tc.centre {
				t.Fatalf("centre tap %g, want %g", c, tc.centre)
			}
		})
	}
	// The 30° line climbs to the right: its top row's weight is at the right.
	k, _ := Line(11, 30)
	if k[0][0] != 0 || k[0][len(k[0])-1] == 0 {
		t.Errorf("a 30° line's top row is %v, want it empty at the left and set at the right", k[0])
	}
	for _, s := range []string{"", "gaussian", "gaussian:x", "gaussian:0", "disk:0", "disk:-1", "disk:101", "box:3",
		"motion:", "motion:0", "motion:300", "motion:5@", "motion:5@x", "motion:5@NaN", "motion:NaN", "disk:Inf"} {
		if k, err := Shortcut(s); err == nil {
			t.Errorf("Shortcut(%q) accepted: %dx%d", s, len(k), len(k[0]))
		}
	}
}

func ExampleShortcut() {
	k, err := Shortcut("motion:5")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(k)
	_, err = Shortcut("disk")
	fmt.Println(err)
	// Output:
	// [[0.2 0.2 0.2 0.2 0.2]]
	// "disk" is not a blur shortcut: want gaussian:STD, disk:RADIUS or motion:LENGTH[@ANGLE], e.g. disk:4
}

// FuzzShortcut: whatever --blur a user types, Shortcut refuses it or
// returns a kernel within MaxSide, of finite non-negative weights that sum
// to 1.
func FuzzShortcut(f *testing.F) {
	for _, s := range []string{"gaussian:3", "disk:4", "motion:11@30", "motion:255", "disk:100", "motion:7@-90", "disk:1e-300"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := Shortcut(s)
		if err != nil {
			return
		}
		if len(k) == 0 || len(k) > MaxSide || len(k[0]) == 0 || len(k[0]) > MaxSide {
			t.Fatalf("%q: a kernel of %d rows, the first of %d", s, len(k), len(k[0]))
		}
		sum := 0.0
		for _, row := range k {
			if len(row) != len(k[0]) {
				t.Fatalf("%q: a ragged kernel", s)
			}
			for _, v := range row {
				if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("%q: the weight %g", s, v)
				}
				sum += v
			}
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Fatalf("%q: sums to %g", s, sum)
		}
	})
}
