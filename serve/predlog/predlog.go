// Package predlog is the prediction log of `dawn serve`: every answered
// request's inputs, outputs, model version and latency, appended to Parquet
// files in a directory or under an S3 prefix, the raw material for drift
// monitoring.
//
// The request path never waits on it: Log hands the entry to a bounded
// queue and, when the queue is full, drops the entry and counts the drop
// (dawn_serve_predlog_dropped_rows_total). A writer goroutine batches
// entries and rolls to a new file after RollRows rows, RollBytes bytes of
// data (uncompressed, as Arrow holds it) or RollEvery, and
// whenever the model's signature or classes change. Each file is written
// under a temporary name and renamed when complete (package data), so a
// reader of the directory only ever sees whole files.
//
// With an s3://bucket/prefix destination the files are written the same
// way into a local spool directory, and a third goroutine uploads each
// completed file as one object (a PUT: readers of the prefix only ever see
// whole objects) and then removes it. A failed upload is retried with
// doubling waits and counted (dawn_serve_predlog_errors_total); a file
// whose upload keeps failing stays in the spool and is retried later, and
// by the next server started with the same spool, rather than lost. Close
// uploads the last file before it returns.
package predlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dawn-ml/dawn/artifact/s3"
	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/serve"
)

// Options configures a Logger.
type Options struct {
	// Dir is where the Parquet files go: a directory (created if missing)
	// or s3://bucket/prefix.
	Dir       string
	RollRows  int           // rows per file (1,000,000 when 0)
	RollBytes int64         // a file's most data, uncompressed Arrow bytes (256 MiB when 0)
	RollEvery time.Duration // a file's longest life (1 minute when 0)
	Queue     int           // requests held before dropping (10,000 when 0)
	FlushRows int           // rows buffered before a row group is written (4,096 when 0)
	Logger    *slog.Logger

	// S3 overrides the endpoint and credentials of an s3:// Dir; what it
	// leaves empty comes from the AWS environment, as for dawn server's
	// artifact store. MaxAttempts is 1 unless set: the log retries itself.
	S3 s3.Options
	// Upload, when set, receives the completed files in place of the
	// store Dir names (which then only labels messages).
	Upload Uploader
	// Spool is where files wait for upload (default: a directory named for
	// Dir under the user's cache directory). Files found there at start
	// are uploaded first.
	Spool string
	// UploadAttempts is how many times a pass tries one file (3 when 0);
	// UploadBackoff the first wait between tries, doubling (1 s when 0).
	UploadAttempts int
	UploadBackoff  time.Duration
	// RetryEvery is how often files whose upload failed are tried again
	// (1 minute when 0); a newly completed file also starts a pass.
	RetryEvery time.Duration
	// UploadTimeout bounds one try (1 minute when 0); CloseTimeout the
	// last pass that Close makes (30 s when 0).
	UploadTimeout time.Duration
	CloseTimeout  time.Duration
}

// Logger is a serve.PredictionLog writing Parquet files.
type Logger struct {
	opt  Options
	ch   chan *serve.LogEntry
	done chan struct{}
	once sync.Once

	rows, dropped, files, errs, uploaded prometheus.Counter
	spooled                              prometheus.Gauge

	dir string    // where files are written: Dir, or the spool
	id  string    // this logger's part of file names
	up  *uploader // nil for a local directory

	// Owned by the writer goroutine:
	w         *data.Writer
	path      string
	sch       *arrow.Schema
	key       string   // signature of the current file's schema
	ctxNames  []string // the current file's context columns
	fileRow   int
	fileBytes int64
	opened    time.Time
	pending   []*serve.LogEntry
	pendN     int
	seq       int
	lastErr   error
}

var _ serve.PredictionLog = (*Logger)(nil)

// New starts a prediction log writing to opt.Dir.
func New(opt Options) (*Logger, error) {
	if opt.Dir == "" && opt.Upload == nil {
		return nil, fmt.Errorf("predlog: no directory")
	}
	remote := opt.Upload != nil || strings.HasPrefix(opt.Dir, "s3://")
	if !remote && strings.Contains(opt.Dir, "://") {
		return nil, fmt.Errorf("predlog: unsupported destination %q; use a directory or s3://bucket/prefix", opt.Dir)
	}
	if remote && opt.Upload == nil {
		so := opt.S3
		if so.MaxAttempts == 0 {
			so.MaxAttempts = 1
		}
		repo, err := s3.Open(context.Background(), opt.Dir, so)
		if err != nil {
			return nil, fmt.Errorf("predlog: %w", err)
		}
		opt.Upload = repo
	}
	dir := opt.Dir
	if remote {
		if opt.Spool == "" {
			opt.Spool = defaultSpool(opt.Dir)
		}
		dir = opt.Spool
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("predlog: %w", err)
	}
	if opt.RollRows <= 0 {
		opt.RollRows = 1_000_000
	}
	if opt.RollBytes <= 0 {
		opt.RollBytes = 256 << 20
	}
	if opt.RollEvery <= 0 {
		opt.RollEvery = time.Minute
	}
	if opt.Queue <= 0 {
		opt.Queue = 10_000
	}
	if opt.FlushRows <= 0 {
		opt.FlushRows = 4096
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.UploadAttempts <= 0 {
		opt.UploadAttempts = 3
	}
	if opt.UploadBackoff <= 0 {
		opt.UploadBackoff = time.Second
	}
	if opt.RetryEvery <= 0 {
		opt.RetryEvery = time.Minute
	}
	if opt.UploadTimeout <= 0 {
		opt.UploadTimeout = time.Minute
	}
	if opt.CloseTimeout <= 0 {
		opt.CloseTimeout = 30 * time.Second
	}
	l := &Logger{opt: opt, ch: make(chan *serve.LogEntry, opt.Queue), done: make(chan struct{}),
		dir: dir, id: fmt.Sprintf("%08x", rand.Uint32())}
	l.rows = prometheus.NewCounter(prometheus.CounterOpts{Name: "dawn_serve_predlog_rows_total", Help: "Rows written to the prediction log."})
	l.dropped = prometheus.NewCounter(prometheus.CounterOpts{Name: "dawn_serve_predlog_dropped_rows_total", Help: "Rows dropped because the prediction log's queue was full (or a write failed)."})
	l.files = prometheus.NewCounter(prometheus.CounterOpts{Name: "dawn_serve_predlog_files_total", Help: "Prediction-log files completed."})
	l.errs = prometheus.NewCounter(prometheus.CounterOpts{Name: "dawn_serve_predlog_errors_total", Help: "Prediction-log write errors and failed upload attempts."})
	l.uploaded = prometheus.NewCounter(prometheus.CounterOpts{Name: "dawn_serve_predlog_uploaded_files_total", Help: "Prediction-log files uploaded to the object store."})
	l.spooled = prometheus.NewGauge(prometheus.GaugeOpts{Name: "dawn_serve_predlog_spooled_files", Help: "Completed prediction-log files waiting in the spool for upload."})
	if remote {
		l.up = &uploader{dest: opt.Upload, name: strings.TrimRight(opt.Dir, "/"), spool: opt.Spool,
			attempts: opt.UploadAttempts, backoff: opt.UploadBackoff, every: opt.RetryEvery,
			timeout: opt.UploadTimeout, final: opt.CloseTimeout, log: opt.Logger,
			errs: l.errs, uploaded: l.uploaded, spooled: l.spooled}
		l.up.start()
	}
	go l.run(nil)
	return l, nil
}

// Collectors are the log's metrics, for the server's registry.
func (l *Logger) Collectors() []prometheus.Collector {
	return []prometheus.Collector{l.rows, l.dropped, l.files, l.errs, l.uploaded, l.spooled}
}

// Log queues e, or drops it when the queue is full. It never blocks.
func (l *Logger) Log(e *serve.LogEntry) {
	select {
	case l.ch <- e:
	default:
		l.dropped.Add(float64(e.Inputs.NumRows()))
		e.Inputs.Release()
	}
}

// Close writes what is queued, completes the current file, uploads what
// is spooled (for CloseTimeout at most) and stops. Call it after the server
// has stopped sending entries. Its error names files left in the spool.
func (l *Logger) Close() error {
	l.once.Do(func() { close(l.ch) })
	<-l.done
	err := l.lastErr
	if l.up != nil {
		err = errors.Join(err, l.up.close())
	}
	return err
}

// run writes entries; it first waits for hold to close when hold is set
// (tests use it to fill the queue).
func (l *Logger) run(hold chan struct{}) {
	defer close(l.done)
	if hold != nil {
		<-hold
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case e, ok := <-l.ch:
			if !ok {
				l.flush()
				l.finish()
				return
			}
			l.add(e)
		case now := <-tick.C:
			l.flush()
			if l.w != nil && now.Sub(l.opened) >= l.opt.RollEvery {
				l.finish()
			}
		}
	}
}

// schemaKey identifies what a file's schema depends on.
func schemaKey(e *serve.LogEntry) string {
	return e.Inputs.Schema().String() + "|" + fmt.Sprint(e.Pred.Classes, e.Pred.Values != nil && e.Pred.Probs == nil, e.Pred.Stage != nil)
}

func (l *Logger) add(e *serve.LogEntry) {
	k := schemaKey(e)
	names := contextNames(e)
	if k != l.key || !coversAll(l.ctxNames, names) {
		l.flush()
		l.finish()
		// A file keeps the context columns seen so far (requests that lack
		// one get nulls), so clients sending different ones do not make a
		// file each; the union is bounded like one request's.
		if u := union(l.ctxNames, names); k == l.key && len(u) <= serve.MaxContextColumns {
			l.ctxNames = u
		} else {
			l.ctxNames = names
		}
		l.key = k
	}
	l.pending = append(l.pending, e)
	l.pendN += int(e.Inputs.NumRows())
	if l.pendN >= l.opt.FlushRows {
		l.flush()
	}
	if l.w != nil && (l.fileRow >= l.opt.RollRows || l.fileBytes >= l.opt.RollBytes) {
		l.finish()
	}
}

func (l *Logger) fail(err error) {
	l.errs.Inc()
	l.lastErr = err
	l.opt.Logger.Error("predlog: write failed; dropping rows", "file", l.path, "err", err)
	if l.w != nil {
		l.w.Abort()
		l.w = nil
	}
}

func (l *Logger) finish() {
	if l.w == nil {
		return
	}
	if err := l.w.Close(); err != nil {
		l.fail(err)
		return
	}
	l.w = nil
	l.files.Inc()
	if l.up != nil {
		l.up.notify()
	}
}

func (l *Logger) flush() {
	if len(l.pending) == 0 {
		return
	}
	batch := l.pending
	n := l.pendN
	l.pending, l.pendN = nil, 0
	defer func() {
		for _, e := range batch {
			e.Inputs.Release()
		}
	}()
	rec, sch := build(batch, l.ctxNames)
	defer rec.Release()
	if l.w == nil {
		l.seq++
		// The time first, so names sort oldest first; the logger's id keeps
		// names apart when several servers write to one prefix.
		l.path = filepath.Join(l.dir, fmt.Sprintf("predictions-%s-%s-%04d.parquet", time.Now().UTC().Format("20060102T150405.000000"), l.id, l.seq))
		w, err := data.Create(l.path, sch, data.WriteOptions{})
		if err != nil {
			l.dropped.Add(float64(n))
			l.fail(err)
			return
		}
		l.w, l.sch, l.fileRow, l.fileBytes, l.opened = w, sch, 0, 0, time.Now()
	}
	if err := l.w.Write(rec); err != nil {
		l.dropped.Add(float64(n))
		l.fail(err)
		return
	}
	l.fileRow += n
	l.fileBytes += recordBytes(rec)
	l.rows.Add(float64(n))
}

// recordBytes is the size of a record's buffers (its columns are flat).
func recordBytes(rec arrow.RecordBatch) int64 {
	var n int64
	for _, c := range rec.Columns() {
		for _, b := range c.Data().Buffers() {
			if b != nil {
				n += int64(b.Len())
			}
		}
	}
	return n
}

func contextNames(e *serve.LogEntry) []string {
	if len(e.Context) == 0 {
		return nil
	}
	names := make([]string, len(e.Context))
	for i, c := range e.Context {
		names[i] = c.Name
	}
	return names
}

func coversAll(have, want []string) bool {
	for _, n := range want {
		if !slices.Contains(have, n) {
			return false
		}
	}
	return true
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, n := range b {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// build makes one record of the entries: time, model_version, latency_ms,
// the input columns (renamed input_<name> when an output takes the name),
// then prob_<class> and label, or prediction, and stage, then the context
// columns ctx (strings, null where an entry lacks one; renamed
// context_<name> when another column takes the name).
func build(es []*serve.LogEntry, ctx []string) (arrow.RecordBatch, *arrow.Schema) {
	first := es[0]
	p := first.Pred
	var outNames []string
	for _, c := range p.Classes {
		outNames = append(outNames, "prob_"+c)
	}
	regression := p.Values != nil && p.Probs == nil
	if regression {
		outNames = append(outNames, "prediction")
	} else {
		outNames = append(outNames, "label")
	}
	if p.Stage != nil {
		outNames = append(outNames, "stage")
	}
	fields := []arrow.Field{
		{Name: "time", Type: arrow.FixedWidthTypes.Timestamp_us},
		{Name: "model_version", Type: arrow.BinaryTypes.String},
		{Name: "latency_ms", Type: arrow.PrimitiveTypes.Float64},
		// request_id and request_row (the row's index in its request) are
		// the key later labels join on.
		{Name: "request_id", Type: arrow.BinaryTypes.String},
		{Name: "request_row", Type: arrow.PrimitiveTypes.Int64},
	}
	const fixed = 5
	inSch := first.Inputs.Schema()
	for _, f := range inSch.Fields() {
		if slices.Contains(outNames, f.Name) || f.Name == "time" || f.Name == "model_version" || f.Name == "latency_ms" || f.Name == "request_id" || f.Name == "request_row" {
			f.Name = "input_" + f.Name
		}
		f.Nullable = true
		fields = append(fields, f)
	}
	for _, name := range outNames {
		t := arrow.DataType(arrow.PrimitiveTypes.Float64)
		if name == "label" || name == "stage" {
			t = arrow.BinaryTypes.String
		}
		fields = append(fields, arrow.Field{Name: name, Type: t, Nullable: true})
	}
	taken := func(name string) bool {
		return slices.ContainsFunc(fields, func(f arrow.Field) bool { return f.Name == name })
	}
	for _, name := range ctx {
		for taken(name) {
			name = "context_" + name
		}
		fields = append(fields, arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true})
	}
	sch := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sch)
	defer b.Release()
	nIn := len(inSch.Fields())
	tb := b.Field(0).(*array.TimestampBuilder)
	vb := b.Field(1).(*array.StringBuilder)
	lb := b.Field(2).(*array.Float64Builder)
	ib := b.Field(3).(*array.StringBuilder)
	rb := b.Field(4).(*array.Int64Builder)
	for _, e := range es {
		n := int(e.Inputs.NumRows())
		for r := 0; r < n; r++ {
			tb.Append(arrow.Timestamp(e.Time.UnixMicro()))
			vb.Append(e.ModelVersion)
			lb.Append(float64(e.Latency.Microseconds()) / 1000)
			ib.Append(e.RequestID)
			rb.Append(int64(r))
		}
	}
	cols := make([]arrow.Array, len(fields))
	cols[0], cols[1], cols[2], cols[3], cols[4] = tb.NewArray(), vb.NewArray(), lb.NewArray(), ib.NewArray(), rb.NewArray()
	for c := 0; c < nIn; c++ {
		parts := make([]arrow.Array, len(es))
		for i, e := range es {
			parts[i] = e.Inputs.Column(c)
		}
		col, err := array.Concatenate(parts, memory.DefaultAllocator)
		if err != nil {
			panic("predlog: concatenating one column's slices cannot fail: " + err.Error())
		}
		cols[fixed+c] = col
	}
	k := len(p.Classes)
	o := fixed + nIn
	for ci := 0; ci < k; ci++ {
		fb := array.NewFloat64Builder(memory.DefaultAllocator)
		for _, e := range es {
			for r := 0; r < int(e.Inputs.NumRows()); r++ {
				fb.Append(e.Pred.Probs[(e.Off+r)*k+ci])
			}
		}
		cols[o+ci] = fb.NewArray()
		fb.Release()
	}
	o += k
	if regression {
		fb := array.NewFloat64Builder(memory.DefaultAllocator)
		for _, e := range es {
			fb.AppendValues(e.Pred.Values[e.Off:e.Off+int(e.Inputs.NumRows())], nil)
		}
		cols[o] = fb.NewArray()
		fb.Release()
	} else {
		sb := array.NewStringBuilder(memory.DefaultAllocator)
		for _, e := range es {
			for r := 0; r < int(e.Inputs.NumRows()); r++ {
				if l := e.Pred.Labels[e.Off+r]; l >= 0 && l < len(e.Pred.Classes) {
					sb.Append(e.Pred.Classes[l])
				} else {
					sb.AppendNull()
				}
			}
		}
		cols[o] = sb.NewArray()
		sb.Release()
	}
	o++
	if p.Stage != nil {
		sb := array.NewStringBuilder(memory.DefaultAllocator)
		for _, e := range es {
			sb.AppendValues(e.Pred.Stage[e.Off:e.Off+int(e.Inputs.NumRows())], nil)
		}
		cols[o] = sb.NewArray()
		sb.Release()
		o++
	}
	for _, name := range ctx {
		sb := array.NewStringBuilder(memory.DefaultAllocator)
		for _, e := range es {
			n := int(e.Inputs.NumRows())
			i := slices.IndexFunc(e.Context, func(c serve.ContextColumn) bool { return c.Name == name })
			if i < 0 {
				sb.AppendNulls(n)
				continue
			}
			c := e.Context[i]
			for r := 0; r < n; r++ {
				if c.Null != nil && c.Null[r] {
					sb.AppendNull()
				} else {
					sb.Append(c.Values[r])
				}
			}
		}
		cols[o] = sb.NewArray()
		sb.Release()
		o++
	}
	total := 0
	for _, e := range es {
		total += int(e.Inputs.NumRows())
	}
	rec := array.NewRecordBatch(sch, cols, int64(total))
	for _, c := range cols {
		c.Release()
	}
	return rec, sch
}
