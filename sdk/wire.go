package sdk

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"

	"github.com/restorekit/restore/internal/pb"
)

// Large tensors cross between the host and a plugin as files in a folder
// both can read, not inside the gRPC message: on the CPU a 512×512 image's
// round trip through gRPC, TLS and HTTP/2 cost ~40 ms in copies and system
// calls, and ~10 ms as files on a memory file system (/dev/shm), one write
// and one read each way (BenchmarkTransport). The host makes the folder (mode 0700, removed when the plugin
// is killed) and names it to the plugin in wireDirEnv; a plugin that finds
// it usable says so in its Info (shared_files) and the host then sends it
// files too. Everything else, and every tensor below fileMinBytes, stays
// inline. The message names the file; the receiver reads and deletes it.

// wireDirEnv names the shared folder in a plugin's environment.
const wireDirEnv = "RESTORE_WIRE_DIR"

// fileMinBytes is the smallest tensor that crosses as a file.
const fileMinBytes = 256 << 10

// wire is how one side sends and receives tensors.
type wire struct {
	dir  string // the shared folder ("" : inline only)
	send bool   // the other side reads files from dir
	sl   *slots // this side's reusable mapped files in dir (see slots_unix.go); nil: one-shot files only
}

// WireDirPrefix begins the name of every folder a host process pid makes
// for its plugins' tensors (in /dev/shm, or the temporary directory where
// there is no /dev/shm); each is removed when its plugin is killed.
func WireDirPrefix(pid int) string { return fmt.Sprintf("restore-wire-%d-", pid) }

// newWireDir makes a private folder for a plugin's tensors, on /dev/shm
// where there is one.
func newWireDir() (string, error) {
	base := ""
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		base = "/dev/shm"
	}
	prefix := WireDirPrefix(os.Getpid())
	dir, err := os.MkdirTemp(base, prefix)
	if err != nil && base != "" {
		dir, err = os.MkdirTemp("", prefix)
	}
	return dir, err
}

// pluginWire is the plugin side's wire: the host's folder when it is a
// folder only its owner can use.
func pluginWire() wire {
	dir := os.Getenv(wireDirEnv)
	if dir == "" || !filepath.IsAbs(dir) {
		return wire{}
	}
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() || fi.Mode().Perm()&0o077 != 0 {
		return wire{}
	}
	return wire{dir: dir, send: true, sl: newSlots(dir)}
}

// encode puts t on the wire: in a slot or a file when it is large and the
// other side reads files, inline otherwise (also when the file cannot be
// written).
func (w wire) encode(t *Tensor) *pb.Tensor {
	if t == nil {
		return nil
	}
	if w.send && w.dir != "" && littleEndian && 4*len(t.Data) >= fileMinBytes {
		if ref, ok := w.sl.put(t); ok {
			return &pb.Tensor{C: int32(t.C), H: int32(t.H), W: int32(t.W), File: ref}
		}
		if name, err := w.writeFile(t); err == nil {
			return &pb.Tensor{C: int32(t.C), H: int32(t.H), W: int32(t.W), File: name}
		}
	}
	return tensorToPB(t)
}

func (w wire) writeFile(t *Tensor) (string, error) {
	f, err := os.CreateTemp(w.dir, "t-")
	if err != nil {
		return "", err
	}
	_, err = f.Write(unsafe.Slice((*byte)(unsafe.Pointer(&t.Data[0])), 4*len(t.Data)))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return filepath.Base(f.Name()), nil
}

// decode takes a tensor off the wire, copying it out of its slot or
// reading (and deleting) its file if it came as one.
func (w wire) decode(m *pb.Tensor) (*Tensor, error) {
	if m != nil {
		sawTensor(4 * int(m.GetC()) * int(m.GetH()) * int(m.GetW()))
	}
	if m == nil || m.GetFile() == "" {
		return tensorFromPB(m)
	}
	name := m.GetFile()
	slot := strings.HasPrefix(name, slotPrefix) && w.sl != nil
	if w.dir == "" || !slot && (!strings.HasPrefix(name, "t-") || filepath.Base(name) != name) {
		return nil, fmt.Errorf("%w: tensor sent as file %q, which this side cannot read", ErrShape, name)
	}
	c, h, wd := int(m.GetC()), int(m.GetH()), int(m.GetW())
	n := c * h * wd
	if c <= 0 || h <= 0 || wd <= 0 || n/c/h != wd || !littleEndian || len(m.GetData()) != 0 {
		return nil, fmt.Errorf("%w: wire tensor file %s has shape %dx%dx%d", ErrShape, name, c, h, wd)
	}
	if slot {
		return w.sl.get(name, c, h, wd)
	}
	path := filepath.Join(w.dir, name)
	defer os.Remove(path)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: wire tensor: %w", ErrShape, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Size()%4 != 0 || fi.Size()/4 != int64(n) {
		return nil, fmt.Errorf("%w: wire tensor file %s is not %d bytes", ErrShape, name, 4*n)
	}
	t := NewTensor(c, h, wd)
	if _, err := io.ReadFull(f, unsafe.Slice((*byte)(unsafe.Pointer(&t.Data[0])), 4*n)); err != nil {
		return nil, fmt.Errorf("%w: wire tensor file %s: %w", ErrShape, name, err)
	}
	return t, nil
}

// Received tensors' memory is reused: a tensor taken off a slot goes into
// memory of a tensor of the same size that the SDK knows to be done with
// (recycle), not into a new allocation, which the runtime zeroes and, once
// the garbage collector has handed the pages back to the system, faults in
// again (on a virtual machine ~12 µs a page: 9 ms for a 512×512 RGB
// tensor). What is done with: a guidance plugin's X0 and Xt and its
// result once the result is on the wire (Guider's contract), and in the
// host the sample a solver plugin sent once the denoiser has returned, the
// denoiser's result once it is on the wire (Denoiser's contract), and the
// X0 it sent a guidance plugin (GuideStep's). A few buffers are kept,
// the most recently offered first: a runtime pool (sync.Pool) would keep
// every one offered until the next collection, and a plugin that returns a
// new tensor offers two per call but takes one, so its live heap, and with
// it the collector's goal, would grow.
var received struct {
	mu   sync.Mutex
	bufs [][]float32 // oldest first
}

const (
	maxRecycled      = 4        // buffers kept
	maxRecycledBytes = 32 << 20 // the largest tensor kept, a slot's
)

// receivedTensor returns a c×h×w tensor for a received tensor to be copied
// into: kept memory of that size when there is some (its values stale), a
// new tensor otherwise.
func receivedTensor(c, h, w int) *Tensor {
	n := c * h * w
	received.mu.Lock()
	defer received.mu.Unlock()
	for i := len(received.bufs) - 1; i >= 0; i-- {
		if d := received.bufs[i]; len(d) == n {
			received.bufs = append(received.bufs[:i], received.bufs[i+1:]...)
			return &Tensor{C: c, H: h, W: w, Data: d}
		}
	}
	return NewTensor(c, h, w)
}

// recycle offers the memory of tensors the SDK is done with to
// receivedTensor; memory already kept (a guider that returns its X0 lists
// it twice) is not kept twice. Only slot-sized tensors are kept: smaller
// ones cross inline, larger ones as one-shot files.
func recycle(ts ...*Tensor) {
	received.mu.Lock()
	defer received.mu.Unlock()
next:
	for _, t := range ts {
		if t == nil || 4*len(t.Data) < fileMinBytes || 4*len(t.Data) > maxRecycledBytes {
			continue
		}
		for _, d := range received.bufs {
			if &d[0] == &t.Data[0] {
				continue next
			}
		}
		if len(received.bufs) == maxRecycled {
			received.bufs = append(received.bufs[:0], received.bufs[1:]...)
		}
		received.bufs = append(received.bufs, t.Data)
	}
}
