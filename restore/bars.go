package main

import (
	"io"
	"path/filepath"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/restorekit/restore/host"
)

// bars draws progress on a terminal: a bar of network evaluations for the
// image being restored, and for a batch a bar of files, each with its ETA.
// Lines written to bars print above them, so messages and bars do not mix.
type bars struct {
	w     io.Writer // the terminal
	p     *mpb.Progress
	files *mpb.Bar // nil for a single file

	mu      sync.Mutex
	img     *mpb.Bar // the current image's bar, made at its first evaluation
	closed  bool
	pending []byte // lines written while no bar was running, printed by close
}

// newBars starts drawing on w for a run of n files.
func newBars(w io.Writer, n int) *bars {
	b := &bars{w: w, p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(32), mpb.WithRefreshRate(120*time.Millisecond))}
	if n > 1 {
		b.files = b.p.AddBar(int64(n),
			mpb.PrependDecorators(decor.Name("files", decor.WCSyncSpaceR), decor.CountersNoUnit("%d/%d", decor.WCSyncWidth)),
			mpb.AppendDecorators(decor.OnComplete(decor.Name("files, ETA "), "files, done"), decor.OnComplete(decor.AverageETA(decor.ET_STYLE_GO), "")))
	}
	return b
}

// image returns the progress callback for one file's restoration. Its bar
// counts network evaluations over all samples and estimates the time left
// from the average time per evaluation so far.
func (b *bars) image(path string) func(host.Progress) {
	start := time.Now()
	name := filepath.Base(path)
	var bar *mpb.Bar
	return func(p host.Progress) {
		if bar == nil {
			b.mu.Lock()
			if b.closed {
				b.mu.Unlock()
				return
			}
			bar = b.p.AddBar(int64(p.Total), mpb.BarRemoveOnComplete(),
				mpb.PrependDecorators(decor.Name(name, decor.WCSyncSpaceR), decor.CountersNoUnit("%d/%d", decor.WCSyncWidth)),
				mpb.AppendDecorators(decor.Name("evaluations, ETA "), decor.NewAverageETA(decor.ET_STYLE_GO, start, nil)))
			b.img = bar
			b.mu.Unlock()
		}
		bar.SetCurrent(int64(p.Evaluation))
	}
}

// done ends the current file's bar and counts the file in the batch.
func (b *bars) done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.img != nil && !b.img.Completed() {
		b.img.Abort(true)
	}
	b.img = nil
	if b.files != nil {
		b.files.Increment()
	}
}

// Write prints p above the bars (directly once they are closed). While no
// bar is running, p waits for close: mpb prints intercepted lines at its
// next drawing, and after the last bar's final drawing there may be none
// (the "wrote" line of a single file was lost that way, depending on timing).
func (b *bars) Write(p []byte) (int, error) {
	b.mu.Lock()
	closed := b.closed
	running := (b.img != nil && !b.img.Completed()) || (b.files != nil && !b.files.Completed())
	if !closed && !running {
		b.pending = append(b.pending, p...)
		b.mu.Unlock()
		return len(p), nil
	}
	b.mu.Unlock()
	if !closed {
		if n, err := b.p.Write(p); err == nil {
			return n, nil
		}
	}
	return b.w.Write(p)
}

// close removes unfinished bars and waits for the last drawing.
func (b *bars) close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	if b.img != nil && !b.img.Completed() {
		b.img.Abort(true)
	}
	if b.files != nil && !b.files.Completed() {
		b.files.Abort(false)
	}
	b.mu.Unlock()
	b.p.Wait()
	b.mu.Lock()
	pending := b.pending
	b.pending = nil
	b.mu.Unlock()
	if len(pending) > 0 {
		b.w.Write(pending)
	}
}
