package runner

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dawn-ml/dawn/explain/stream"
)

// embeddedJetStream starts a JetStream server on a loopback port for the
// test and returns its URL and a client.
func embeddedJetStream(t *testing.T) (string, jetstream.JetStream) {
	t.Helper()
	srv, url, err := stream.StartEmbedded(0, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return url, js
}

// publishRows sends n rows (as rows draws them) to subject: mostly one
// JSON object a message, every fifth message three rows as JSON lines.
func publishRows(t *testing.T, js jetstream.JetStream, subject string, rng *rand.Rand, t0, n int, shift bool) {
	t.Helper()
	csv := strings.Split(strings.TrimSpace(rows(rng, t0, n, shift)), "\n")[1:]
	var msg []string
	for i, ln := range csv {
		f := strings.Split(ln, ",") // time,x,level,country,version
		msg = append(msg, fmt.Sprintf(`{"time": %s, "x": %s, "level": %q, "country": %q, "version": %q}`, f[0], f[1], f[2], f[3], f[4]))
		if len(msg) == 3 || i%5 != 0 || i == len(csv)-1 {
			if _, err := js.Publish(t.Context(), subject, []byte(strings.Join(msg, "\n"))); err != nil {
				t.Fatal(err)
			}
			msg = nil
		}
	}
}

// A NATS JetStream subject as the source: rows are windowed as they come,
// a message is acknowledged only once the window holding it is committed,
// and a runner restarted after dying with rows queued (unacknowledged)
// resumes just after the committed window: no row lost or counted twice.
func TestNATSSource(t *testing.T) {
	url, js := embeddedJetStream(t)
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "PRED", Subjects: []string{"pred.spam"}}); err != nil {
		t.Fatal(err)
	}
	fx := newFixture(t)
	c := fx.config(t, "")
	c.Source = SourceConfig{Path: url, Subject: "pred.spam"}
	publishRows(t, js, "pred.spam", fx.rng, fx.t0, 3000, false)
	r, out := fx.runner(t, c)
	if err := r.Step(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	h := history(t, fx.store)
	if len(h) != 1 || h[0].Rows != 2000 || r.queued != 1000 {
		t.Fatalf("%d windows, %d rows queued: %s", len(h), r.queued, out)
	}
	cons, err := js.Consumer(t.Context(), "PRED", "dawn-monitor-m1")
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var to position
	fmt.Sscanf(strings.NewReplacer(`{"file":"pred.spam","row":`, "", "}", "").Replace(r.Position()), "%d", &to.Row)
	if to.Row == 0 || info.AckFloor.Stream != uint64(to.Row) {
		t.Errorf("ack floor %d, committed position %s: acknowledged what is not committed, or not what is", info.AckFloor.Stream, r.Position())
	}
	if nats := h[0].Report.Rows; nats != 2000 {
		t.Errorf("report rows %d", nats)
	}
	// Die with 1,000 rows queued, unacknowledged; more rows come, shifted.
	r.Close()
	publishRows(t, js, "pred.spam", fx.rng, fx.t0+3000, 1000, true)
	r2, _ := fx.runner(t, c)
	defer r2.Close()
	deadline := time.Now().Add(10 * time.Second)
	for len(history(t, fx.store)) < 2 && time.Now().Before(deadline) {
		if err := r2.Step(t.Context(), false); err != nil {
			t.Fatal(err)
		}
	}
	h = history(t, fx.store)
	if len(h) != 2 || h[1].Rows != 2000 || r2.queued != 0 {
		t.Fatalf("after the restart: %d windows, %d rows queued (want 2 windows, none left: 4,000 rows in all)", len(h), r2.queued)
	}
	if segs := h[1].Report.Segments; len(segs) == 0 || segs[0].Attributes["country"] != "CA" || segs[0].Attributes["version"] != "v3" {
		t.Errorf("segments of the shifted window: %+v", segs)
	}
	for _, col := range h[1].Report.Drift.Columns {
		if col.Column == natsSeqColumn {
			t.Error("the stream sequence column was checked for drift")
		}
	}
	info, _ = cons.Info(t.Context())
	if info.NumAckPending != 0 || info.NumPending != 0 {
		t.Errorf("consumer: %d unacknowledged, %d undelivered; want all acknowledged", info.NumAckPending, info.NumPending)
	}
}

// publishLog sends the rows of a CSV log file (as writeLabelledLog
// writes it) to subject, three rows a message as JSON lines.
func publishLog(t *testing.T, js jetstream.JetStream, subject, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")[1:] // request_id,request_row,x,country
	for i := 0; i < len(lines); i += 3 {
		var msg []string
		for _, ln := range lines[i:min(i+3, len(lines))] {
			f := strings.Split(ln, ",")
			msg = append(msg, fmt.Sprintf(`{"request_id": %q, "request_row": %s, "x": %s, "country": %q}`, f[0], f[1], f[2], f[3]))
		}
		if _, err := js.Publish(t.Context(), subject, []byte(strings.Join(msg, "\n"))); err != nil {
			t.Fatal(err)
		}
	}
}

// Late labels for a NATS source: a recomputed window's rows are re-read
// from the stream by sequence (an ordered consumer from its first message
// to its last, the rows of a message it shares with a neighbour cut
// exactly), the durable consumer's position is left alone, and a restart
// between two windows that share a message loses none of its rows. When
// the stream no longer holds a window's messages, that is said once and
// the window stays as it is. Accuracies counted by hand: every tenth row
// is wrong (writeLabelledLog), 900 of the first 1,000 rows, 1,800 of 2,000.
func TestNATSLateLabels(t *testing.T) {
	url, js := embeddedJetStream(t)
	st, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "PRED", Subjects: []string{"pred.>"}})
	if err != nil {
		t.Fatal(err)
	}
	fx := newFixture(t)
	rng := rand.New(rand.NewPCG(3, 4))
	labelsDir := filepath.Join(fx.dir, "labels")
	os.MkdirAll(labelsDir, 0o755)
	c := fx.config(t, fmt.Sprintf("labels: {source: %q, wait: 1h}\n", labelsDir))
	c.Alerts.Rules = nil
	c.Segments = nil
	c.Source = SourceConfig{Path: url, Subject: "pred.spam"}
	var logs bytes.Buffer
	start := func() *Runner {
		r, err := New(t.Context(), c, fx.profile, signModel{}, fx.store)
		if err != nil {
			t.Fatal(err)
		}
		r.Log = slog.New(slog.NewTextHandler(&logs, nil))
		return r
	}
	// 3,000 rows in 1,000 messages of three; another subject in the same
	// stream interleaves (its sequences are not the monitor's).
	l0 := writeLabelledLog(t, rng, filepath.Join(fx.dir, "a.csv"), "a", 3000)
	js.Publish(t.Context(), "pred.other", []byte(`{"x": 1}`))
	publishLog(t, js, "pred.spam", filepath.Join(fx.dir, "a.csv"))
	r := start()
	if err := r.Step(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	h := history(t, fx.store)
	if len(h) != 1 || h[0].Rows != 2000 || r.queued != 1000 {
		t.Fatalf("%d windows, %d rows queued, want 1 and 1000", len(h), r.queued)
	}
	// Row 1999 is the second of message 667 (sequence 668 after the other
	// subject's message): the window ends inside it, which is not acked.
	if want := `{"file":"pred.spam","row":668,"part":2}`; r.Position() != want {
		t.Errorf("position %s, want %s", r.Position(), want)
	}
	cons, _ := js.Consumer(t.Context(), "PRED", "dawn-monitor-m1")
	info, _ := cons.Info(t.Context())
	if info.AckFloor.Stream != 667 {
		t.Errorf("ack floor %d, want 667 (the cut message waits)", info.AckFloor.Stream)
	}
	// Labels for the first 1,000 rows arrive: window 0 is re-read from the
	// stream and recomputed; the durable consumer has not moved.
	writeLabels(t, filepath.Join(labelsDir, "l-1.csv"), l0, 0, 1000)
	if err := r.Step(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if a := history(t, fx.store)[0].Report.Performance.Actual; a == nil || a.Rows != 1000 || a.Accuracy != 0.9 {
		t.Fatalf("window 0 after late labels: %+v, want 0.9 over 1000 (log: %s)", a, logs.String())
	}
	after, _ := cons.Info(t.Context())
	if after.AckFloor.Stream != info.AckFloor.Stream || after.Delivered.Stream != info.Delivered.Stream {
		t.Errorf("durable consumer moved: ack floor %d → %d, delivered %d → %d", info.AckFloor.Stream, after.AckFloor.Stream, info.Delivered.Stream, after.Delivered.Stream)
	}
	// Die with message 668 cut; a restarted runner resumes inside it.
	r.Close()
	l1 := writeLabelledLog(t, rng, filepath.Join(fx.dir, "b.csv"), "b", 1002)
	publishLog(t, js, "pred.spam", filepath.Join(fx.dir, "b.csv"))
	r2 := start()
	defer r2.Close()
	if err := r2.Step(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	h = history(t, fx.store)
	if len(h) != 2 || h[1].Rows != 2000 || r2.queued != 2 {
		t.Fatalf("after the restart: %d windows, %d rows queued; want 2 windows and 2 rows (4,002 in all)", len(h), r2.queued)
	}
	// All of window 1's labels: 1,000 rows of a (1000..2999) and 1,000 of
	// b; each set is wrong on every tenth row: 1,800 of 2,000 right. A
	// row lost or counted twice at the cut would change the count.
	writeLabels(t, filepath.Join(labelsDir, "l-2.csv"), l0, 1000, 3000)
	writeLabels(t, filepath.Join(labelsDir, "l-3.csv"), l1, 0, 1000)
	if err := r2.Step(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	h = history(t, fx.store)
	if a := h[1].Report.Performance.Actual; a == nil || a.Rows != 2000 || a.Accuracy != 0.9 {
		t.Fatalf("window 1: %+v, want 0.9 over 2000 (log: %s)", a, logs.String())
	}
	if a := h[0].Report.Performance.Actual; a == nil || a.Rows != 2000 || a.Accuracy != 0.9 {
		t.Fatalf("window 0 with all its labels: %+v, want 0.9 over 2000", a)
	}
	// The stream drops the messages (as max_age would): later labels
	// cannot be applied; said once, the windows stay as they are.
	if err := st.Purge(t.Context()); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	writeLabels(t, filepath.Join(labelsDir, "l-4.csv"), l1, 1000, 1002)
	l5 := filepath.Join(labelsDir, "l-5.csv")
	writeLabels(t, l5, l1, 1000, 1001)
	for range 2 {
		if err := r2.Step(t.Context(), false); err != nil {
			t.Fatal(err)
		}
		os.Remove(l5) // the listing changes: labels are read again
	}
	if n := strings.Count(logs.String(), "rows are gone"); n != 1 {
		t.Errorf("%d log lines about the gone rows, want 1:\n%s", n, logs.String())
	}
	if h := history(t, fx.store); h[1].Report.Performance.Actual.Rows != 2000 {
		t.Errorf("window 1 changed: %+v", h[1].Report.Performance.Actual)
	}
	// Kept in the state: a restart does not try (nor say it) again.
	logs.Reset()
	r3 := start()
	defer r3.Close()
	if err := r3.Step(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "gone") {
		t.Errorf("a restart logged the gone rows again:\n%s", logs.String())
	}
}

// A work-queue stream removes acknowledged messages: late labels cannot
// re-read its windows, which is said once and leaves them final.
func TestNATSLateLabelsWorkQueue(t *testing.T) {
	url, js := embeddedJetStream(t)
	wq, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "WQ", Subjects: []string{"wq.spam"}, Retention: jetstream.WorkQueuePolicy})
	if err != nil {
		t.Fatal(err)
	}
	fx := newFixture(t)
	rng := rand.New(rand.NewPCG(3, 5))
	labelsDir := filepath.Join(fx.dir, "labels")
	os.MkdirAll(labelsDir, 0o755)
	c := fx.config(t, fmt.Sprintf("labels: {source: %q, wait: 1h}\n", labelsDir))
	c.Alerts.Rules, c.Segments = nil, nil
	c.Source = SourceConfig{Path: url, Subject: "wq.spam"}
	l := writeLabelledLog(t, rng, filepath.Join(fx.dir, "a.csv"), "a", 4000)
	publishLog(t, js, "wq.spam", filepath.Join(fx.dir, "a.csv"))
	r, err := New(t.Context(), c, fx.profile, signModel{}, fx.store)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var logs bytes.Buffer
	r.Log = slog.New(slog.NewTextHandler(&logs, nil))
	if err := r.Step(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	writeLabels(t, filepath.Join(labelsDir, "l-1.csv"), l, 0, 4000)
	if err := r.Step(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	h := history(t, fx.store)
	if len(h) != 2 || h[0].Report.Performance.Actual != nil || h[1].Report.Performance.Actual != nil {
		t.Fatalf("windows recomputed from a work queue: %d windows", len(h))
	}
	if n := strings.Count(logs.String(), "WorkQueue retention"); n != 1 {
		t.Errorf("%d log lines naming the retention, want 1:\n%s", n, logs.String())
	}
	if r.alerts.FinalBelow != 2 {
		t.Errorf("final below %d, want 2", r.alerts.FinalBelow)
	}
	// Each message was acknowledged (explicitly: a work queue takes no
	// ack-all), so the queue is empty.
	if info, err := wq.Info(t.Context()); err != nil || info.State.Msgs != 0 {
		t.Errorf("work queue holds %d messages after both windows (%v)", info.State.Msgs, err)
	}
}
