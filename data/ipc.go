package data

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// arrowMagic opens an Arrow IPC file (as opposed to a stream).
var arrowMagic = []byte("ARROW1")

// ipcSource reads the Arrow IPC file format (random access, one batch at a
// time) or the stream format, telling them apart by the file's magic bytes.
type ipcSource struct {
	f    *countingFile
	rc   io.Closer // instead of f, for a stream
	path string
	fr   *ipc.FileReader
	sr   *ipc.Reader
	i    int // next batch of fr
	sch  *arrow.Schema
	cut  slicer
	row  int64
	err  error
}

func newIPC(f *countingFile, path string, opt *Options) (src *ipcSource, err error) {
	defer recoverInto(&err, path, 0)
	head := make([]byte, len(arrowMagic))
	n, _ := io.ReadFull(f, head)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, &Error{File: path, Err: err}
	}
	s := &ipcSource{f: f, path: path}
	if n == len(arrowMagic) && bytes.Equal(head, arrowMagic) {
		s.fr, err = ipc.NewFileReader(f, ipc.WithAllocator(opt.Alloc))
		if err != nil {
			return nil, &Error{File: path, Err: fmt.Errorf("not a readable Arrow IPC file (truncated or corrupt?): %w", err)}
		}
		s.sch = s.fr.Schema()
	} else {
		s.sr, err = ipc.NewReader(f, ipc.WithAllocator(opt.Alloc))
		if err != nil {
			return nil, &Error{File: path, Err: fmt.Errorf("not a readable Arrow IPC file or stream: %w", err)}
		}
		s.sch = s.sr.Schema()
	}
	return s, nil
}

// newIPCStream reads the Arrow IPC stream format from a plain reader.
func newIPCStream(r io.ReadCloser, name string, opt *Options) (src *ipcSource, err error) {
	defer recoverInto(&err, name, 0)
	sr, err := ipc.NewReader(r, ipc.WithAllocator(opt.Alloc))
	if err != nil {
		return nil, &Error{File: name, Err: fmt.Errorf("not a readable Arrow IPC stream: %w", err)}
	}
	return &ipcSource{rc: r, path: name, sr: sr, sch: sr.Schema()}, nil
}

func (s *ipcSource) schema() *arrow.Schema { return s.sch }

func (s *ipcSource) next(max int) (rec arrow.RecordBatch, err error) {
	if s.err != nil {
		return nil, s.err
	}
	defer func() {
		if err != nil && !errors.Is(err, io.EOF) {
			s.err = err
		}
	}()
	defer recoverInto(&err, s.path, s.row+1)
	for {
		if b := s.cut.take(max); b != nil {
			s.row += b.NumRows()
			return b, nil
		}
		var b arrow.RecordBatch
		if s.fr != nil {
			if s.i >= s.fr.NumRecords() {
				return nil, io.EOF
			}
			b, err = s.fr.RecordBatchAt(s.i)
			s.i++
			if err != nil {
				return nil, &Error{File: s.path, Row: s.row + 1, Err: fmt.Errorf("reading Arrow batch %d: %w", s.i, err)}
			}
		} else {
			if !s.sr.Next() {
				if err := s.sr.Err(); err != nil && !errors.Is(err, io.EOF) {
					return nil, &Error{File: s.path, Row: s.row + 1, Err: fmt.Errorf("reading Arrow stream: %w", err)}
				}
				return nil, io.EOF
			}
			b = s.sr.RecordBatch()
			b.Retain()
		}
		s.cut.set(b)
	}
}

func (s *ipcSource) close() error {
	s.cut.release()
	if s.fr != nil {
		s.fr.Close()
	}
	if s.sr != nil {
		s.sr.Release()
	}
	if s.rc != nil {
		return s.rc.Close()
	}
	return s.f.Close()
}
