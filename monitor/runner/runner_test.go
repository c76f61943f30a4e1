package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dawn-ml/dawn/explain"
	"github.com/dawn-ml/dawn/monitor"
	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/sqlite"
	"github.com/dawn-ml/dawn/tracking/sqlstore"
	"github.com/dawn-ml/dawn/webhook"
	"github.com/dawn-ml/dawn/webhook/webhooktest"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// rows draws n rows of (time, x, level, country, version) starting at
// time t0 (one row a second); with shift, x moves by +6 in the rows of
// country CA running version v3 only: a planted segment.
func rows(rng *rand.Rand, t0, n int, shift bool) string {
	countries := []string{"US", "CA", "MX", "FR"}
	versions := []string{"v1", "v2", "v3"}
	levels := []string{"low", "mid", "high"}
	var b strings.Builder
	b.WriteString("time,x,level,country,version\n")
	for i := range n {
		c, v := countries[rng.IntN(4)], versions[rng.IntN(3)]
		x := rng.NormFloat64()
		if shift && c == "CA" && v == "v3" {
			x += 6
		}
		fmt.Fprintf(&b, "%d,%.4f,%s,%s,%s\n", t0+i, x, levels[rng.IntN(3)], c, v)
	}
	return b.String()
}

type fixture struct {
	dir     string
	log     string // the "prediction log" directory
	profile *monitor.Profile
	store   *sqlstore.Store
	rng     *rand.Rand
	t0      int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	fx := &fixture{dir: dir, log: filepath.Join(dir, "log"), rng: rand.New(rand.NewPCG(1, 2)), t0: 1_700_000_000}
	os.MkdirAll(fx.log, 0o755)
	ref := filepath.Join(dir, "ref.csv")
	os.WriteFile(ref, []byte(rows(fx.rng, 0, 3000, false)), 0o644)
	f, err := explain.ReadFrame(ref, explain.ReadOptions{Columns: []string{"x", "level", "country", "version"}})
	if err != nil {
		t.Fatal(err)
	}
	if fx.profile, err = monitor.BuildProfile(t.Context(), f, monitor.ProfileOptions{Seed: 1}); err != nil {
		t.Fatal(err)
	}
	fx.store = fx.open(t)
	return fx
}

func (fx *fixture) open(t *testing.T) *sqlstore.Store {
	s, err := sqlite.Open(t.Context(), "sqlite:///"+filepath.Join(fx.dir, "state.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// add writes the next file of the log: n rows, shifted or not.
func (fx *fixture) add(t *testing.T, name string, n int, shift bool) {
	t.Helper()
	tmp := filepath.Join(fx.log, "."+name)
	if err := os.WriteFile(tmp, []byte(rows(fx.rng, fx.t0, n, shift)), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Rename(tmp, filepath.Join(fx.log, name))
	fx.t0 += n
}

func (fx *fixture) config(t *testing.T, extra string) *Config {
	t.Helper()
	src := fmt.Sprintf(`name: m1
model: unused
source: {path: %q}
window: {rows: 2000}
segments: [country, version, level]
alerts:
  group_wait: 1ms
  group_interval: 1ms
  rules:
    - {name: XDrift, check: column_drift, column: x, severity: page}
`, filepath.Join(fx.log, "*.csv")) + extra
	c, err := ParseConfig([]byte(src))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, src)
	}
	return c
}

func (fx *fixture) runner(t *testing.T, c *Config) (*Runner, *bytes.Buffer) {
	t.Helper()
	r, err := New(t.Context(), c, fx.profile, nil, fx.store)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	r.Out = &out
	return r, &out
}

func history(t *testing.T, s tracking.MonitorStore) []Window {
	t.Helper()
	h, err := History(t.Context(), s, "m1", 0)
	if err != nil {
		t.Fatal(err)
	}
	return h.Windows
}

// Windows cross file boundaries, a restart resumes at the next window
// (the half-used file re-read from its offset), no window is evaluated
// twice, and the planted segment is the top one in the first window after
// the change.
func TestRestartResumesAndPlantedSegment(t *testing.T) {
	fx := newFixture(t)
	fx.add(t, "p-0001.csv", 2000, false)
	fx.add(t, "p-0002.csv", 1000, false)
	c := fx.config(t, "")
	r, _ := fx.runner(t, c)
	if err := r.Step(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if h := history(t, fx.store); len(h) != 1 || h[0].Rows != 2000 {
		t.Fatalf("after the first pass: %d windows, want 1 of 2000 rows", len(h))
	}
	if r.queued != 1000 {
		t.Fatalf("rows waiting for the next window: %d, want 1000", r.queued)
	}
	// A restart: a new runner on a reopened store.
	fx.store.Close()
	fx.store = fx.open(t)
	fx.add(t, "p-0003.csv", 1000, false)
	fx.add(t, "p-0004.csv", 2000, true)
	r2, _ := fx.runner(t, c)
	if r2.NextWindow() != 1 {
		t.Fatalf("restarted at window %d, want 1", r2.NextWindow())
	}
	if err := r2.Step(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	// Nothing new: a second pass evaluates nothing.
	if err := r2.Step(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	h := history(t, fx.store)
	if len(h) != 3 {
		t.Fatalf("%d windows, want 3", len(h))
	}
	for i, w := range h {
		if w.Index != int64(i) || w.Rows != 2000 {
			t.Errorf("window %d: index %d, %d rows", i, w.Index, w.Rows)
		}
	}
	// Window 1 is the second half of file 2 and all of file 3, in time.
	if got, want := h[1].Start.Unix(), int64(1_700_000_000+2000); got != want {
		t.Errorf("window 1 starts at %d, want %d", got, want)
	}
	for _, i := range []int{0, 1} {
		if h[i].Report.Drift.Columns[0].Drift && h[i].Report.Drift.Columns[0].Column == "x" {
			t.Errorf("window %d: x drifts before the change", i)
		}
	}
	segs := h[2].Report.Segments
	if len(segs) == 0 {
		t.Fatal("no segment explains the change")
	}
	top := segs[0].Attributes
	if len(top) != 2 || top["country"] != "CA" || top["version"] != "v3" {
		t.Errorf("top segment %v, want {country=CA, version=v3}", top)
	}
	if len(r2.alerts.Firing) != 1 {
		t.Errorf("%d alerts firing, want XDrift", len(r2.alerts.Firing))
	}
}

type received struct {
	header http.Header
	body   []byte
}

// receiver answers the given statuses in turn (then 200) and keeps what
// it got.
func receiver(t *testing.T, statuses ...int) (*httptest.Server, func() []received) {
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		mu.Lock()
		got = append(got, received{req.Header.Clone(), b})
		n := len(got)
		mu.Unlock()
		if n <= len(statuses) {
			w.WriteHeader(statuses[n-1])
			return
		}
		w.WriteHeader(200)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received { mu.Lock(); defer mu.Unlock(); return append([]received(nil), got...) }
}

func webhookConfig(url string) string {
	return fmt.Sprintf(`receivers:
  - name: ops
    webhook: {url: %q, secret: %q}
delivery: {initial_interval: 5ms, max_interval: 20ms, max_attempts: 5}
`, url, secret)
}

func driftedLog(t *testing.T, fx *fixture) {
	fx.add(t, "p-0001.csv", 2000, false)
	fx.add(t, "p-0002.csv", 2000, true)
}

// 500, 500, 200: three attempts with the same id and valid signatures
// (checked in Go and with Python's hmac), one delivery, recorded.
func TestWebhookRetriedSameID(t *testing.T) {
	fx := newFixture(t)
	driftedLog(t, fx)
	srv, got := receiver(t, 500, 500)
	r, _ := fx.runner(t, fx.config(t, webhookConfig(srv.URL)))
	if err := r.Step(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	g := got()
	if len(g) != 3 {
		t.Fatalf("%d attempts, want 3", len(g))
	}
	key, _ := webhook.ParseSecret(secret)
	id := g[0].header.Get("webhook-id")
	for i, x := range g {
		if x.header.Get("webhook-id") != id {
			t.Errorf("attempt %d: id %q, want %q", i+1, x.header.Get("webhook-id"), id)
		}
		if err := webhook.Verify(key, x.header, x.body, time.Now()); err != nil {
			t.Errorf("attempt %d: %v", i+1, err)
		}
	}
	var note struct {
		Status string `json:"status"`
		Alerts []struct {
			Labels map[string]string `json:"labels"`
		} `json:"alerts"`
	}
	json.Unmarshal(g[2].body, &note)
	if note.Status != "firing" || len(note.Alerts) != 1 || note.Alerts[0].Labels["column"] != "x" || note.Alerts[0].Labels["alertname"] != "XDrift" {
		t.Errorf("payload %s", g[2].body)
	}
	checkWithPython(t, g)
	ds, _ := fx.store.MonitorDeliveries(t.Context(), "m1")
	delivered := 0
	for _, d := range ds {
		if d.Delivered {
			delivered++
		}
	}
	if len(ds) != 3 || delivered != 1 {
		t.Errorf("delivery log: %+v, want 3 attempts, 1 delivered", ds)
	}
	// Nothing is sent again on the next pass, nor after a restart.
	r.Step(t.Context(), true)
	r2, _ := fx.runner(t, fx.config(t, webhookConfig(srv.URL)))
	r2.Step(t.Context(), true)
	if n := len(got()); n != 3 {
		t.Errorf("%d requests after more passes and a restart, want still 3", n)
	}
}

// A 400 is the receiver's refusal: one attempt, then the message is
// closed as given up, and later passes do not retry it.
func TestWebhook400NotRetried(t *testing.T) {
	fx := newFixture(t)
	driftedLog(t, fx)
	srv, got := receiver(t, 400, 400, 400)
	r, _ := fx.runner(t, fx.config(t, webhookConfig(srv.URL)))
	r.Step(t.Context(), true)
	r.Step(t.Context(), true)
	if n := len(got()); n != 1 {
		t.Fatalf("%d attempts, want 1", n)
	}
	pend, _ := fx.store.PendingMonitorNotifications(t.Context(), "m1")
	if len(pend) != 0 {
		t.Errorf("still pending: %+v", pend)
	}
}

func checkWithPython(t *testing.T, got []received) {
	t.Helper()
	var msgs []webhooktest.Message
	for _, r := range got {
		msgs = append(msgs, webhooktest.Message{Header: r.header, Body: r.body})
	}
	webhooktest.CheckWithPython(t, secret, msgs)
}

type fakeRegistry struct {
	alias string
	moves int
}

func (f *fakeRegistry) GetModelVersionByAlias(_ context.Context, name, alias string) (*tracking.ModelVersion, error) {
	return &tracking.ModelVersion{Name: name, Version: f.alias}, nil
}

func (f *fakeRegistry) SearchModelVersions(context.Context, string, []string, int, string) ([]tracking.ModelVersion, string, error) {
	return []tracking.ModelVersion{{Version: "1"}, {Version: "2"}, {Version: "4"}, {Version: "5"}}, "", nil
}

func (f *fakeRegistry) SetRegisteredModelAlias(_ context.Context, _, _, v string) error {
	f.alias = v
	f.moves++
	return nil
}

// Actions: a command gets the notification on stdin; a rollback moves the
// alias to the version before the one it names; dry runs only print.
func TestActions(t *testing.T) {
	fx := newFixture(t)
	driftedLog(t, fx)
	out := filepath.Join(fx.dir, "retrain.json")
	c := fx.config(t, fmt.Sprintf(`actions:
  - {name: retrain, command: [sh, -c, 'cat > %s; echo "$DAWN_ALERT_STATUS" >> %s']}
  - {name: back, rollback: {model: spam, alias: champion}}
  - {name: page, command: [sh, -c, 'exit 3'], dry_run: true}
`, out, out))
	r, log := fx.runner(t, c)
	reg := &fakeRegistry{alias: "4"}
	r.Registry = reg
	if err := r.Step(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil || !bytes.Contains(b, []byte(`"alertname":"XDrift"`)) || !bytes.HasSuffix(b, []byte("firing\n")) {
		t.Errorf("command got %q (%v)", b, err)
	}
	if reg.alias != "2" || reg.moves != 1 {
		t.Errorf("alias at %s after %d moves, want 2 after 1", reg.alias, reg.moves)
	}
	if !strings.Contains(log.String(), "dry run: page would get") || !strings.Contains(log.String(), "run sh -c exit 3") {
		t.Errorf("dry run output: %s", log)
	}
	pend, _ := fx.store.PendingMonitorNotifications(t.Context(), "m1")
	if len(pend) != 0 {
		t.Errorf("pending after delivery: %+v", pend)
	}
}

// Time windows: a window closes when a row of the next span arrives, so
// the last, open span waits; windows cross files.
func TestDurationWindows(t *testing.T) {
	fx := newFixture(t)
	fx.add(t, "p-0001.csv", 1500, false)
	fx.add(t, "p-0002.csv", 1500, false)
	c := fx.config(t, "")
	c.Window = WindowConfig{Duration: Duration(1000 * time.Second), TimeColumn: "time"}
	r, _ := fx.runner(t, c)
	if err := r.Step(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	h := history(t, fx.store)
	if len(h) != 2 || r.queued != 1000 {
		t.Fatalf("%d windows and %d rows waiting, want 2 and 1000", len(h), r.queued)
	}
	for i, w := range h {
		start := int64(1_700_000_000 + 1000*i)
		if w.Rows != 1000 || w.Start.Unix() != start || w.End.Unix() != start+999 {
			t.Errorf("window %d: %d rows from %d to %d", i, w.Rows, w.Start.Unix(), w.End.Unix())
		}
	}
}

// A receiver that keeps failing gets attemptsPerPass attempts a pass,
// numbered on across passes, until max_attempts; then the message is
// given up and no longer sent.
func TestWebhookAttemptsAcrossPasses(t *testing.T) {
	fx := newFixture(t)
	driftedLog(t, fx)
	srv, got := receiver(t, 500, 500, 500, 500, 500, 500, 500, 500)
	r, _ := fx.runner(t, fx.config(t, webhookConfig(srv.URL))) // max_attempts 5
	r.Step(t.Context(), true)
	if n := len(got()); n != 3 {
		t.Fatalf("first pass: %d attempts, want 3", n)
	}
	if pend, _ := fx.store.PendingMonitorNotifications(t.Context(), "m1"); len(pend) != 1 {
		t.Fatalf("pending after the first pass: %d, want 1", len(pend))
	}
	r.Step(t.Context(), true)
	r.Step(t.Context(), true)
	if n := len(got()); n != 5 {
		t.Errorf("%d attempts in all, want max_attempts 5", n)
	}
	ds, _ := fx.store.MonitorDeliveries(t.Context(), "m1")
	for i, d := range ds {
		if d.Attempt != i+1 {
			t.Errorf("delivery %d numbered %d", i, d.Attempt)
		}
	}
	if pend, _ := fx.store.PendingMonitorNotifications(t.Context(), "m1"); len(pend) != 0 {
		t.Errorf("still pending after max_attempts: %+v", pend)
	}
}

// A rollback whose move was made but whose delivery was not recorded (a
// crash in between) is retried without moving the alias a second time.
func TestRollbackRetryMovesOnce(t *testing.T) {
	fx := newFixture(t)
	driftedLog(t, fx)
	c := fx.config(t, "actions:\n  - {name: back, rollback: {model: spam, alias: champion}}\n")
	r, _ := fx.runner(t, c)
	reg := &fakeRegistry{alias: "5"}
	r.Registry = reg
	// Evaluate and queue without delivering: commit the windows by hand.
	if err := r.list(t.Context()); err != nil {
		t.Fatal(err)
	}
	for {
		w, ok, err := r.nextWindow(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if err := r.evaluate(t.Context(), w); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.commit(t.Context(), nil, r.disp.Flush(time.Now().Add(time.Second))); err != nil {
		t.Fatal(err)
	}
	pend, _ := fx.store.PendingMonitorNotifications(t.Context(), "m1")
	if len(pend) != 1 {
		t.Fatalf("%d queued, want 1", len(pend))
	}
	// The move happens, then the process dies before recording it.
	if err := r.rollback(t.Context(), c.Actions[0].Rollback, pend[0]); err != nil {
		t.Fatal(err)
	}
	if reg.alias != "4" {
		t.Fatalf("alias at %s, want 4", reg.alias)
	}
	r2, _ := fx.runner(t, c)
	r2.Registry = reg
	if err := r2.Step(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	if reg.alias != "4" || reg.moves != 1 {
		t.Errorf("alias at %s after %d moves, want 4 after 1", reg.alias, reg.moves)
	}
	if pend, _ := fx.store.PendingMonitorNotifications(t.Context(), "m1"); len(pend) != 0 {
		t.Errorf("still pending: %+v", pend)
	}
}
