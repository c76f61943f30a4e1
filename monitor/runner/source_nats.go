package runner

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dawn-ml/dawn/explain"
	"github.com/dawn-ml/dawn/explain/stream"
)

// Bounds of a NATS source: messages fetched per request, how long a fetch
// waits for the first one, and how long the server may keep a delivered
// message unacknowledged before it delivers it again (a redelivery of a
// queued or committed message is recognised by its stream sequence and
// not counted twice).
const (
	natsBatch   = 1000
	natsWait    = 200 * time.Millisecond
	natsAckWait = 10 * time.Minute
	// natsSeqColumn carries each row's stream sequence through a window.
	natsSeqColumn = "nats_seq"
)

func isNATS(p string) bool { return strings.HasPrefix(p, "nats://") }

// natsSource is a JetStream durable consumer of the monitor's subject.
// A message is acknowledged (AckAll, waiting for the server's
// confirmation) only after the window holding its last row is committed
// to the store; the committed position is the last stream sequence in a
// window, and a restart consumes from just after it, so no row is lost
// or counted twice.
type natsSource struct {
	nc      *nats.Conn
	cons    jetstream.Consumer
	subject string
	pending []jetstream.Msg // delivered, not acknowledged, in stream order
	seen    uint64          // the highest sequence queued
}

func (r *Runner) openNATS(ctx context.Context) (*natsSource, error) {
	if r.nats != nil {
		return r.nats, nil
	}
	subj := r.cfg.Source.Subject
	nc, err := stream.Connect(r.cfg.Source.Path, "dawn monitor "+r.cfg.Name)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	name := r.cfg.Source.Stream
	if name == "" {
		if name, err = js.StreamNameBySubject(sctx, subj); err != nil {
			name = "DAWN_MONITOR_" + strings.TrimPrefix(stream.StreamName(subj), "DAWN_EXPLAIN_")
		}
	}
	st, err := js.Stream(sctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		st, err = js.CreateStream(sctx, jetstream.StreamConfig{Name: name, Subjects: []string{subj}, Storage: jetstream.FileStorage,
			MaxBytes: stream.DefaultStreamBytes, Discard: jetstream.DiscardNew, Duplicates: stream.DuplicateWindow})
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("stream %s for subject %s: %w", name, subj, err)
	}
	// The store's position is the authority on what was evaluated: the
	// durable consumer is made afresh to start just after it, so rows
	// queued but not committed by a process that died come again at once
	// (not after natsAckWait).
	durable := "dawn-monitor-" + strings.TrimPrefix(stream.StreamName(r.cfg.Name), "DAWN_EXPLAIN_")
	cc := jetstream.ConsumerConfig{Durable: durable, FilterSubject: subj, AckPolicy: jetstream.AckAllPolicy,
		AckWait: natsAckWait, MaxAckPending: -1, DeliverPolicy: jetstream.DeliverAllPolicy}
	if r.pos.File == subj && r.pos.Row > 0 {
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, uint64(r.pos.Row)+1
	}
	if err := st.DeleteConsumer(sctx, durable); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		nc.Close()
		return nil, fmt.Errorf("consumer %s on %s: %w", durable, name, err)
	}
	cons, err := st.CreateConsumer(sctx, cc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("consumer %s on %s: %w", durable, name, err)
	}
	r.nats = &natsSource{nc: nc, cons: cons, subject: subj}
	return r.nats, nil
}

// pullNATS queues the messages available now (each a JSON object, or
// JSON lines of them, one row each), up to MaxWindowRows rows queued.
func (r *Runner) pullNATS(ctx context.Context) error {
	src, err := r.openNATS(ctx)
	if err != nil {
		return fmt.Errorf("monitor %s: source: %w", r.cfg.Name, err)
	}
	committed := uint64(0)
	if r.pos.File == src.subject && r.pos.Row > 0 {
		committed = uint64(r.pos.Row)
	}
	for r.queued < MaxWindowRows {
		batch, err := src.cons.Fetch(natsBatch, jetstream.FetchMaxWait(natsWait))
		if err != nil {
			return fmt.Errorf("monitor %s: source: fetch: %w", r.cfg.Name, err)
		}
		var lines bytes.Buffer
		var first, last uint64
		got := 0
		for m := range batch.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil {
				return fmt.Errorf("monitor %s: source: message metadata: %w", r.cfg.Name, err)
			}
			seq := md.Sequence.Stream
			if seq <= committed { // in a committed window: its ack was lost
				if err := m.DoubleAck(ctx); err != nil {
					r.Log.Warn("monitor: ack of a committed message failed", "seq", seq, "err", err)
				}
				continue
			}
			if seq <= src.seen { // a redelivery of a queued message
				continue
			}
			if err := appendRows(&lines, m.Data(), seq); err != nil {
				return fmt.Errorf("monitor %s: source: message %d on %s: %w", r.cfg.Name, seq, src.subject, err)
			}
			if first == 0 {
				first = seq
			}
			last = seq
			src.seen = seq
			src.pending = append(src.pending, m)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return fmt.Errorf("monitor %s: source: fetch: %w", r.cfg.Name, err)
		}
		if lines.Len() > 0 {
			f, err := r.linesFrame(lines.Bytes())
			if err != nil {
				return err
			}
			r.queue = append(r.queue, piece{f: f, from: position{src.subject, int(first)}, after: position{src.subject, int(last)}})
			r.queued += f.Rows
		}
		if got == 0 {
			return nil
		}
	}
	return nil
}

// appendRows writes the rows of one message as JSON lines, each with its
// stream sequence.
func appendRows(buf *bytes.Buffer, data []byte, seq uint64) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var row map[string]any
		d := json.NewDecoder(bytes.NewReader(line))
		d.UseNumber()
		if err := d.Decode(&row); err != nil {
			return fmt.Errorf("want a JSON object per line: %w", err)
		}
		row[natsSeqColumn] = seq
		b, err := json.Marshal(row)
		if err != nil {
			return err
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return sc.Err()
}

// linesFrame reads JSON lines as a frame, with the kinds files get.
func (r *Runner) linesFrame(b []byte) (*explain.Frame, error) {
	tmp, err := os.CreateTemp("", "dawn-monitor-*.jsonl")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	return r.readLocal(tmp.Name(), tmp.Name())
}

// natsBounds is a window's first and last stream sequence.
func natsBounds(f *explain.Frame) (lo, hi int, ok bool) {
	c, err := f.Col(natsSeqColumn)
	if err != nil || c.Num == nil || len(c.Num) == 0 {
		return 0, 0, false
	}
	mn, mx := math.Inf(1), math.Inf(-1)
	for _, v := range c.Num {
		mn, mx = math.Min(mn, v), math.Max(mx, v)
	}
	return int(mn), int(mx), true
}

// ackNATS acknowledges every delivered message up to sequence to, once
// the window ending there is committed.
func (r *Runner) ackNATS(ctx context.Context, to int) {
	src := r.nats
	k := 0
	for k < len(src.pending) {
		md, err := src.pending[k].Metadata()
		if err != nil || md.Sequence.Stream > uint64(to) {
			break
		}
		k++
	}
	if k == 0 {
		return
	}
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := src.pending[k-1].DoubleAck(actx); err != nil {
		// Redelivered after natsAckWait (or a restart), then acknowledged
		// and skipped: the store already holds the window.
		r.Log.Warn("monitor: ack failed; the messages will be redelivered and skipped", "to", to, "err", err)
	}
	src.pending = src.pending[k:]
}

// Close releases the source's connection (a NATS source's).
func (r *Runner) Close() {
	if r.nats != nil {
		r.nats.nc.Close()
		r.nats = nil
	}
}
