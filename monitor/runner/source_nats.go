package runner

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	stream  jetstream.Stream
	cons    jetstream.Consumer
	subject string
	pending []jetstream.Msg // delivered, not acknowledged, in stream order
	seen    uint64          // the highest sequence queued
	rows    map[uint64]int  // rows of each pending message
	// explicit: each message is acknowledged (a work-queue stream), not
	// all up to one.
	explicit bool
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
	explicit := st.CachedInfo().Config.Retention == jetstream.WorkQueuePolicy
	if explicit { // a work queue takes explicit acks only
		cc.AckPolicy = jetstream.AckExplicitPolicy
	}
	if from, _ := r.natsResume(); from > 1 {
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, from
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
	r.nats = &natsSource{nc: nc, stream: st, cons: cons, subject: subj, rows: map[uint64]int{}, explicit: explicit}
	return r.nats, nil
}

// natsResume is the first stream sequence not wholly consumed by the
// committed windows (1: from the start), with how many of its rows they
// hold (a message cut by a window).
func (r *Runner) natsResume() (seq uint64, part int) {
	if r.pos.File != r.cfg.Source.Subject || r.pos.Row <= 0 {
		return 1, 0
	}
	if r.pos.Part > 0 {
		return uint64(r.pos.Row), r.pos.Part
	}
	return uint64(r.pos.Row) + 1, 0
}

// pullNATS queues the messages available now (each a JSON object, or
// JSON lines of them, one row each), up to MaxWindowRows rows queued.
func (r *Runner) pullNATS(ctx context.Context) error {
	src, err := r.openNATS(ctx)
	if err != nil {
		return fmt.Errorf("monitor %s: source: %w", r.cfg.Name, err)
	}
	resume, part := r.natsResume()
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
			if seq < resume { // in a committed window: its ack was lost
				if err := m.DoubleAck(ctx); err != nil {
					r.Log.Warn("monitor: ack of a committed message failed", "seq", seq, "err", err)
				}
				continue
			}
			if seq <= src.seen { // a redelivery of a queued message
				continue
			}
			skip := 0
			if seq == resume {
				skip = part // rows a committed window holds
			}
			n, err := appendRows(&lines, m.Data(), seq, skip, -1)
			if err != nil {
				return fmt.Errorf("monitor %s: source: message %d on %s: %w", r.cfg.Name, seq, src.subject, err)
			}
			src.rows[seq] = n
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
			r.queue = append(r.queue, piece{f: f, from: position{File: src.subject, Row: int(first)}, after: position{File: src.subject, Row: int(last)}})
			r.queued += f.Rows
		}
		if got == 0 {
			return nil
		}
	}
	return nil
}

// appendRows writes rows [skip, limit) of one message (all from skip
// with limit < 0) as JSON lines, each with its stream sequence, and
// returns how many rows the message holds.
func appendRows(buf *bytes.Buffer, data []byte, seq uint64, skip, limit int) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	n := 0
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		i := n
		n++
		if i < skip || (limit >= 0 && i >= limit) {
			continue
		}
		var row map[string]any
		d := json.NewDecoder(bytes.NewReader(line))
		d.UseNumber()
		if err := d.Decode(&row); err != nil {
			return 0, fmt.Errorf("row %d: want a JSON object per line: %w", n, err)
		}
		row[natsSeqColumn] = seq
		b, err := json.Marshal(row)
		if err != nil {
			return 0, err
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return n, sc.Err()
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

// natsWindow positions a window of a NATS source by stream sequence:
// from its first message (with the rows of it earlier windows hold) to
// its last (with the rows of it consumed, when the window cuts it).
// Without sequences (no rows) the queue's positions stay.
func (r *Runner) natsWindow(f *explain.Frame, from, to position) (position, position) {
	c, err := f.Col(natsSeqColumn)
	if err != nil || c.Num == nil || len(c.Num) == 0 {
		return from, to
	}
	lo, hi := c.Num[0], c.Num[len(c.Num)-1] // rows are in stream order
	last := 0
	for _, v := range c.Num {
		if v == hi {
			last++
		}
	}
	subj := r.cfg.Source.Subject
	from = position{File: subj, Row: int(lo)}
	if r.pos.File == subj && r.pos.Row == int(lo) && r.pos.Part > 0 {
		from.Part = r.pos.Part
	}
	if lo == hi {
		last += from.Part
	}
	to = position{File: subj, Row: int(hi)}
	if r.nats != nil {
		if n, ok := r.nats.rows[uint64(hi)]; ok && last < n {
			to.Part = last
		}
	}
	return from, to
}

// ackNATS acknowledges every delivered message the committed window
// ending at to consumed wholly (a message it cuts waits for the next).
func (r *Runner) ackNATS(ctx context.Context, to position) {
	src := r.nats
	upto := uint64(to.Row)
	if to.Part > 0 {
		upto--
	}
	k := 0
	for k < len(src.pending) {
		md, err := src.pending[k].Metadata()
		if err != nil || md.Sequence.Stream > upto {
			break
		}
		delete(src.rows, md.Sequence.Stream)
		k++
	}
	if k == 0 {
		return
	}
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if src.explicit {
		// One connection keeps the acks in order: the confirmation of the
		// last one follows the others.
		for _, m := range src.pending[:k-1] {
			if err := m.Ack(); err != nil {
				r.Log.Warn("monitor: ack failed; the message will be redelivered and skipped", "err", err)
			}
		}
	}
	if err := src.pending[k-1].DoubleAck(actx); err != nil {
		// Redelivered after natsAckWait (or a restart), then acknowledged
		// and skipped: the store already holds the window.
		r.Log.Warn("monitor: ack failed; the messages will be redelivered and skipped", "to", upto, "err", err)
	}
	src.pending = src.pending[k:]
}

// errRowsGone is a window whose rows the source no longer holds: it
// cannot be recomputed for late labels, nor can any older one.
var errRowsGone = errors.New("the source no longer holds the window's rows")

// readNATSRange re-reads a window's rows from the stream, by sequence,
// with an ordered (ephemeral) consumer from its first message to its
// last; the monitor's durable consumer is not touched. A stream that
// removes acknowledged messages (work-queue or interest retention), or
// that has dropped the window's first message (max_age, max_msgs,
// max_bytes), gives errRowsGone.
func (r *Runner) readNATSRange(ctx context.Context, from, to position, rows int64) (*explain.Frame, error) {
	src, err := r.openNATS(ctx)
	if err != nil {
		return nil, err
	}
	if from.File != src.subject || to.File != src.subject || from.Row <= 0 || to.Row < from.Row {
		return nil, fmt.Errorf("positions %s to %s are not sequences of subject %s", from, to, src.subject)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	info, err := src.stream.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("stream info: %w", err)
	}
	name := info.Config.Name
	if info.Config.Retention != jetstream.LimitsPolicy {
		return nil, fmt.Errorf("%w: stream %s has %s retention, which removes acknowledged messages (late labels need limits retention)", errRowsGone, name, info.Config.Retention)
	}
	if info.State.Msgs == 0 || info.State.FirstSeq > uint64(from.Row) {
		return nil, fmt.Errorf("%w: stream %s now starts at sequence %d, the window at %d (its limits removed them)", errRowsGone, name, info.State.FirstSeq, from.Row)
	}
	oc, err := src.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{src.subject},
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: uint64(from.Row), InactiveThreshold: time.Minute})
	if err != nil {
		return nil, fmt.Errorf("ordered consumer on %s: %w", name, err)
	}
	defer func() {
		if ci := oc.CachedInfo(); ci != nil {
			_ = src.stream.DeleteConsumer(context.WithoutCancel(ctx), ci.Name)
		}
	}()
	var lines bytes.Buffer
	for done := false; !done; {
		batch, err := oc.Fetch(natsBatch, jetstream.FetchMaxWait(natsWait))
		if err != nil {
			return nil, fmt.Errorf("fetch from %s: %w", name, err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil {
				return nil, fmt.Errorf("message metadata: %w", err)
			}
			seq := md.Sequence.Stream
			if done || seq > uint64(to.Row) {
				done = true
				continue
			}
			skip, limit := 0, -1
			if seq == uint64(from.Row) {
				skip = from.Part
			}
			if seq == uint64(to.Row) {
				if to.Part > 0 {
					limit = to.Part
				}
				done = true
			}
			if _, err := appendRows(&lines, m.Data(), seq, skip, limit); err != nil {
				return nil, fmt.Errorf("message %d on %s: %w", seq, src.subject, err)
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return nil, fmt.Errorf("fetch from %s: %w", name, err)
		}
		if got == 0 {
			break // the stream ends before the window's last message
		}
	}
	if lines.Len() == 0 {
		return nil, fmt.Errorf("%w: no message of %s from sequence %d to %d", errRowsGone, src.subject, from.Row, to.Row)
	}
	f, err := r.linesFrame(lines.Bytes())
	if err != nil {
		return nil, err
	}
	if int64(f.Rows) != rows {
		return nil, fmt.Errorf("re-read %d rows from sequences %d to %d, the window had %d", f.Rows, from.Row, to.Row, rows)
	}
	return f, nil
}

// Close releases the source's connection (a NATS source's).
func (r *Runner) Close() {
	if r.nats != nil {
		r.nats.nc.Close()
		r.nats = nil
	}
}
