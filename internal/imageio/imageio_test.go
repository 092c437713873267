package imageio

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disintegration/imaging"
	"golang.org/x/image/tiff"
)

// The test files are made here with Go's encoders; the metadata of the
// inputs is put in by hand (independently of meta.go's writers), and the
// outputs' chunks and segments are checked by hand too.

const limit = 1 << 24

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func encode(t *testing.T, format string, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, img)
	case "jpeg":
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 100})
	case "tiff":
		err = tiff.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func read(t *testing.T, path string) *Image {
	t.Helper()
	im, err := Read(path, limit)
	if err != nil {
		t.Fatalf("Read %s: %v", filepath.Base(path), err)
	}
	return im
}

func mustWrite(t *testing.T, path string, img image.Image, like *Image) {
	t.Helper()
	if err := Write(path, img, like); err != nil {
		t.Fatalf("Write %s: %v", filepath.Base(path), err)
	}
}

// handEXIF is a minimal EXIF payload: a TIFF header and IFD0 holding
// Orientation (SHORT) and Make (ASCII "Go", inline), in either byte order.
func handEXIF(bigEndian bool, orientation uint16) []byte {
	var o binary.AppendByteOrder = binary.LittleEndian
	b := []byte("II*\x00")
	if bigEndian {
		o, b = binary.BigEndian, []byte("MM\x00*")
	}
	b = o.AppendUint32(b, 8) // IFD0 offset
	b = o.AppendUint16(b, 2) // entries
	b = o.AppendUint16(b, 0x010f)
	b = o.AppendUint16(b, 2) // ASCII
	b = o.AppendUint32(b, 3)
	b = append(b, 'G', 'o', 0, 0)
	b = o.AppendUint16(b, 0x0112)
	b = o.AppendUint16(b, 3) // SHORT
	b = o.AppendUint32(b, 1)
	b = o.AppendUint16(b, orientation)
	b = append(b, 0, 0)
	return o.AppendUint32(b, 0) // no IFD1
}

// exifOrientationByHand reads handEXIF's layout back.
func exifOrientationByHand(t *testing.T, exif []byte) uint16 {
	t.Helper()
	var o binary.ByteOrder = binary.LittleEndian
	if exif[0] == 'M' {
		o = binary.BigEndian
	}
	for i := 0; i < int(o.Uint16(exif[8:])); i++ {
		e := exif[10+12*i:]
		if o.Uint16(e) == 0x0112 {
			return o.Uint16(e[8:])
		}
	}
	t.Fatal("no orientation tag")
	return 0
}

func handChunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// pngWithMeta puts eXIf and iCCP chunks after IHDR of an encoded PNG.
func pngWithMeta(data, exif, icc []byte) []byte {
	out := append([]byte(nil), data[:33]...)
	if icc != nil {
		var z bytes.Buffer
		z.WriteString("test\x00\x00")
		zw := zlib.NewWriter(&z)
		zw.Write(icc)
		zw.Close()
		out = append(out, handChunk("iCCP", z.Bytes())...)
	}
	if exif != nil {
		out = append(out, handChunk("eXIf", exif)...)
	}
	return append(out, data[33:]...)
}

// jpegWithMeta puts an APP1 EXIF segment and APP2 ICC segments (of at most
// chunk bytes of profile each) after SOI of an encoded JPEG.
func jpegWithMeta(data, exif, icc []byte, chunk int) []byte {
	out := append([]byte(nil), data[:2]...)
	seg := func(marker byte, payload []byte) {
		out = append(out, 0xff, marker)
		out = binary.BigEndian.AppendUint16(out, uint16(len(payload)+2))
		out = append(out, payload...)
	}
	if exif != nil {
		seg(0xe1, append([]byte("Exif\x00\x00"), exif...))
	}
	total := (len(icc) + chunk - 1) / chunk
	for i := 0; i < total; i++ {
		p := append([]byte("ICC_PROFILE\x00"), byte(i+1), byte(total))
		seg(0xe2, append(p, icc[i*chunk:min((i+1)*chunk, len(icc))]...))
	}
	return append(out, data[2:]...)
}

// pngChunks lists a PNG file's chunks in order, checking each CRC.
func pngChunks(t *testing.T, data []byte) (types []string, payload map[string][]byte) {
	t.Helper()
	if !bytes.HasPrefix(data, []byte(pngSignature)) {
		t.Fatal("no PNG signature")
	}
	payload = map[string][]byte{}
	for p := data[8:]; len(p) >= 12; {
		n := int(binary.BigEndian.Uint32(p))
		typ, d := string(p[4:8]), p[8:8+n]
		if crc32.ChecksumIEEE(p[4:8+n]) != binary.BigEndian.Uint32(p[8+n:]) {
			t.Fatalf("%s chunk: bad CRC", typ)
		}
		types = append(types, typ)
		payload[typ] = d
		p = p[12+n:]
	}
	return types, payload
}

type segment struct {
	marker byte
	data   []byte
}

// jpegSegments lists a JPEG file's marker segments up to SOS.
func jpegSegments(t *testing.T, data []byte) []segment {
	t.Helper()
	if !bytes.HasPrefix(data, []byte{0xff, 0xd8}) {
		t.Fatal("no SOI")
	}
	var segs []segment
	for p := data[2:]; len(p) >= 4 && p[0] == 0xff && p[1] != 0xda; {
		n := int(binary.BigEndian.Uint16(p[2:]))
		segs = append(segs, segment{p[1], p[4 : 2+n]})
		p = p[2+n:]
	}
	return segs
}

// gradient is a w×h colour image with every pixel different, with 16-bit
// values (or 8-bit ones replicated, when eight).
func gradient(w, h int, eight bool) *image.NRGBA64 {
	img := image.NewNRGBA64(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(1, 2))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBA64{uint16(r.IntN(65536)), uint16(x * 65535 / w), uint16(y * 65535 / h), 0xffff}
			if eight {
				c.R, c.G, c.B = c.R>>8*0x101, c.G>>8*0x101, c.B>>8*0x101
			}
			img.SetNRGBA64(x, y, c)
		}
	}
	return img
}

// nrgba is img as an 8-bit *image.NRGBA, so the encoders write 8 bits.
func nrgba(img image.Image) *image.NRGBA {
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			out.Set(x, y, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return out
}

// handTIFF is an uncompressed 16-bit RGB TIFF (little-endian) of img with
// an Orientation tag and, when icc is set, an InterColorProfile; x/image/tiff
// writes neither.
func handTIFF(img *image.NRGBA64, orientation uint16, icc []byte) []byte {
	o := binary.LittleEndian
	w, h := img.Rect.Dx(), img.Rect.Dy()
	b := []byte("II*\x00\x00\x00\x00\x00")
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := img.NRGBA64At(x, y)
			b = o.AppendUint16(o.AppendUint16(o.AppendUint16(b, c.R), c.G), c.B)
		}
	}
	if len(b)%2 == 1 {
		b = append(b, 0)
	}
	bps := len(b)
	b = o.AppendUint16(o.AppendUint16(o.AppendUint16(b, 16), 16), 16)
	iccAt := len(b)
	b = append(b, icc...)
	if len(b)%2 == 1 {
		b = append(b, 0)
	}
	o.PutUint32(b[4:], uint32(len(b)))
	type entry struct {
		tag, typ     uint16
		count, value uint32
	}
	entries := []entry{
		{256, 3, 1, uint32(w)}, {257, 3, 1, uint32(h)}, {258, 3, 3, uint32(bps)}, {259, 3, 1, 1}, {262, 3, 1, 2},
		{273, 4, 1, 8}, {274, 3, 1, uint32(orientation)}, {277, 3, 1, 3}, {278, 3, 1, uint32(h)},
		{279, 4, 1, uint32(w * h * 6)},
	}
	if icc != nil {
		entries = append(entries, entry{0x8773, 7, uint32(len(icc)), uint32(iccAt)})
	}
	b = o.AppendUint16(b, uint16(len(entries)))
	for _, e := range entries {
		b = o.AppendUint16(o.AppendUint16(b, e.tag), e.typ)
		b = o.AppendUint32(o.AppendUint32(b, e.count), e.value) // SHORTs sit in the low half: little-endian
	}
	return o.AppendUint32(b, 0)
}

func sameNRGBA64(t *testing.T, want, got image.Image) {
	t.Helper()
	if want.Bounds().Size() != got.Bounds().Size() {
		t.Fatalf("size %v, want %v", got.Bounds().Size(), want.Bounds().Size())
	}
	wb, gb := want.Bounds(), got.Bounds()
	for y := 0; y < wb.Dy(); y++ {
		for x := 0; x < wb.Dx(); x++ {
			w := color.NRGBA64Model.Convert(want.At(wb.Min.X+x, wb.Min.Y+y))
			g := color.NRGBA64Model.Convert(got.At(gb.Min.X+x, gb.Min.Y+y))
			if w != g {
				t.Fatalf("pixel (%d, %d) is %v, want %v", x, y, g, w)
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	gray8 := image.NewGray(image.Rect(0, 0, 7, 5))
	gray16 := image.NewGray16(image.Rect(0, 0, 7, 5))
	for i := range gray8.Pix {
		gray8.Pix[i] = uint8(i * 7)
	}
	for i := 0; i < len(gray16.Pix); i += 2 {
		binary.BigEndian.PutUint16(gray16.Pix[i:], uint16(i*911+3))
	}
	tests := []struct {
		name, in, out string
		img           image.Image
		depth16, gray bool
		// the PNG IHDR bit depth and colour type of the output, for PNG
		bitDepth, colorType byte
	}{
		{"16-bit RGB PNG", "png", "png", gradient(9, 6, false), true, false, 16, 2},
		{"8-bit RGB PNG", "png", "png", nrgba(gradient(9, 6, true)), false, false, 8, 2},
		{"16-bit gray PNG", "png", "png", gray16, true, true, 16, 0},
		{"8-bit gray PNG", "png", "png", gray8, false, true, 8, 0},
		{"16-bit RGB TIFF", "tiff", "tiff", gradient(9, 6, false), true, false, 0, 0},
		{"16-bit gray TIFF", "tiff", "tiff", gray16, true, true, 0, 0},
		{"8-bit gray TIFF", "tiff", "tiff", gray8, false, true, 0, 0},
		{"16-bit TIFF to PNG", "tiff", "png", gradient(9, 6, false), true, false, 16, 2},
		{"16-bit gray PNG to TIFF", "png", "tiff", gray16, true, true, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := writeFile(t, "in."+tc.in, encode(t, tc.in, tc.img))
			im := read(t, in)
			if im.Format != tc.in || im.Depth16 != tc.depth16 || im.Gray != tc.gray || im.Alpha != nil || im.EXIF != nil || im.ICC != nil {
				t.Fatalf("read %s: depth16 %v gray %v alpha %v exif %v icc %v", im.Format, im.Depth16, im.Gray, im.Alpha != nil, im.EXIF, im.ICC)
			}
			sameNRGBA64(t, tc.img, im.Pix)
			// What the CLI does: the restoration comes back in colour, as
			// NRGBA64 (16-bit inputs) or NRGBA (8-bit ones).
			var restored image.Image = toNRGBA64(im.Pix)
			if !tc.depth16 {
				n := image.NewNRGBA(im.Pix.Bounds())
				for y := 0; y < n.Rect.Dy(); y++ {
					for x := 0; x < n.Rect.Dx(); x++ {
						n.Set(x, y, im.Pix.At(x, y))
					}
				}
				restored = n
			}
			out := filepath.Join(t.TempDir(), "out."+map[string]string{"png": "png", "tiff": "tif"}[tc.out])
			mustWrite(t, out, restored, im)
			back := read(t, out)
			if back.Depth16 != tc.depth16 || back.Gray != tc.gray || back.Alpha != nil {
				t.Fatalf("wrote depth16 %v gray %v alpha %v", back.Depth16, back.Gray, back.Alpha != nil)
			}
			sameNRGBA64(t, tc.img, back.Pix)
			if tc.out == "png" {
				data, _ := os.ReadFile(out)
				_, chunks := pngChunks(t, data)
				if ihdr := chunks["IHDR"]; ihdr[8] != tc.bitDepth || ihdr[9] != tc.colorType {
					t.Fatalf("IHDR bit depth %d colour type %d, want %d %d", ihdr[8], ihdr[9], tc.bitDepth, tc.colorType)
				}
			}
			if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o644 {
				t.Fatalf("output mode %v (%v), want 0644", fi.Mode(), err)
			}
		})
	}
}

func TestGray(t *testing.T) {
	dir := t.TempDir()
	gray := image.NewGray(image.Rect(0, 0, 4, 4))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 16)
	}
	for _, format := range []string{"png", "jpeg", "tiff"} {
		t.Run(format, func(t *testing.T) {
			im := read(t, writeFile(t, "in."+format, encode(t, format, gray)))
			if !im.Gray || im.Depth16 {
				t.Fatalf("gray %v depth16 %v", im.Gray, im.Depth16)
			}
			// A restoration with a little colour: written gray, as the
			// luminance 0.299 R + 0.587 G + 0.114 B.
			col := image.NewNRGBA(image.Rect(0, 0, 4, 4))
			for i := 0; i < 16; i++ {
				col.Pix[4*i], col.Pix[4*i+1], col.Pix[4*i+2], col.Pix[4*i+3] = 200, 100, 50, 255
			}
			out := filepath.Join(dir, "out."+format)
			mustWrite(t, out, col, im)
			back := read(t, out)
			if !back.Gray {
				t.Fatalf("written as %T, not gray", back.Pix)
			}
			want := uint8((19595*200*257 + 38470*100*257 + 7471*50*257 + 1<<15) >> 24) // 124
			if got := color.GrayModel.Convert(back.Pix.At(2, 2)).(color.Gray).Y; got < want-1 || got > want+1 {
				t.Fatalf("gray level %d, want the luminance %d", got, want)
			}
		})
	}
	// Gray with alpha: Go's encoders have none, so RGBA with equal channels.
	ga := writeFile(t, "ga.png", pngGrayAlpha(3, 2))
	im := read(t, ga)
	if !im.Gray || im.Alpha == nil {
		t.Fatalf("gray+alpha PNG read as gray %v alpha %v", im.Gray, im.Alpha != nil)
	}
	out := filepath.Join(dir, "ga-out.png")
	mustWrite(t, out, gradient(3, 2, true), im)
	back := read(t, out)
	for y := 0; y < 2; y++ {
		for x := 0; x < 3; x++ {
			c := color.NRGBA64Model.Convert(back.Pix.At(x, y)).(color.NRGBA64)
			if c.R != c.G || c.G != c.B || c.A != im.Alpha.Alpha16At(x, y).A {
				t.Fatalf("pixel (%d, %d) = %v: not gray, or alpha changed", x, y, c)
			}
		}
	}
}

// pngGrayAlpha is an 8-bit gray+alpha PNG (colour type 4), which Go's
// encoder cannot write.
func pngGrayAlpha(w, h int) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, 4, 0, 0, 0)
	var raw []byte
	for y := 0; y < h; y++ {
		raw = append(raw, 0) // filter: none
		for x := 0; x < w; x++ {
			raw = append(raw, uint8(40*x+y), uint8(255-60*x-10*y))
		}
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw)
	zw.Close()
	out := []byte(pngSignature)
	out = append(out, handChunk("IHDR", ihdr)...)
	out = append(out, handChunk("IDAT", z.Bytes())...)
	return append(out, handChunk("IEND", nil)...)
}

func TestAlpha(t *testing.T) {
	nrgba := image.NewNRGBA(image.Rect(0, 0, 8, 5))
	nrgba64 := image.NewNRGBA64(image.Rect(0, 0, 8, 5))
	for y := 0; y < 5; y++ {
		for x := 0; x < 8; x++ {
			nrgba.SetNRGBA(x, y, color.NRGBA{uint8(30 * x), uint8(50 * y), 90, uint8(x*36 + y)})
			nrgba64.SetNRGBA64(x, y, color.NRGBA64{uint16(7000 * x), uint16(9000 * y), 1234, uint16(x*8191 + y*3 + 1)})
		}
	}
	tests := []struct {
		name, in, out string
		img           image.Image
	}{
		{"8-bit PNG", "png", "png", nrgba},
		{"16-bit PNG", "png", "png", nrgba64},
		{"16-bit TIFF", "tiff", "tif", nrgba64},
		{"8-bit PNG to TIFF", "png", "tiff", nrgba},
		{"16-bit PNG to TIFF", "png", "tif", nrgba64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			im := read(t, writeFile(t, "in."+tc.in, encode(t, tc.in, tc.img)))
			if im.Alpha == nil {
				t.Fatal("alpha not read")
			}
			// The restoration is opaque, with other colours.
			restored := gradient(8, 5, !im.Depth16)
			out := filepath.Join(t.TempDir(), "out."+tc.out)
			mustWrite(t, out, restored, im)
			back := read(t, out)
			if back.Alpha == nil {
				t.Fatal("alpha not written")
			}
			for y := 0; y < 5; y++ {
				for x := 0; x < 8; x++ {
					_, _, _, a := tc.img.At(x, y).RGBA()
					if got := back.Alpha.Alpha16At(x, y).A; got != uint16(a) {
						t.Fatalf("alpha at (%d, %d) is %d, want %d", x, y, got, a)
					}
					if got := color.NRGBA64Model.Convert(back.Pix.At(x, y)).(color.NRGBA64); back.Depth16 && got.R != restored.NRGBA64At(x, y).R {
						t.Fatalf("colour at (%d, %d) is %v, want the restoration's %v", x, y, got, restored.NRGBA64At(x, y))
					}
				}
			}
		})
	}
	t.Run("JPEG drops alpha", func(t *testing.T) {
		im := read(t, writeFile(t, "in.png", encode(t, "png", nrgba)))
		out := filepath.Join(t.TempDir(), "out.jpg")
		mustWrite(t, out, gradient(8, 5, true), im)
		if back := read(t, out); back.Alpha != nil {
			t.Fatal("JPEG with alpha")
		}
	})
	t.Run("resized with the image", func(t *testing.T) {
		half := image.NewNRGBA(image.Rect(0, 0, 4, 4))
		for i := 3; i < len(half.Pix); i += 4 {
			half.Pix[i] = 255
		}
		for y := 0; y < 4; y++ {
			half.Pix[4*(y*4)+3] = 0 // left column transparent
		}
		im := read(t, writeFile(t, "in.png", encode(t, "png", half)))
		out := filepath.Join(t.TempDir(), "big.png")
		mustWrite(t, out, gradient(16, 16, true), im)
		back := read(t, out)
		if back.Alpha == nil || back.Alpha.Bounds().Dx() != 16 {
			t.Fatalf("alpha %v, want 16×16", back.Alpha)
		}
		if a, b := back.Alpha.Alpha16At(0, 8).A, back.Alpha.Alpha16At(15, 8).A; a > 0x1000 || b < 0xf000 {
			t.Fatalf("resized alpha: %d at the transparent edge, %d at the opaque one", a, b)
		}
	})
}

// displayed is the upright image a viewer shows for a stored image and its
// EXIF orientation, from the specification's words for where the stored
// row 0 and column 0 go (e.g. 6: row 0 on the right, column 0 at the top).
func displayed(stored *image.NRGBA64, o int) *image.NRGBA64 {
	w, h := stored.Rect.Dx(), stored.Rect.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	out := image.NewNRGBA64(image.Rect(0, 0, dw, dh))
	for y := 0; y < dh; y++ {
		for x := 0; x < dw; x++ {
			var sx, sy int // the stored pixel shown at (x, y)
			switch o {
			case 1: // row 0 top, column 0 left
				sx, sy = x, y
			case 2: // row 0 top, column 0 right
				sx, sy = w-1-x, y
			case 3: // row 0 bottom, column 0 right
				sx, sy = w-1-x, h-1-y
			case 4: // row 0 bottom, column 0 left
				sx, sy = x, h-1-y
			case 5: // row 0 left, column 0 top
				sx, sy = y, x
			case 6: // row 0 right, column 0 top
				sx, sy = y, h-1-x
			case 7: // row 0 right, column 0 bottom
				sx, sy = w-1-y, h-1-x
			case 8: // row 0 left, column 0 bottom
				sx, sy = w-1-y, x
			}
			out.SetNRGBA64(x, y, stored.NRGBA64At(sx, sy))
		}
	}
	return out
}

func TestOrientation(t *testing.T) {
	for o := 1; o <= 8; o++ {
		for _, eight := range []bool{true, false} {
			for _, big := range []bool{false, true} {
				stored := gradient(5, 3, eight)
				var enc image.Image = stored
				if eight {
					enc = nrgba(stored)
				}
				exif := handEXIF(big, uint16(o))
				im := read(t, writeFile(t, "in.png", pngWithMeta(encode(t, "png", enc), exif, nil)))
				if im.Depth16 == eight {
					t.Fatalf("orientation %d: depth16 %v", o, im.Depth16)
				}
				sameNRGBA64(t, displayed(stored, o), im.Pix)
				if got := exifOrientationByHand(t, im.EXIF); got != 1 {
					t.Fatalf("orientation %d: EXIF says %d after turning, want 1", o, got)
				}
				if !bytes.Equal(im.EXIF, handEXIF(big, 1)) {
					t.Fatalf("orientation %d: EXIF changed beyond the orientation", o)
				}
			}
		}
	}
	// Orientation 6 (turn 90° clockwise), the usual portrait photo.
	t.Run("JPEG", func(t *testing.T) {
		stored := gradient(16, 8, true)
		data := encode(t, "jpeg", stored)
		decoded, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		in := writeFile(t, "in.jpg", jpegWithMeta(data, handEXIF(false, 6), nil, 100))
		im := read(t, in)
		if b := im.Pix.Bounds(); b.Dx() != 8 || b.Dy() != 16 {
			t.Fatalf("read %v, want 8×16 (upright)", b)
		}
		// imaging.Clone converts YCbCr to RGB as imaging's turns do.
		sameNRGBA64(t, displayed(toNRGBA64(imaging.Clone(decoded)), 6), im.Pix)
		out := filepath.Join(t.TempDir(), "out.jpg")
		mustWrite(t, out, im.Pix, im)
		written, _ := os.ReadFile(out)
		segs := jpegSegments(t, written)
		if segs[0].marker != 0xe1 || !bytes.HasPrefix(segs[0].data, []byte("Exif\x00\x00")) {
			t.Fatalf("first segment %#x, want the EXIF APP1", segs[0].marker)
		}
		if got := exifOrientationByHand(t, segs[0].data[6:]); got != 1 {
			t.Fatalf("written orientation %d, want 1", got)
		}
		if b := read(t, out).Pix.Bounds(); b.Dx() != 8 || b.Dy() != 16 {
			t.Fatalf("re-read %v, want still 8×16", b)
		}
	})
	t.Run("TIFF", func(t *testing.T) {
		stored := gradient(6, 4, false)
		im := read(t, writeFile(t, "in.tif", handTIFF(stored, 8, nil)))
		sameNRGBA64(t, displayed(stored, 8), im.Pix)
		if !im.Depth16 {
			t.Fatal("16 bits lost in turning")
		}
	})
	t.Run("16-bit gray", func(t *testing.T) {
		g := image.NewGray16(image.Rect(0, 0, 3, 2))
		for i := 0; i < 6; i++ {
			g.SetGray16(i%3, i/3, color.Gray16{uint16(1000*i + 7)})
		}
		im := read(t, writeFile(t, "in.png", pngWithMeta(encode(t, "png", g), handEXIF(true, 6), nil)))
		turned, ok := im.Pix.(*image.Gray16)
		if !ok || turned.Rect.Dx() != 2 || turned.Gray16At(0, 0).Y != 3007 || turned.Gray16At(1, 0).Y != 7 {
			t.Fatalf("%T %v", im.Pix, im.Pix.Bounds())
		}
	})
}

// TestOrientMatchesImaging checks the 16-bit remap against imaging's 8-bit
// transforms.
func TestOrientMatchesImaging(t *testing.T) {
	src := gradient(7, 4, true)
	n8 := image.NewNRGBA(src.Rect)
	for y := 0; y < 4; y++ {
		for x := 0; x < 7; x++ {
			n8.Set(x, y, src.At(x, y))
		}
	}
	for o := 2; o <= 8; o++ {
		sameNRGBA64(t, orient(n8, o), orient(src, o))
	}
}

func TestMetadata(t *testing.T) {
	icc := make([]byte, 70000) // over one APP2 segment
	r := rand.New(rand.NewPCG(3, 4))
	for i := range icc {
		icc[i] = byte(r.IntN(256))
	}
	exif := handEXIF(true, 1)
	img := nrgba(gradient(12, 9, true))
	inputs := map[string][]byte{
		"png":  pngWithMeta(encode(t, "png", img), exif, icc),
		"jpeg": jpegWithMeta(encode(t, "jpeg", img), exif, icc, 60000),
	}
	for _, tc := range []struct{ in, out string }{{"png", "png"}, {"jpeg", "jpeg"}, {"png", "jpeg"}, {"jpeg", "png"}} {
		t.Run(tc.in+" to "+tc.out, func(t *testing.T) {
			im := read(t, writeFile(t, "in."+tc.in, inputs[tc.in]))
			if !bytes.Equal(im.EXIF, exif) || !bytes.Equal(im.ICC, icc) {
				t.Fatalf("read EXIF %d bytes, ICC %d bytes; want %d, %d", len(im.EXIF), len(im.ICC), len(exif), len(icc))
			}
			out := filepath.Join(t.TempDir(), "out."+tc.out)
			mustWrite(t, out, im.Pix, im)
			data, _ := os.ReadFile(out)
			if tc.out == "png" {
				types, chunks := pngChunks(t, data)
				if strings.Join(types[:3], " ") != "IHDR iCCP eXIf" {
					t.Fatalf("chunks %v, want iCCP and eXIf right after IHDR", types)
				}
				name, z, _ := bytes.Cut(chunks["iCCP"], []byte{0})
				zr, err := zlib.NewReader(bytes.NewReader(z[1:]))
				if err != nil || len(name) == 0 || z[0] != 0 {
					t.Fatalf("iCCP %q: %v", name, err)
				}
				got, _ := io.ReadAll(zr)
				if !bytes.Equal(got, icc) || !bytes.Equal(chunks["eXIf"], exif) {
					t.Fatal("the written profile or EXIF differs")
				}
			} else {
				segs := jpegSegments(t, data)
				if segs[0].marker != 0xe1 || !bytes.Equal(segs[0].data, append([]byte("Exif\x00\x00"), exif...)) {
					t.Fatal("no EXIF APP1 right after SOI")
				}
				var got []byte
				for i, s := range segs[1:3] {
					if s.marker != 0xe2 || string(s.data[:12]) != "ICC_PROFILE\x00" || s.data[12] != byte(i+1) || s.data[13] != 2 {
						t.Fatalf("segment %d: %#x %q, want ICC chunk %d of 2", i+2, s.marker, s.data[:14], i+1)
					}
					got = append(got, s.data[14:]...)
				}
				if len(segs[1].data) != 14+65519 || !bytes.Equal(got, icc) {
					t.Fatalf("ICC chunks of %d bytes, profile differs: %v", len(segs[1].data)-14, !bytes.Equal(got, icc))
				}
			}
			if _, _, err := image.Decode(bytes.NewReader(data)); err != nil {
				t.Fatalf("Go's decoder refuses the output: %v", err)
			}
			back := read(t, out)
			if !bytes.Equal(back.EXIF, exif) || !bytes.Equal(back.ICC, icc) {
				t.Fatal("EXIF or ICC lost on the way back")
			}
		})
	}
	t.Run("TIFF ICC read", func(t *testing.T) {
		im := read(t, writeFile(t, "in.tif", handTIFF(gradient(5, 4, false), 1, icc)))
		if !bytes.Equal(im.ICC, icc) || im.EXIF != nil {
			t.Fatalf("TIFF profile of %d bytes, want %d", len(im.ICC), len(icc))
		}
	})
	t.Run("profile for another colour space", func(t *testing.T) {
		profile := func(space string) []byte {
			p := make([]byte, 200)
			copy(p[16:], space)
			return p
		}
		for _, tc := range []struct {
			space string
			gray  bool
			kept  bool
		}{{"RGB ", false, true}, {"CMYK", false, false}, {"GRAY", false, false}, {"GRAY", true, true}, {"RGB ", true, false}, {"Lab ", true, true}} {
			out := filepath.Join(t.TempDir(), "out.png")
			mustWrite(t, out, img, &Image{Gray: tc.gray, ICC: profile(tc.space)})
			if got := read(t, out).ICC; (got != nil) != tc.kept {
				t.Errorf("%q profile on a gray=%v output: kept %v, want %v", tc.space, tc.gray, got != nil, tc.kept)
			}
		}
	})
	t.Run("EXIF too large for JPEG", func(t *testing.T) {
		dir := t.TempDir()
		out := filepath.Join(dir, "out.jpg")
		err := Write(out, img, &Image{EXIF: make([]byte, 70000)})
		if err == nil || !strings.Contains(err.Error(), "APP1") {
			t.Fatalf("err = %v", err)
		}
		if left, _ := os.ReadDir(dir); len(left) > 0 {
			t.Fatalf("left %v", left[0].Name())
		}
	})
}

func TestLimits(t *testing.T) {
	small := gradient(40, 30, true)
	// A PNG header claiming 100000×100000 pixels and nothing else: refused
	// from the header, without trying to decode.
	ihdr := binary.BigEndian.AppendUint32(nil, 100000)
	ihdr = binary.BigEndian.AppendUint32(ihdr, 100000)
	huge := append([]byte(pngSignature), handChunk("IHDR", append(ihdr, 8, 2, 0, 0, 0))...)
	tests := []struct {
		name string
		data []byte
		max  int64
	}{
		{"PNG header", huge, limit},
		{"PNG", encode(t, "png", small), 1000},
		{"JPEG", encode(t, "jpeg", small), 1000},
		{"TIFF", encode(t, "tiff", small), 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(writeFile(t, "big", tc.data), tc.max)
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "over the limit of") {
				t.Fatalf("err = %v", err)
			}
		})
	}
	if _, err := Read(writeFile(t, "ok.png", encode(t, "png", small)), 1200); err != nil {
		t.Fatalf("exactly at the limit: %v", err)
	}
}

type corruptCase struct {
	name     string
	data     []byte
	readable bool // only the metadata is broken: it is ignored
}

func corruptInputs() []corruptCase {
	img := gradient(20, 10, true)
	var p, j, f bytes.Buffer
	png.Encode(&p, img)
	jpeg.Encode(&j, img, nil)
	tiff.Encode(&f, img, nil)
	flip := func(b []byte, at int) []byte {
		b = bytes.Clone(b)
		b[at] ^= 0x55
		return b
	}
	withChunk := func(typ string, payload []byte) []byte {
		out := append([]byte(nil), p.Bytes()[:33]...)
		out = append(out, handChunk(typ, payload)...)
		return append(out, p.Bytes()[33:]...)
	}
	falseLength := func(n uint32) []byte {
		out := append([]byte(nil), p.Bytes()[:33]...)
		out = binary.BigEndian.AppendUint32(out, n)
		return append(out, "eXIfII*\x00"...)
	}
	badICC := []byte("ICC_PROFILE\x00\x02\x01abc") // chunk 2 of 1
	return []corruptCase{
		{"empty", nil, false},
		{"text", []byte("hello, world"), false},
		{"PNG signature only", []byte(pngSignature), false},
		{"truncated PNG", p.Bytes()[:p.Len()/2], false},
		{"PNG bad IHDR CRC", flip(p.Bytes(), 30), false},
		{"PNG bad IDAT", flip(p.Bytes(), p.Len()-30), false},
		{"PNG false chunk length", falseLength(maxMeta - 1), false},
		{"PNG huge chunk length", falseLength(1<<31 - 16), false},
		{"truncated JPEG", j.Bytes()[:j.Len()/2], false},
		{"JPEG SOI only", []byte{0xff, 0xd8}, false},
		{"JPEG short APP1", append([]byte{0xff, 0xd8, 0xff, 0xe1, 0, 1}, j.Bytes()[2:]...), false},
		{"truncated TIFF", f.Bytes()[:f.Len()/2], false},
		{"TIFF header only", []byte("II*\x00\x08\x00\x00\x00"), false},
		{"TIFF IFD past end", []byte("MM\x00*\x7f\xff\xff\xff"), false},
		{"JPEG inconsistent ICC", append([]byte{0xff, 0xd8, 0xff, 0xe2, 0, byte(len(badICC) + 2)}, append(badICC, j.Bytes()[2:]...)...), true},
		{"JPEG APP1 not EXIF", jpegWithMeta(j.Bytes(), []byte("nonsense"), nil, 1), true},
		{"PNG iCCP not zlib", withChunk("iCCP", []byte("x\x00\x00not zlib")), true},
		{"PNG iCCP no name", withChunk("iCCP", []byte("\x00\x00x")), true},
		{"PNG eXIf IFD past end", withChunk("eXIf", []byte("MM\x00*\xff\xff\xff\xf0")), true},
		{"PNG eXIf short IFD", withChunk("eXIf", []byte("II*\x00\x08\x00\x00\x00\x09\x00")), true},
		{"PNG eXIf not TIFF", withChunk("eXIf", []byte("hello")), true},
	}
}

func TestCorrupt(t *testing.T) {
	for _, tc := range corruptInputs() {
		t.Run(tc.name, func(t *testing.T) {
			im, err := Read(writeFile(t, "in", tc.data), limit)
			switch {
			case tc.readable && err != nil:
				t.Fatalf("broken metadata made the image unreadable: %v", err)
			case tc.readable && (im.ICC != nil || im.Pix.Bounds().Dx() != 20):
				t.Fatalf("read ICC %q, pixels %v", im.ICC, im.Pix.Bounds())
			case !tc.readable && err == nil:
				t.Fatalf("read a %v image from %d corrupt bytes", im.Pix.Bounds(), len(tc.data))
			}
		})
	}
	if _, err := Read(filepath.Join(t.TempDir(), "missing.png"), limit); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func FuzzRead(f *testing.F) {
	for _, tc := range corruptInputs() {
		f.Add(tc.data)
	}
	img := gradient(6, 4, false)
	var p bytes.Buffer
	png.Encode(&p, img)
	f.Add(pngWithMeta(p.Bytes(), handEXIF(false, 6), []byte("profile")))
	var j bytes.Buffer
	jpeg.Encode(&j, img, nil)
	f.Add(jpegWithMeta(j.Bytes(), handEXIF(true, 8), bytes.Repeat([]byte("icc"), 100), 50))
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 1 << 16
		im, err := Read(writeFile(t, "in", data), max)
		if err != nil {
			return
		}
		b := im.Pix.Bounds()
		if b.Dx() < 1 || b.Dy() < 1 || int64(b.Dx())*int64(b.Dy()) > max {
			t.Fatalf("accepted a %v image", b)
		}
		if im.Alpha != nil && im.Alpha.Bounds().Size() != b.Size() {
			t.Fatalf("alpha %v for pixels %v", im.Alpha.Bounds(), b)
		}
		out := filepath.Join(t.TempDir(), "out.png")
		if err := Write(out, im.Pix, im); err != nil {
			t.Fatalf("cannot write what was read: %v", err)
		}
	})
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	img := gradient(3, 3, true)
	if err := Write(filepath.Join(dir, "out.gif"), img, nil); !errors.Is(err, ErrFormat) {
		t.Fatalf("gif: %v", err)
	}
	if err := Write(filepath.Join(dir, "no", "such", "dir.png"), img, nil); err == nil {
		t.Fatal("wrote into a missing directory")
	}
	if err := Write(filepath.Join(dir, "empty.png"), image.NewNRGBA(image.Rectangle{}), nil); err == nil {
		t.Fatal("wrote an empty image")
	}
	// Encoding fails (JPEG is limited to 65535 pixels a side): nothing is left.
	if err := Write(filepath.Join(dir, "wide.jpg"), image.NewGray(image.Rect(0, 0, 70000, 1)), nil); err == nil {
		t.Fatal("wrote a 70000-pixel-wide JPEG")
	}
	if left, _ := os.ReadDir(dir); len(left) > 0 {
		t.Fatalf("left %s behind", left[0].Name())
	}
	// An existing file is replaced whole.
	p := filepath.Join(dir, "x.PNG")
	os.WriteFile(p, []byte("old"), 0o600)
	mustWrite(t, p, img, nil)
	if im := read(t, p); im.Format != "png" {
		t.Fatal(im.Format)
	}
}

func TestFormatFromPath(t *testing.T) {
	for path, want := range map[string]string{"a.png": "png", "b.JPG": "jpeg", "c.jpeg": "jpeg", "d.tif": "tiff", "e.TIFF": "tiff"} {
		if got, err := FormatFromPath(path); got != want || err != nil {
			t.Errorf("%s: %q, %v", path, got, err)
		}
	}
	if _, err := FormatFromPath("f.webp"); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), ".webp") {
		t.Errorf("webp: %v", err)
	}
}
