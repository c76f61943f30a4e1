package stream

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// StartEmbedded runs a NATS server inside the process on 127.0.0.1 (port 0
// picks a free one), so producers can publish without any setup. It
// returns the server and its client URL; Shutdown the server when done.
func StartEmbedded(port int) (*server.Server, string, error) {
	if port == 0 {
		port = server.RANDOM_PORT
	}
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoSigs: true, NoLog: true, MaxPayload: 8 << 20})
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

// NATSReader yields the messages of a subject as rows: each message is a
// JSON object, or a CSV line when Header names the CSV columns. An empty
// message ends the stream.
type NATSReader struct {
	ctx    context.Context
	sub    *nats.Subscription
	f      Fields
	header []string
	n      int64
}

// NewNATSReader subscribes to subject on nc.
func NewNATSReader(ctx context.Context, nc *nats.Conn, subject string, f Fields, header []string) (*NATSReader, error) {
	r := &NATSReader{ctx: ctx, f: f, header: header}
	sub, err := nc.SubscribeSync(subject)
	if err != nil {
		return nil, fmt.Errorf("stream: subscribe %s: %w", subject, err)
	}
	// Buffer bursts (bounded: a consumer this far behind drops messages
	// and the connection reports a slow consumer).
	if err := sub.SetPendingLimits(1<<20, 1<<29); err != nil {
		return nil, fmt.Errorf("stream: subscribe %s: %w", subject, err)
	}
	if err := nc.Flush(); err != nil {
		return nil, fmt.Errorf("stream: subscribe %s: %w", subject, err)
	}
	r.sub = sub
	return r, nil
}

// Close unsubscribes.
func (r *NATSReader) Close() error { return r.sub.Unsubscribe() }

// Next returns the next row; io.EOF after an empty message or when the
// context ends.
func (r *NATSReader) Next() (Row, error) {
	m, err := r.sub.NextMsgWithContext(r.ctx)
	if err != nil {
		if r.ctx.Err() != nil {
			return Row{}, io.EOF
		}
		return Row{}, fmt.Errorf("stream: receive on %s: %w", r.sub.Subject, err)
	}
	{
		r.n++
		if len(m.Data) == 0 {
			return Row{}, io.EOF
		}
		if r.header == nil {
			row, err := ParseJSON(m.Data, r.f)
			if err != nil {
				return Row{}, fmt.Errorf("stream: message %d on %s: %w", r.n, m.Subject, err)
			}
			return row, nil
		}
		rec, err := csv.NewReader(strings.NewReader(string(m.Data))).Read()
		if err != nil {
			return Row{}, fmt.Errorf("stream: message %d on %s: %w", r.n, m.Subject, err)
		}
		return rowFromRecord(r.header, rec, r.f, r.n, m.Subject)
	}
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
