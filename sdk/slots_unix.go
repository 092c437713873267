//go:build unix

package sdk

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Slots are files in the shared folder that both processes map into memory
// and reuse, so that a tensor crosses with one copy on each side and no
// file is created, written, read or deleted per tensor (the one-shot files
// of wire.go cost ~6 ms per 3 MiB tensor on /dev/shm, a slot ~1 ms).
//
// A slot is written only by the side that made it. Its first 64 bytes are a
// header: a state word (slotFree, slotWriting, slotFull) and the number of
// the tensor it holds; the tensor follows. The sender takes a free slot,
// marks it writing, copies the tensor in, records the tensor's number, marks
// it full and names it in the message ("s-NAME#NUMBER"). The receiver maps
// the file once, checks that the slot is full and holds that number, copies
// the tensor out and marks the slot free. A slot whose message is lost stays
// full: its sender makes another (up to maxSlots) and then falls back to
// one-shot files, and the host kills a plugin whose restoration failed.

const (
	slotHeader   = 64
	maxSlots     = 4        // slots each side makes
	maxSlotBytes = 32 << 20 // larger tensors cross as one-shot files: kept slots of a 24-megapixel photo would hold 288 MiB each
	slotPrefix   = "s-"
)

const (
	slotFree uint32 = iota
	slotWriting
	slotFull
)

// slotFile is a mapped slot.
type slotFile struct {
	name string
	mem  []byte
	gen  uint64 // tensors written so far (sender side)
}

func (f *slotFile) state() *uint32  { return (*uint32)(unsafe.Pointer(&f.mem[0])) }
func (f *slotFile) number() *uint64 { return (*uint64)(unsafe.Pointer(&f.mem[8])) }

// slots is one process's slot state for one shared folder: the slots it
// writes and its mappings of the other side's.
type slots struct {
	dir string
	// mu guards the lists; copies in and out of mappings hold it for
	// reading, so that nothing is unmapped under them.
	mu     sync.RWMutex
	own    []*slotFile
	peer   map[string]*slotFile
	closed bool
}

func newSlots(dir string) *slots { return &slots{dir: dir, peer: map[string]*slotFile{}} }

// put copies t into a free slot and returns the name for the message, or
// false when no slot can take it.
func (s *slots) put(t *Tensor) (string, bool) {
	need := 4 * len(t.Data)
	if s == nil || need == 0 || need > maxSlotBytes {
		return "", false
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return "", false
	}
	var slot *slotFile
	small := -1 // a free slot too small for t: replaced when no other is free
	for i, f := range s.own {
		if atomic.LoadUint32(f.state()) != slotFree {
			continue
		}
		if len(f.mem)-slotHeader >= need {
			slot = f
			break
		}
		small = i
	}
	if slot == nil {
		if len(s.own) >= maxSlots && small >= 0 {
			old := s.own[small]
			s.own = append(s.own[:small], s.own[small+1:]...)
			syscall.Munmap(old.mem)
			os.Remove(filepath.Join(s.dir, old.name))
		}
		if len(s.own) < maxSlots {
			if f, err := s.create(need); err == nil {
				s.own = append(s.own, f)
				slot = f
			}
		}
	}
	if slot == nil {
		s.mu.Unlock()
		return "", false
	}
	atomic.StoreUint32(slot.state(), slotWriting)
	slot.gen++
	gen := slot.gen
	s.mu.Unlock()

	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return "", false
	}
	copy(slot.mem[slotHeader:slotHeader+need], unsafe.Slice((*byte)(unsafe.Pointer(&t.Data[0])), need))
	atomic.StoreUint64(slot.number(), gen)
	atomic.StoreUint32(slot.state(), slotFull)
	return slot.name + "#" + strconv.FormatUint(gen, 10), true
}

// create makes and maps a slot for tensors of up to need bytes (rounded up
// to whole mebibytes, so that slightly larger tensors fit too).
func (s *slots) create(need int) (*slotFile, error) {
	size := slotHeader + (need+1<<20-1)&^(1<<20-1)
	f, err := os.CreateTemp(s.dir, slotPrefix)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := f.Truncate(int64(size)); err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	return &slotFile{name: filepath.Base(f.Name()), mem: mem}, nil
}

// get copies the tensor of shape c×h×w that ref ("s-NAME#NUMBER") names out
// of the other side's slot and frees the slot.
func (s *slots) get(ref string, c, h, w int) (*Tensor, error) {
	name, num, ok := strings.Cut(ref, "#")
	gen, err := strconv.ParseUint(num, 10, 64)
	if !ok || err != nil || !strings.HasPrefix(name, slotPrefix) || filepath.Base(name) != name || name == slotPrefix {
		return nil, fmt.Errorf("%w: tensor sent in slot %q, not a slot name", ErrShape, ref)
	}
	n := c * h * w
	s.mu.RLock()
	defer s.mu.RUnlock()
	f, ok := s.peer[name]
	if !ok {
		s.mu.RUnlock()
		err := s.mapPeer(name)
		s.mu.RLock()
		if err != nil {
			return nil, err
		}
		if f, ok = s.peer[name]; !ok || s.closed {
			return nil, fmt.Errorf("%w: slot %s: the connection is closed", ErrShape, name)
		}
	}
	if len(f.mem)-slotHeader < 4*n {
		return nil, fmt.Errorf("%w: slot %s holds %d bytes, not a %dx%dx%d tensor", ErrShape, name, len(f.mem)-slotHeader, c, h, w)
	}
	if atomic.LoadUint32(f.state()) != slotFull || atomic.LoadUint64(f.number()) != gen {
		return nil, fmt.Errorf("%w: slot %s does not hold tensor %d", ErrShape, name, gen)
	}
	t := receivedTensor(c, h, w)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&t.Data[0])), 4*n), f.mem[slotHeader:slotHeader+4*n])
	atomic.StoreUint32(f.state(), slotFree)
	return t, nil
}

// mapPeer maps the other side's slot name into s.peer. The mappings of
// slots their sender has since replaced are dropped when there are more
// than enough.
func (s *slots) mapPeer(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("%w: slot %s: the connection is closed", ErrShape, name)
	}
	if _, ok := s.peer[name]; ok {
		return nil
	}
	if len(s.peer) >= 2*maxSlots {
		for k, f := range s.peer {
			syscall.Munmap(f.mem)
			delete(s.peer, k)
		}
	}
	file, err := os.OpenFile(filepath.Join(s.dir, name), os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("%w: slot %s: %w", ErrShape, name, err)
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() < slotHeader || fi.Size() > slotHeader+maxSlotBytes+1<<20 {
		return fmt.Errorf("%w: slot %s is not a slot file", ErrShape, name)
	}
	mem, err := syscall.Mmap(int(file.Fd()), 0, int(fi.Size()), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("%w: slot %s: %w", ErrShape, name, err)
	}
	s.peer[name] = &slotFile{name: name, mem: mem}
	return nil
}

// close unmaps every slot and removes this side's files.
func (s *slots) close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for _, f := range s.own {
		syscall.Munmap(f.mem)
		os.Remove(filepath.Join(s.dir, f.name))
	}
	for _, f := range s.peer {
		syscall.Munmap(f.mem)
	}
	s.own, s.peer = nil, nil
}
