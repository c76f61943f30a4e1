package runner

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dawn-ml/dawn/explain/stream"
)

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
	srv, url, err := stream.StartEmbedded(0, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
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
