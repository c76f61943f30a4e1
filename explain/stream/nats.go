package stream

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// StartEmbedded runs a NATS server with JetStream inside the process on
// 127.0.0.1 (port 0 picks a free one), storing streams under storeDir, so
// producers can publish without any setup and rows survive a restart of
// the server on the same directory. It returns the server and its client
// URL; Shutdown the server when done.
func StartEmbedded(port int, storeDir string) (*server.Server, string, error) {
	if port == 0 {
		port = server.RANDOM_PORT
	}
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoSigs: true, NoLog: true, MaxPayload: 8 << 20,
		JetStream: true, StoreDir: storeDir})
	if err != nil {
		return nil, "", fmt.Errorf("stream: embedded nats: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, "", fmt.Errorf("stream: embedded nats did not start")
	}
	return s, s.ClientURL(), nil
}

// Connect dials a NATS server for a NATSReader: it reconnects without a
// limit on attempts (NATSOptions.MaxOutage bounds how long the reader waits).
func Connect(url, name string) (*nats.Conn, error) {
	nc, err := nats.Connect(url, nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("stream: connect %s: %w", url, err)
	}
	return nc, nil
}

// NATSOptions tunes a NATSReader; the zero value is usable.
type NATSOptions struct {
	// Stream names the JetStream stream that keeps the subject's rows
	// (StreamName(subject) when empty); it is created when missing, and
	// an existing one is used with its own configuration.
	Stream string
	// MaxBytes caps the rows the stream keeps, unexplained, in bytes
	// (DefaultStreamBytes when 0); past it publishers get an error.
	MaxBytes int64
	// MaxOutage is how long the reader waits for an unreachable server
	// before it fails (DefaultMaxOutage when 0).
	MaxOutage time.Duration
}

// Defaults of NATSOptions.
const (
	DefaultStreamBytes = 1 << 30
	DefaultMaxOutage   = 10 * time.Minute
	// DuplicateWindow is how long the stream drops a re-published message
	// with the same Nats-Msg-Id (a publisher retrying a lost ack).
	DuplicateWindow = 10 * time.Minute
)

// StreamName is the default stream of a subject: DAWN_EXPLAIN_ and the
// subject with the characters a stream name cannot hold replaced by '_'.
func StreamName(subject string) string {
	b := []byte(subject)
	for i, c := range b {
		if c == '.' || c == '*' || c == '>' || c == ' ' || c == '/' || c == '\\' || c < 0x20 || c >= 0x7f {
			b[i] = '_'
		}
	}
	return "DAWN_EXPLAIN_" + string(b)
}

// NATSReader yields the messages of a subject as rows: each message is a
// JSON object, or a CSV line when Header names the CSV columns. An empty
// message ends the stream.
//
// The rows are read through JetStream, so none is lost while the server or
// the connection is down: an ordered consumer resumes after the last stream
// sequence it delivered, with no gap and no repeat. The rows stay in the
// stream until Commit, which Run calls once the final explanation counting
// them is out, so a dawn that stops early (killed, interrupted, the server
// gone past MaxOutage) leaves them all for the next run to count.
type NATSReader struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	nc      *nats.Conn
	stream  jetstream.Stream
	it      jetstream.MessagesContext
	subject string
	f       Fields
	header  []string
	n       int64
	last    uint64 // stream sequence of the last row delivered
	done    chan struct{}
}

// NewNATSReader reads subject on nc through JetStream (see NATSReader).
func NewNATSReader(ctx context.Context, nc *nats.Conn, subject string, f Fields, header []string, opt NATSOptions) (*NATSReader, error) {
	if opt.Stream == "" {
		opt.Stream = StreamName(subject)
	}
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = DefaultStreamBytes
	}
	if opt.MaxOutage <= 0 {
		opt.MaxOutage = DefaultMaxOutage
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("stream: jetstream: %w", err)
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// An existing stream (an earlier run's, or one set up by hand) is used
	// as it is; a missing one is created.
	st, err := js.Stream(sctx, opt.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		st, err = js.CreateStream(sctx, jetstream.StreamConfig{Name: opt.Stream, Subjects: []string{subject},
			Storage: jetstream.FileStorage, MaxBytes: opt.MaxBytes, Discard: jetstream.DiscardNew, Duplicates: DuplicateWindow})
	}
	if err != nil {
		return nil, fmt.Errorf("stream: stream %s for subject %s: %w", opt.Stream, subject, err)
	}
	cons, err := st.OrderedConsumer(sctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		return nil, fmt.Errorf("stream: consumer on %s: %w", opt.Stream, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(1024))
	if err != nil {
		return nil, fmt.Errorf("stream: consumer on %s: %w", opt.Stream, err)
	}
	r := &NATSReader{nc: nc, stream: st, it: it, subject: subject, f: f, header: header, done: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancelCause(ctx)
	go r.watch(opt.MaxOutage)
	return r, nil
}

// watch ends the reader when the server stays unreachable past maxOutage.
func (r *NATSReader) watch(maxOutage time.Duration) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	var down time.Time
	for {
		select {
		case <-r.done:
			return
		case <-r.ctx.Done():
			return
		case now := <-t.C:
			if r.nc.Status() == nats.CONNECTED {
				down = time.Time{}
				continue
			}
			if down.IsZero() {
				down = now
			} else if now.Sub(down) > maxOutage {
				r.cancel(fmt.Errorf("stream: NATS server unreachable for more than %v (--nats-max-outage); the rows stay in the stream for the next run", maxOutage))
				return
			}
		}
	}
}

// Close stops reading; the rows not committed stay in the stream.
func (r *NATSReader) Close() error {
	close(r.done)
	r.it.Stop()
	r.cancel(nil)
	return nil
}

// Commit removes the rows read so far (and the end-of-stream message) from
// the stream, once they are counted in a final explanation; messages of
// other subjects in the same stream are left alone.
func (r *NATSReader) Commit() error {
	if r.last == 0 {
		return nil
	}
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = r.stream.Purge(ctx, jetstream.WithPurgeSubject(r.subject), jetstream.WithPurgeSequence(r.last+1))
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("stream: removing the %d explained rows from the stream: %w (the next run counts them again)", r.n, err)
}

// Next returns the next row; io.EOF after an empty message. When the
// context ends, or the server stays away past MaxOutage, it returns an
// error: the stream did not end, so no explanation is final.
func (r *NATSReader) Next() (Row, error) {
	m, err := r.it.Next(jetstream.NextContext(r.ctx))
	if err != nil {
		if cause := context.Cause(r.ctx); cause != nil {
			if errors.Is(cause, context.Canceled) {
				return Row{}, fmt.Errorf("stream: interrupted after %d messages on %s; the rows stay in the stream: %w", r.n, r.subject, cause)
			}
			return Row{}, cause
		}
		return Row{}, fmt.Errorf("stream: receive on %s: %w", r.subject, err)
	}
	if md, err := m.Metadata(); err == nil {
		r.last = md.Sequence.Stream
	}
	r.n++
	data := m.Data()
	if len(data) == 0 {
		return Row{}, io.EOF
	}
	if r.header == nil {
		row, err := ParseJSON(data, r.f)
		if err != nil {
			return Row{}, fmt.Errorf("stream: message %d on %s: %w", r.n, m.Subject(), err)
		}
		return row, nil
	}
	rec, err := csv.NewReader(strings.NewReader(string(data))).Read()
	if err != nil {
		return Row{}, fmt.Errorf("stream: message %d on %s: %w", r.n, m.Subject(), err)
	}
	return rowFromRecord(r.header, rec, r.f, r.n, m.Subject())
}

func rowFromRecord(header, rec []string, f Fields, n int64, subject string) (Row, error) {
	obj := make(map[string]string, len(header))
	for i, h := range header {
		if i < len(rec) {
			obj[strings.TrimSpace(h)] = rec[i]
		}
	}
	row := Row{Values: make([]string, len(f.Attrs)), Metrics: make([]float64, len(f.Metrics))}
	for i, a := range f.Attrs {
		row.Values[i] = obj[a]
	}
	for i, m := range f.Metrics {
		v, err := parseMetric(obj[m])
		if err != nil {
			return Row{}, fmt.Errorf("stream: message %d on %s: %w", n, subject, err)
		}
		row.Metrics[i] = v
	}
	return row, nil
}
