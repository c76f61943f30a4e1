package serve

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dawn-ml/dawn/model"
)

// Options tunes a Server. The zero value is usable.
type Options struct {
	// Version is the body of GET /version ("dev" when empty).
	Version string
	// MaxBatchRows caps the rows of one micro-batch (1024 when 0). Requests
	// at least this large skip the queue and are scored on their own.
	MaxBatchRows int
	// MaxWait bounds how long a micro-batch waits, from its first request,
	// for more requests once the queue is empty. 0 batches only what queued
	// up while the previous batch was being scored, adding no latency.
	MaxWait time.Duration
	// Workers is the number of concurrent Predict calls (GOMAXPROCS when 0).
	Workers int
	// MaxBodyBytes caps a request body (64 MiB when 0).
	MaxBodyBytes int64
	// MaxRows caps the rows of one request (DefaultMaxRows when 0); larger
	// requests get 413, found while parsing (see limits).
	MaxRows int
	// Log, when set, receives every answered request; it must not block.
	Log PredictionLog
	// Logger receives server errors (slog.Default when nil).
	Logger *slog.Logger
}

// PredictionLog receives each answered request. Log must return at once
// (drop rather than block); it owns the entry and must Release its Inputs.
type PredictionLog interface {
	Log(e *LogEntry)
}

// LogEntry is one answered request: its input rows, the prediction for
// them, the model version and the latency.
type LogEntry struct {
	Time         time.Time
	ModelVersion string
	// RequestID is the request's X-Request-Id, or the one the server made
	// up (and returned in the response's X-Request-Id).
	RequestID string
	Latency   time.Duration
	Inputs    arrow.RecordBatch // this request's rows; the receiver releases it
	// Context is the request's context columns (extra columns not in the
	// signature, bounded by MaxContextColumns and MaxContextBytes), one
	// value per row of Inputs.
	Context []ContextColumn
	Pred    *model.Prediction
	Off     int // the request's rows are Pred rows [Off, Off+Inputs.NumRows())
}

// Server serves one model at a time over MLflow's scoring protocol.
type Server struct {
	opt     Options
	log     *slog.Logger
	cur     atomic.Pointer[served]
	metrics *metrics
	mux     *http.ServeMux
	ctx     context.Context // cancelled by Close: stops the batch workers
	stop    context.CancelFunc
	swapMu  sync.Mutex
	closed  bool // under swapMu: Close has run
	// swapCount counts completed swaps.
	swapCount atomic.Int64
	bufPool   sync.Pool
}

// served is one loaded model with its own batch queue, so that a request
// parsed against one model's signature is always scored by that model.
type served struct {
	m        model.Model
	info     *model.Info
	version  string
	sig      *signature
	lim      limits
	enc      *encoder
	queue    chan *job
	inflight atomic.Int64
	retired  atomic.Bool
	workers  sync.WaitGroup
}

type job struct {
	t     *table
	pred  *model.Prediction
	off   int
	batch arrow.RecordBatch // the scored batch, kept only for the prediction log
	err   error
	done  chan struct{}
}

// New makes a server for m, reported as version (e.g. "3" or a directory).
func New(m model.Model, version string, opt Options) (*Server, error) {
	if opt.Version == "" {
		opt.Version = "dev"
	}
	if opt.MaxBatchRows <= 0 {
		opt.MaxBatchRows = 1024
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.MaxBodyBytes <= 0 {
		opt.MaxBodyBytes = 64 << 20
	}
	if opt.MaxRows <= 0 {
		opt.MaxRows = DefaultMaxRows
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	s := &Server{opt: opt, log: opt.Logger, metrics: newMetrics()}
	s.ctx, s.stop = context.WithCancel(context.Background())
	s.bufPool.New = func() any { b := make([]byte, 0, 4096); return &b }
	sv, err := s.prepare(m, version)
	if err != nil {
		return nil, err
	}
	s.cur.Store(sv)
	s.metrics.setVersion(version)
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /ping", s.handlePing)
	s.mux.HandleFunc("GET /health", s.handlePing)
	s.mux.HandleFunc("GET /version", s.handleVersion)
	s.mux.HandleFunc("POST /invocations", s.handleInvocations)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{Registry: s.metrics.reg}))
	return s, nil
}

func (s *Server) prepare(m model.Model, version string) (*served, error) {
	info := m.Info()
	if info == nil {
		return nil, fmt.Errorf("serve: model %s has no info", version)
	}
	sig, err := newSignature(info.Inputs)
	if err != nil {
		return nil, fmt.Errorf("serve: model %s: %w", version, err)
	}
	sv := &served{m: m, info: info, version: version, sig: sig, lim: newLimits(s.opt.MaxRows, sig), enc: newEncoder(info.Classes),
		queue: make(chan *job, 4*s.opt.MaxBatchRows)}
	for range s.opt.Workers {
		sv.workers.Add(1)
		go s.batchLoop(sv)
	}
	return sv, nil
}

// Handler returns the HTTP handler of the scoring protocol and /metrics.
func (s *Server) Handler() http.Handler { return s.mux }

// Registry is the server's own Prometheus registry, for adding collectors.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

// ModelVersion is the version now being served.
func (s *Server) ModelVersion() string { return s.cur.Load().version }

// Swap starts serving m. Requests already admitted finish on the previous
// model; Swap returns once they have, so the caller may then free it.
func (s *Server) Swap(m model.Model, version string) error {
	s.swapMu.Lock()
	defer s.swapMu.Unlock()
	if s.closed {
		return errors.New("serve: swap: the server is closed")
	}
	sv, err := s.prepare(m, version)
	if err != nil {
		return err
	}
	old := s.cur.Swap(sv)
	s.metrics.setVersion(version)
	s.metrics.swaps.Inc()
	old.retire()
	s.swapCount.Add(1)
	return nil
}

// retire waits for the requests admitted on sv to finish, then stops its
// batch workers.
func (sv *served) retire() {
	sv.retired.Store(true)
	for sv.inflight.Load() > 0 {
		time.Sleep(200 * time.Microsecond)
	}
	close(sv.queue)
	sv.workers.Wait()
}

// acquire admits a request on the current model.
func (s *Server) acquire() *served {
	for {
		sv := s.cur.Load()
		sv.inflight.Add(1)
		if !sv.retired.Load() {
			return sv
		}
		sv.inflight.Add(-1) // lost a race with Swap: take the new model
	}
}

// Close stops the batch workers; call it after the HTTP server has shut
// down. Later calls, and Swap after Close, do nothing.
func (s *Server) Close() {
	s.swapMu.Lock()
	defer s.swapMu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	s.cur.Load().retire()
	s.stop()
}

// Serve answers on ln until ctx is done, then shuts down gracefully: it
// stops accepting, lets requests in flight finish (up to grace), and stops
// the batch workers.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	hs := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		s.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := hs.Shutdown(sctx)
	<-errc
	s.Close()
	if err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	return nil
}

func (s *Server) handlePing(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if s.cur.Load() == nil {
		w.WriteHeader(http.StatusNotFound)
	}
	io.WriteString(w, "\n")
}

func (s *Server) handleVersion(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, s.opt.Version)
}

// writeError writes MLflow's error JSON.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b := append([]byte(`{"error_code":`), appendString(nil, code)...)
	b = append(b, `,"message":`...)
	b = appendString(b, msg)
	b = append(b, "}\n"...)
	w.Write(b)
}

func (s *Server) fail(w http.ResponseWriter, start time.Time, err error) {
	var re *RequestError
	if errors.As(err, &re) {
		writeError(w, re.Status, re.Code, re.Msg)
		s.metrics.observe(re.Status, start)
		return
	}
	s.log.Error("serve: predict", "err", err)
	writeError(w, 500, codeInternal, err.Error())
	s.metrics.observe(500, start)
}

func (s *Server) handleInvocations(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sv := s.acquire()
	defer sv.inflight.Add(-1)

	reqID, ok := requestID(r.Header)
	if !ok {
		s.fail(w, start, &RequestError{Status: 400, Code: codeBadRequest,
			Msg: fmt.Sprintf("X-Request-Id must be 1 to %d printable ASCII characters", maxRequestID)})
		return
	}
	w.Header()["X-Request-Id"] = []string{reqID}

	ct := r.Header.Get("Content-Type")
	mt, params := ct, map[string]string(nil)
	if ct != "application/json" { // what nearly every client sends: nothing to parse
		var perr error
		mt, params, perr = mime.ParseMediaType(ct)
		if perr != nil && ct != "" {
			mt = strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
			params = nil
		}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		s.fail(w, start, &RequestError{Status: 415, Code: codeBadRequest, Msg: "The scoring server only supports UTF-8"})
		return
	}
	for p := range params {
		if p != "charset" {
			s.fail(w, start, &RequestError{Status: 415, Code: codeBadRequest, Msg: "Unrecognized content type parameters: " + p + "."})
			return
		}
	}
	if mt != "application/json" && mt != "text/csv" {
		s.fail(w, start, &RequestError{Status: 415, Code: codeBadRequest,
			Msg: fmt.Sprintf("This predictor only supports the following content types: Types: ['text/csv', 'application/json']. Got '%s'.", ct)})
		return
	}
	bp := s.bufPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 1<<20 { // do not keep a huge request's buffer
			s.bufPool.Put(bp)
		}
	}()
	body, err := readBody(r.Body, (*bp)[:0], s.opt.MaxBodyBytes)
	*bp = body[:0]
	if err != nil {
		s.fail(w, start, err)
		return
	}
	var t *table
	if mt == "text/csv" {
		t, err = parseCSV(body, sv.sig, sv.lim)
	} else {
		t, err = parseJSON(body, sv.sig, sv.lim)
	}
	if err != nil {
		s.fail(w, start, err)
		return
	}
	j := s.score(sv, t)
	if j.err != nil {
		s.fail(w, start, j.err)
		return
	}
	n := t.n
	out := append(body[:0], `{"predictions":[`...)
	out = sv.enc.appendRows(out, j.pred, j.off, n)
	out = append(out, "]}\n"...)
	*bp = out[:0]
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(len(out))}
	w.Write(out)
	if j.pred.Stage != nil {
		s.metrics.countStages(j.pred.Stage[j.off : j.off+n])
	}
	s.metrics.rows.Add(float64(n))
	lat := s.metrics.observe(200, start)
	if s.opt.Log != nil && j.batch != nil {
		s.opt.Log.Log(&LogEntry{Time: start, ModelVersion: sv.version, RequestID: reqID, Latency: lat,
			Inputs: j.batch.NewSlice(int64(j.off), int64(j.off+n)), Context: t.ctx, Pred: j.pred, Off: j.off})
	}
	if j.batch != nil {
		j.batch.Release()
	}
}

// maxRequestID bounds a caller's X-Request-Id.
const maxRequestID = 128

// requestPrefix makes generated request ids unique across restarts; a
// counter makes them unique within one process.
var (
	requestPrefix = func() string {
		var b [6]byte
		crand.Read(b[:])
		return hex.EncodeToString(b[:])
	}()
	requestSeq atomic.Uint64
)

// requestID returns the caller's X-Request-Id when it is valid (ok false
// when it is not), else a new id.
func requestID(h http.Header) (string, bool) {
	v := h["X-Request-Id"]
	if len(v) == 0 || v[0] == "" {
		return requestPrefix + "-" + strconv.FormatUint(requestSeq.Add(1), 36), true
	}
	id := v[0]
	if len(id) > maxRequestID {
		return "", false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return "", false
		}
	}
	return id, true
}

func readBody(r io.Reader, buf []byte, limit int64) ([]byte, error) {
	lr := &io.LimitedReader{R: r, N: limit + 1}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return buf, badRequest("reading the request body: %v", err)
		}
	}
	if int64(len(buf)) > limit {
		return buf, &RequestError{Status: 413, Code: codeBadRequest, Msg: fmt.Sprintf("request body larger than %d bytes", limit)}
	}
	return buf, nil
}

// jsonContentType is shared by every response's header (canonical key, no
// allocation); its capacity of 1 makes an Add elsewhere copy, not write.
var jsonContentType = []string{"application/json"}

var donePool = sync.Pool{New: func() any { return make(chan struct{}, 1) }}

// score predicts t's rows, through the micro-batch queue unless t alone is a
// full batch. (Scoring a small request in its handler when a worker is free
// saved the hop but served requests in goroutine-scheduling order instead
// of the queue's arrival order: p99 latency rose from 4.8-5.5 to 5.2-5.7 ms
// under 32 single-row clients, at the same throughput.)
func (s *Server) score(sv *served, t *table) *job {
	j := &job{t: t}
	if t.n >= s.opt.MaxBatchRows || t.n == 0 {
		s.runBatch(sv, []*job{j})
		return j
	}
	j.done = donePool.Get().(chan struct{})
	sv.queue <- j
	<-j.done
	donePool.Put(j.done)
	return j
}

// batchLoop scores queued jobs in batches: it takes what is queued (up to
// MaxBatchRows rows), waits until MaxWait after the first for more, and
// scores them in one Predict call.
func (s *Server) batchLoop(sv *served) {
	defer sv.workers.Done()
	var timer *time.Timer
	batch := make([]*job, 0, 64)
	for j := range sv.queue {
		batch = append(batch[:0], j)
		rows := j.t.n
		waiting := false // the MaxWait timer, counted from the first job, is running
	drain:
		for rows < s.opt.MaxBatchRows {
			select {
			case j2, ok := <-sv.queue:
				if !ok {
					break drain
				}
				batch = append(batch, j2)
				rows += j2.t.n
				continue
			default:
			}
			if s.opt.MaxWait <= 0 {
				break
			}
			if !waiting {
				if timer == nil {
					timer = time.NewTimer(s.opt.MaxWait)
				} else {
					timer.Reset(s.opt.MaxWait)
				}
				waiting = true
			}
			select {
			case j2, ok := <-sv.queue:
				if !ok {
					break drain
				}
				batch = append(batch, j2)
				rows += j2.t.n
			case <-timer.C:
				waiting = false
				break drain
			}
		}
		if waiting {
			timer.Stop()
		}
		s.runBatch(sv, batch)
		for _, b := range batch {
			b.done <- struct{}{}
		}
	}
}

func (s *Server) runBatch(sv *served, batch []*job) {
	tabs := make([]*table, len(batch))
	total := 0
	for i, j := range batch {
		tabs[i] = j.t
		total += j.t.n
	}
	rec := buildRecord(sv.sig, tabs, memory.DefaultAllocator)
	s.metrics.batchRows.Observe(float64(total))
	pred, err := sv.m.Predict(s.ctx, rec)
	if err == nil {
		err = checkPrediction(pred, total)
	}
	if errors.Is(err, model.ErrBadInput) {
		if len(batch) > 1 {
			// One request's rows failed the whole micro-batch: score each
			// request alone, so only that one gets the error.
			rec.Release()
			for _, j := range batch {
				s.runBatch(sv, []*job{j})
			}
			return
		}
		err = invalidParam("%v", err)
	}
	off := 0
	for _, j := range batch {
		j.pred, j.off, j.err = pred, off, err
		if err == nil && s.opt.Log != nil {
			rec.Retain()
			j.batch = rec
		}
		off += j.t.n
	}
	rec.Release()
}
