// Package progress draws a progress bar for long work, and only on a
// terminal: when the output is a pipe, a file or a test's buffer every method
// is a silent no-op, so commands can report progress unconditionally.
package progress

import (
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Bar is a progress bar, or a no-op when its writer is not a terminal. A nil
// *Bar is a valid no-op bar too.
type Bar struct {
	pb   *progressbar.ProgressBar
	done atomic.Bool
}

// fder is what *os.File offers for the terminal check.
type fder interface{ Fd() uintptr }

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(fder)
	return ok && term.IsTerminal(int(f.Fd()))
}

// New returns a bar counting up to total (unknown when total <= 0: a
// spinner with a count) that draws on w, normally os.Stderr, when w is a
// terminal, and does nothing otherwise.
func New(w io.Writer, total int64, description string) *Bar {
	if !IsTerminal(w) {
		return &Bar{}
	}
	return newBar(w, total, description)
}

func newBar(w io.Writer, total int64, description string) *Bar {
	if total <= 0 {
		total = -1
	}
	// Drawn at once, so the work is visible before its first step ends.
	return &Bar{pb: progressbar.NewOptions64(total,
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(description),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionFullWidth(),
	)}
}

// Active reports whether the bar draws anything.
func (b *Bar) Active() bool { return b != nil && b.pb != nil }

// Describe replaces the bar's description, e.g. when work moves to its
// next stage.
func (b *Bar) Describe(description string) {
	if b.Active() {
		b.pb.Describe(description)
	}
}

// Add advances the bar by n.
func (b *Bar) Add(n int64) {
	if b.Active() {
		b.pb.Add64(n)
	}
}

// Set moves the bar to n.
func (b *Bar) Set(n int64) {
	if b.Active() {
		b.pb.Set64(n)
	}
}

// Finish completes the bar and clears it from the terminal. It is safe to
// call more than once.
func (b *Bar) Finish() {
	if b.Active() && !b.done.Swap(true) {
		b.pb.Finish()
	}
}

// Reader returns r wrapped so that every byte read advances the bar; with a
// no-op bar it returns r itself.
func (b *Bar) Reader(r io.Reader) io.Reader {
	if !b.Active() {
		return r
	}
	return &reader{r: r, b: b}
}

type reader struct {
	r io.Reader
	b *Bar
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.b.Add(int64(n))
	return n, err
}

// FileSize is the size of the file at path, or 0 when it cannot be told
// (for a bar's total).
func FileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() {
		return 0
	}
	return st.Size()
}
