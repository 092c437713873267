package imageio

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
)

// maxMeta bounds one metadata block (an EXIF payload, a decompressed ICC
// profile) read into memory; larger ones are ignored.
const maxMeta = 16 << 20

const (
	pngSignature = "\x89PNG\r\n\x1a\n"
	exifPrefix   = "Exif\x00\x00"    // APP1 identifier before the TIFF payload
	iccPrefix    = "ICC_PROFILE\x00" // APP2 identifier before a profile chunk
	iccChunk     = 65519             // profile bytes per APP2 segment: 65535 - 2 (length) - 12 (identifier) - 2 (sequence)
	tagOrient    = 0x0112            // TIFF/EXIF Orientation
	tagICC       = 0x8773            // TIFF InterColorProfile
)

// pngMeta is what Read takes from a PNG's chunks besides the pixels.
type pngMeta struct {
	bitDepth, colorType byte
	exif, icc           []byte
}

// readPNGMeta walks a PNG's chunks (seeking past their data) for IHDR, eXIf
// and iCCP. It never fails: a malformed block is ignored, and a broken file
// stops the walk, leaving the error to the decoder.
func readPNGMeta(r io.ReadSeeker) pngMeta {
	var m pngMeta
	var sig [8]byte
	if _, err := io.ReadFull(r, sig[:]); err != nil || string(sig[:]) != pngSignature {
		return m
	}
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return m
		}
		n := int64(binary.BigEndian.Uint32(hdr[:4]))
		typ := string(hdr[4:])
		if n > 1<<31-1 {
			return m
		}
		var data []byte
		switch typ {
		case "IEND":
			return m
		case "IHDR", "eXIf", "iCCP":
			if n <= maxMeta {
				// ReadAll grows with what is there: a false length costs nothing.
				var err error
				if data, err = io.ReadAll(io.LimitReader(r, n)); err != nil || int64(len(data)) != n {
					return m
				}
				break
			}
			fallthrough // too large to keep: skip it
		default:
			if _, err := r.Seek(n, io.SeekCurrent); err != nil {
				return m
			}
		}
		switch typ {
		case "IHDR":
			if len(data) == 13 {
				m.bitDepth, m.colorType = data[8], data[9]
			}
		case "eXIf":
			if m.exif == nil && len(data) > 0 {
				m.exif = bytes.TrimPrefix(data, []byte(exifPrefix))
			}
		case "iCCP":
			if m.icc == nil {
				m.icc = parseICCP(data)
			}
		}
		if _, err := r.Seek(4, io.SeekCurrent); err != nil { // CRC
			return m
		}
	}
}

// parseICCP returns the profile in an iCCP chunk's data (name, NUL,
// compression method 0, zlib stream), or nil when it is malformed.
func parseICCP(data []byte) []byte {
	i := bytes.IndexByte(data, 0)
	if i < 1 || i > 79 || i+2 > len(data) || data[i+1] != 0 {
		return nil
	}
	zr, err := zlib.NewReader(bytes.NewReader(data[i+2:]))
	if err != nil {
		return nil
	}
	defer zr.Close()
	icc, err := io.ReadAll(io.LimitReader(zr, maxMeta+1))
	if err != nil || len(icc) == 0 || len(icc) > maxMeta {
		return nil
	}
	return icc
}

// readJPEGMeta reads a JPEG's markers up to the start of scan for the EXIF
// APP1 segment and the ICC profile's APP2 chunks. Like readPNGMeta it never
// fails; a profile with missing or inconsistent chunks is ignored.
func readJPEGMeta(r *bufio.Reader) (exif, icc []byte) {
	var parts []iccPart
	defer func() { icc = joinICC(parts) }()
	if b0, err := r.ReadByte(); err != nil || b0 != 0xff {
		return nil, nil
	}
	if b1, err := r.ReadByte(); err != nil || b1 != 0xd8 {
		return nil, nil
	}
	for {
		b, err := r.ReadByte()
		if err != nil || b != 0xff {
			return exif, nil
		}
		for b == 0xff { // fill bytes
			if b, err = r.ReadByte(); err != nil {
				return exif, nil
			}
		}
		switch {
		case b == 0xd9 || b == 0xda: // EOI, SOS: no metadata follows
			return exif, nil
		case b >= 0xd0 && b <= 0xd7 || b == 0x01: // markers without a length
			continue
		}
		var l [2]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return exif, nil
		}
		n := int(binary.BigEndian.Uint16(l[:])) - 2
		if n < 0 {
			return exif, nil
		}
		if b != 0xe1 && b != 0xe2 {
			if _, err := r.Discard(n); err != nil {
				return exif, nil
			}
			continue
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(r, data); err != nil {
			return exif, nil
		}
		switch {
		case b == 0xe1 && exif == nil && bytes.HasPrefix(data, []byte(exifPrefix)) && n > len(exifPrefix):
			exif = data[len(exifPrefix):]
		case b == 0xe2 && bytes.HasPrefix(data, []byte(iccPrefix)) && n > len(iccPrefix)+2:
			parts = append(parts, iccPart{data[12], data[13], data[14:]})
		}
	}
}

// iccPart is one APP2 chunk of an ICC profile.
type iccPart struct {
	seq, total byte
	data       []byte
}

// joinICC assembles a profile from its APP2 chunks: numbered 1 to total,
// each once, all agreeing on total (in any order in the file). Otherwise nil.
func joinICC(parts []iccPart) []byte {
	if len(parts) == 0 {
		return nil
	}
	total := int(parts[0].total)
	if total == 0 || len(parts) != total {
		return nil
	}
	slices.SortFunc(parts, func(a, b iccPart) int { return int(a.seq) - int(b.seq) })
	var icc []byte
	for i, p := range parts {
		if int(p.total) != total || int(p.seq) != i+1 {
			return nil
		}
		icc = append(icc, p.data...)
	}
	if len(icc) == 0 {
		return nil
	}
	return icc
}

// ifd is a TIFF structure's first image file directory (IFD0): the byte
// order and the entries, each with the file offset of its 4-byte value field.
type ifd struct {
	order   binary.ByteOrder
	entries []ifdEntry
}

type ifdEntry struct {
	tag, typ uint16
	count    uint32
	value    [4]byte
	at       int64 // offset of value in the TIFF structure
}

// readIFD0 reads IFD0 of a TIFF structure (a TIFF file, or an EXIF payload)
// of size bytes.
func readIFD0(r io.ReaderAt, size int64) (ifd, error) {
	var hdr [8]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return ifd{}, fmt.Errorf("TIFF header: %w", err)
	}
	var d ifd
	switch string(hdr[:4]) {
	case "II*\x00":
		d.order = binary.LittleEndian
	case "MM\x00*":
		d.order = binary.BigEndian
	default:
		return ifd{}, errors.New("no TIFF header")
	}
	off := int64(d.order.Uint32(hdr[4:]))
	var nb [2]byte
	if off < 8 || off+2 > size {
		return ifd{}, errors.New("IFD0 outside the data")
	}
	if _, err := r.ReadAt(nb[:], off); err != nil {
		return ifd{}, fmt.Errorf("IFD0: %w", err)
	}
	n := int64(d.order.Uint16(nb[:]))
	if off+2+12*n > size {
		return ifd{}, errors.New("IFD0 runs past the data")
	}
	buf := make([]byte, 12*n)
	if _, err := r.ReadAt(buf, off+2); err != nil {
		return ifd{}, fmt.Errorf("IFD0: %w", err)
	}
	for i := int64(0); i < n; i++ {
		e := buf[12*i : 12*i+12]
		var v [4]byte
		copy(v[:], e[8:])
		d.entries = append(d.entries, ifdEntry{tag: d.order.Uint16(e), typ: d.order.Uint16(e[2:]),
			count: d.order.Uint32(e[4:]), value: v, at: off + 2 + 12*i + 8})
	}
	return d, nil
}

// orientation returns IFD0's Orientation (1 to 8; 1 when absent or invalid)
// and the offset of its value, or -1 when there is none to rewrite.
func (d ifd) orientation() (o int, at int64) {
	for _, e := range d.entries {
		if e.tag == tagOrient && e.typ == 3 && e.count == 1 {
			v := int(d.order.Uint16(e.value[:]))
			if v < 1 || v > 8 {
				return 1, e.at
			}
			return v, e.at
		}
	}
	return 1, -1
}

// icc returns the InterColorProfile tag's bytes from a TIFF file, or nil.
func (d ifd) icc(r io.ReaderAt, size int64) []byte {
	for _, e := range d.entries {
		if e.tag != tagICC || (e.typ != 7 && e.typ != 1) || e.count == 0 || e.count > maxMeta {
			continue
		}
		if e.count <= 4 {
			return bytes.Clone(e.value[:e.count])
		}
		off := int64(d.order.Uint32(e.value[:]))
		if off+int64(e.count) > size {
			return nil
		}
		icc := make([]byte, e.count)
		if _, err := r.ReadAt(icc, off); err != nil {
			return nil
		}
		return icc
	}
	return nil
}

// exifOrientation returns an EXIF payload's orientation (1 when it has
// none or cannot be read) and the offset of the value to rewrite (-1: none).
func exifOrientation(exif []byte) (int, int64) {
	if len(exif) == 0 {
		return 1, -1
	}
	d, err := readIFD0(bytes.NewReader(exif), int64(len(exif)))
	if err != nil {
		return 1, -1
	}
	return d.orientation()
}

// uprightEXIF returns a copy of exif with the Orientation value at offset at
// set to 1 (top-left), the pixels having been turned upright.
func uprightEXIF(exif []byte, at int64) []byte {
	out := bytes.Clone(exif)
	if at < 0 || at+2 > int64(len(out)) {
		return out
	}
	order := binary.ByteOrder(binary.LittleEndian)
	if out[0] == 'M' {
		order = binary.BigEndian
	}
	order.PutUint16(out[at:], 1)
	return out
}

// pngMetaChunks returns the iCCP and eXIf chunks that carry icc and exif
// (empty for none), to follow IHDR.
func pngMetaChunks(exif, icc []byte) ([]byte, error) {
	var b bytes.Buffer
	if len(icc) > 0 {
		var z bytes.Buffer
		z.WriteString("ICC profile\x00\x00") // profile name, NUL, compression method 0 (zlib)
		zw := zlib.NewWriter(&z)
		zw.Write(icc) // writes to a bytes.Buffer do not fail
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("compressing the ICC profile: %w", err)
		}
		if err := writeChunk(&b, "iCCP", z.Bytes()); err != nil {
			return nil, err
		}
	}
	if len(exif) > 0 {
		if err := writeChunk(&b, "eXIf", exif); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

func writeChunk(b *bytes.Buffer, typ string, data []byte) error {
	if len(data) > 1<<31-1 {
		return fmt.Errorf("%s chunk of %d bytes is over the PNG limit", typ, len(data))
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	b.Write(n[:])
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	b.WriteString(typ)
	b.Write(data)
	binary.BigEndian.PutUint32(n[:], crc.Sum32())
	b.Write(n[:])
	return nil
}

// jpegMetaSegments returns the APP1 segment that carries exif and the APP2
// segments that carry icc (empty for none), to follow SOI.
func jpegMetaSegments(exif, icc []byte) ([]byte, error) {
	var b bytes.Buffer
	segment := func(marker byte, parts ...[]byte) {
		n := 2
		for _, p := range parts {
			n += len(p)
		}
		b.Write([]byte{0xff, marker, byte(n >> 8), byte(n)})
		for _, p := range parts {
			b.Write(p)
		}
	}
	if len(exif) > 0 {
		if 2+len(exifPrefix)+len(exif) > 0xffff {
			return nil, fmt.Errorf("EXIF of %d bytes does not fit a JPEG APP1 segment (at most %d)", len(exif), 0xffff-2-len(exifPrefix))
		}
		segment(0xe1, []byte(exifPrefix), exif)
	}
	if len(icc) > 0 {
		total := (len(icc) + iccChunk - 1) / iccChunk
		if total > 255 {
			return nil, fmt.Errorf("ICC profile of %d bytes does not fit 255 JPEG APP2 segments", len(icc))
		}
		for i := 0; i < total; i++ {
			part := icc[i*iccChunk : min((i+1)*iccChunk, len(icc))]
			segment(0xe2, []byte(iccPrefix), []byte{byte(i + 1), byte(total)}, part)
		}
	}
	return b.Bytes(), nil
}

// insertWriter passes an encoder's output through, inserting extra after
// its first at bytes once check accepts them (the SOI marker, the PNG
// signature and IHDR).
type insertWriter struct {
	w     io.Writer
	at    int
	check func(head []byte) bool
	extra []byte
	head  []byte
	done  bool
}

func (iw *insertWriter) Write(p []byte) (int, error) {
	if iw.done {
		return iw.w.Write(p)
	}
	need := iw.at - len(iw.head)
	if len(p) < need {
		iw.head = append(iw.head, p...)
		return len(p), nil
	}
	iw.head = append(iw.head, p[:need]...)
	if !iw.check(iw.head) {
		return 0, errors.New("unexpected encoder output: cannot place the metadata")
	}
	iw.done = true
	for _, b := range [][]byte{iw.head, iw.extra, p[need:]} {
		if _, err := iw.w.Write(b); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}
