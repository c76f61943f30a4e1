package data

import (
	"runtime"

	"github.com/apache/arrow-go/v18/arrow"
)

// pipe parses the next batch on its own goroutine while the caller works on
// the current one, so that reading and parsing a text file overlap with
// whatever consumes it. Batches and errors arrive in file order, exactly as
// the wrapped source yields them; at most two batches are held ahead.
type pipe struct {
	src     source
	ch      chan pipeResult
	stop    chan struct{}
	started bool
	last    error // the error that ended the stream, returned again after it
}

type pipeResult struct {
	rec arrow.RecordBatch
	err error
}

// pipelined wraps src when there is a second core to parse on.
func pipelined(src source) source {
	if runtime.GOMAXPROCS(0) < 2 {
		return src
	}
	return &pipe{src: src}
}

func (p *pipe) schema() *arrow.Schema { return p.src.schema() }

func (p *pipe) next(max int) (arrow.RecordBatch, error) {
	if !p.started {
		p.started = true
		p.ch = make(chan pipeResult, 1)
		p.stop = make(chan struct{})
		go p.run(max)
	}
	r, ok := <-p.ch
	if !ok {
		return nil, p.last
	}
	if r.err != nil {
		p.last = r.err
	}
	return r.rec, r.err
}

func (p *pipe) run(max int) {
	defer close(p.ch)
	for {
		rec, err := p.src.next(max)
		select {
		case p.ch <- pipeResult{rec, err}:
		case <-p.stop:
			if rec != nil {
				rec.Release()
			}
			return
		}
		if err != nil {
			return
		}
	}
}

// close stops the parsing goroutine, drops the batches it read ahead and
// closes the file.
func (p *pipe) close() error {
	if p.started {
		close(p.stop)
		for r := range p.ch {
			if r.rec != nil {
				r.rec.Release()
			}
		}
		p.started = false
	}
	return p.src.close()
}
