// Package imageio reads and writes the photographs restore works on, as a
// photo tool would: PNG (8- and 16-bit, gray and colour, with or without
// alpha), JPEG and TIFF (8- and 16-bit) in; PNG, JPEG or TIFF out, by the
// file's extension.
//
// Read turns the pixels upright by the EXIF orientation and keeps what a
// restoration must not lose: the bit depth, whether the image is gray, its
// alpha channel, and the EXIF and ICC metadata. Write takes the restored
// pixels and a read Image to be like, and gives them back the same depth,
// grayness, alpha and metadata (within what the output format can hold).
// Go's own encoders drop EXIF and ICC profiles, so this package writes the
// PNG chunks and JPEG segments itself.
package imageio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/image/tiff"
)

// ErrFormat reports a file or file name that is not PNG, JPEG or TIFF.
var ErrFormat = errors.New("unknown image format")

// ErrTooLarge reports an image with more pixels than Read's limit.
var ErrTooLarge = errors.New("over the limit")

// JPEGQuality is the quality Write encodes JPEG files at.
const JPEGQuality = 95

// Image is a decoded photograph and what Write needs to give a restoration
// of it the same form.
type Image struct {
	// Pix holds the pixels, upright: the EXIF orientation is applied. Its
	// concrete type is the decoder's (a 16-bit file gives a 16-bit type),
	// or *image.NRGBA (8-bit) or *image.NRGBA64 (16-bit) when turned, or
	// *image.Gray16 for a turned 16-bit gray image.
	Pix image.Image
	// Format is the file's format: "png", "jpeg" or "tiff".
	Format string
	// Depth16 is set for 16-bit-per-sample files (PNG and TIFF).
	Depth16 bool
	// Gray is set for gray files (with or without alpha).
	Gray bool
	// Alpha is the alpha channel, or nil when every pixel is opaque.
	Alpha *image.Alpha16
	// EXIF is the raw EXIF payload (a TIFF structure, without JPEG's
	// "Exif\0\0"), its orientation reset to 1 once applied to Pix; nil when
	// the file has none. TIFF files give none: their tags are not EXIF.
	EXIF []byte
	// ICC is the raw embedded ICC colour profile, or nil.
	ICC []byte
}

// FormatFromPath returns the format Write uses for a file name's extension:
// "png" for .png, "jpeg" for .jpg and .jpeg, "tiff" for .tif and .tiff (in
// any case), or an error wrapping ErrFormat.
func FormatFromPath(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		return "png", nil
	case ".jpg", ".jpeg":
		return "jpeg", nil
	case ".tif", ".tiff":
		return "tiff", nil
	}
	return "", fmt.Errorf("%w %q (use .png, .jpg, .jpeg, .tif or .tiff)", ErrFormat, filepath.Ext(path))
}

// sniff names the format of a file from its first bytes, or "".
func sniff(magic []byte) string {
	switch s := string(magic); {
	case strings.HasPrefix(s, pngSignature):
		return "png"
	case strings.HasPrefix(s, "\xff\xd8"):
		return "jpeg"
	case strings.HasPrefix(s, "II*\x00"), strings.HasPrefix(s, "MM\x00*"):
		return "tiff"
	}
	return ""
}

// Read decodes a PNG, JPEG or TIFF file (recognised by its content, not
// its name). The size is checked from the header before any pixel is
// decoded: an image of more than maxPixels pixels is refused with an error
// wrapping ErrTooLarge. A corrupt file gives an error, never a panic; a
// malformed EXIF block or ICC profile is ignored rather than refused.
//
// The EXIF orientation (JPEG's APP1 segment, PNG's eXIf chunk, a TIFF's
// own Orientation tag) is applied: Pix is upright.
func Read(path string, maxPixels int64) (im *Image, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	var magic [8]byte
	n, _ := f.ReadAt(magic[:], 0)
	format := sniff(magic[:n])
	if format == "" {
		return nil, fmt.Errorf("%w: not a PNG, JPEG or TIFF file", ErrFormat)
	}
	name := strings.ToUpper(format)
	// The decoders are meant not to panic on any input; should one, the
	// caller still gets an error.
	defer func() {
		if r := recover(); r != nil {
			im, err = nil, fmt.Errorf("corrupt %s image (decoder failed: %v)", name, r)
		}
	}()
	section := func() *io.SectionReader { return io.NewSectionReader(f, 0, size) }

	var cfg image.Config
	switch format {
	case "png":
		cfg, err = png.DecodeConfig(bufio.NewReader(section()))
	case "jpeg":
		cfg, err = jpeg.DecodeConfig(bufio.NewReader(section()))
	case "tiff":
		cfg, err = tiff.DecodeConfig(section()) // an io.ReaderAt: read where needed
	}
	if err != nil {
		return nil, fmt.Errorf("not a readable %s image (%w)", name, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("image has no pixels (%dx%d)", cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, fmt.Errorf("image is %dx%d, %w of %d pixels", cfg.Width, cfg.Height, ErrTooLarge, maxPixels)
	}

	im = &Image{Format: format}
	orientation, orientAt := 1, int64(-1)
	var img image.Image
	switch format {
	case "png":
		m := readPNGMeta(section())
		im.EXIF, im.ICC = m.exif, m.icc
		im.Depth16 = m.bitDepth == 16
		im.Gray = m.colorType == 0 || m.colorType == 4 // gray, gray + alpha
		orientation, orientAt = exifOrientation(im.EXIF)
		img, err = png.Decode(bufio.NewReader(section()))
	case "jpeg":
		im.EXIF, im.ICC = readJPEGMeta(bufio.NewReader(section()))
		orientation, orientAt = exifOrientation(im.EXIF)
		img, err = jpeg.Decode(bufio.NewReader(section()))
	case "tiff":
		if d, derr := readIFD0(section(), size); derr == nil {
			orientation, _ = d.orientation()
			im.ICC = d.icc(section(), size)
		}
		img, err = tiff.Decode(section())
	}
	if err != nil {
		return nil, fmt.Errorf("corrupt %s image (%w)", name, err)
	}
	switch img.(type) { // PNG's gray with alpha decodes to NRGBA: IHDR told
	case *image.Gray16:
		im.Gray, im.Depth16 = true, true
	case *image.Gray:
		im.Gray = true
	case *image.RGBA64, *image.NRGBA64:
		im.Depth16 = true
	}
	if b := img.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return nil, fmt.Errorf("corrupt %s image (header says %dx%d, pixels are %dx%d)", name, cfg.Width, cfg.Height, b.Dx(), b.Dy())
	}
	if orientation != 1 {
		img = orient(img, orientation)
		if orientAt >= 0 {
			im.EXIF = uprightEXIF(im.EXIF, orientAt)
		}
	}
	im.Pix = img
	im.Alpha = alphaOf(img)
	return im, nil
}

// Write encodes img to path in the format of its extension (see
// FormatFromPath). The file is written to a temporary file in the same
// directory and renamed over path once complete, with mode 0644: on error
// no file, whole or partial, is left.
//
// With like nil, img is written as it is, without metadata. Otherwise the
// output takes like's form:
//   - 16 bits per sample when like.Depth16 and the format is PNG or TIFF;
//     8 bits otherwise (JPEG is 8-bit).
//   - gray when like.Gray: the luminance of img with the Rec. 601 weights
//     0.299, 0.587 and 0.114, as Go's color.GrayModel computes it. Go's
//     encoders have no gray-with-alpha form, so a gray image with alpha is
//     written as RGBA with equal colour channels.
//   - like.Alpha as the alpha channel (img's own alpha is not used), with
//     img's colours unpremultiplied: the alpha values are written exactly
//     (in a 16-bit file; shifted to 8 bits in an 8-bit one). An alpha of
//     another size than img (a super-resolved image) is resized to it with
//     Catmull-Rom. JPEG has no alpha: it is dropped.
//   - like.EXIF and like.ICC, for PNG in eXIf and iCCP (zlib) chunks after
//     IHDR, for JPEG in an APP1 "Exif\0\0" segment and APP2 "ICC_PROFILE\0"
//     segments (65,519 profile bytes each, numbered) after SOI. An EXIF
//     payload over JPEG's 65,527-byte segment limit is an error. A profile
//     whose header names another colour space than the output's (a CMYK
//     JPEG's profile on the RGB restoration, a gray profile on RGBA) is
//     dropped. TIFF output carries no metadata (golang.org/x/image/tiff
//     writes its own tags only), and always has an alpha sample when in
//     colour.
//
// EXIF tags that describe the pixels, such as the pixel dimensions, are
// carried as they are, and so is an EXIF thumbnail (as it was stored,
// before turning).
func Write(path string, img image.Image, like *Image) (err error) {
	format, err := FormatFromPath(path)
	if err != nil {
		return err
	}
	if img == nil || img.Bounds().Empty() {
		return errors.New("no pixels to write")
	}
	out := img
	var meta []byte
	iw := &insertWriter{}
	if like != nil {
		out = shape(img, format, like)
		gray := like.Gray && (like.Alpha == nil || format == "jpeg")
		icc := iccFor(like.ICC, gray)
		switch format {
		case "png":
			meta, err = pngMetaChunks(like.EXIF, icc)
			iw.at = len(pngSignature) + 8 + 13 + 4 // signature, then IHDR's length, type, data, CRC
			iw.check = func(h []byte) bool {
				return string(h[:8]) == pngSignature && binary.BigEndian.Uint32(h[8:]) == 13 && string(h[12:16]) == "IHDR"
			}
		case "jpeg":
			meta, err = jpegMetaSegments(like.EXIF, icc)
			iw.at = 2
			iw.check = func(h []byte) bool { return h[0] == 0xff && h[1] == 0xd8 }
		}
		if err != nil {
			return err
		}
	}

	return WriteAtomic(path, func(bw io.Writer) error {
		w := bw
		if len(meta) > 0 {
			iw.w, iw.extra = bw, meta
			w = iw
		}
		var err error
		switch format {
		case "png":
			err = png.Encode(w, out)
		case "jpeg":
			err = jpeg.Encode(w, out, &jpeg.Options{Quality: JPEGQuality})
		case "tiff":
			err = tiff.Encode(w, out, &tiff.Options{Compression: tiff.Deflate})
		}
		if err != nil {
			return fmt.Errorf("encoding %s: %w", strings.ToUpper(format), err)
		}
		if len(meta) > 0 && !iw.done {
			return errors.New("encoder output too short to place the metadata")
		}
		return nil
	})
}

// WriteAtomic writes a file through write: into a temporary file beside
// path, renamed over path only once complete (mode 0644), so no reader ever
// sees half a file and a failure leaves none behind.
func WriteAtomic(path string, write func(io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriter(tmp)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
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

// iccFor returns icc for an output that is gray or RGB, or nil when the
// profile's header names another device colour space.
func iccFor(icc []byte, gray bool) []byte {
	if len(icc) < 20 {
		return icc
	}
	want := "RGB "
	if gray {
		want = "GRAY"
	}
	switch space := string(icc[16:20]); space {
	case "RGB ", "GRAY", "CMYK", "CMY ":
		if space != want {
			return nil
		}
	}
	return icc
}
