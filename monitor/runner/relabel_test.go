package runner

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dawn-ml/dawn/tracking/trackingtest"
)

// writeLabelsWrong writes labels for rows [lo, hi) of l that are wrong
// (against the sign model's prediction) exactly where wrong(i) holds.
func writeLabelsWrong(t *testing.T, path string, l labelled, lo, hi int, wrong func(int) bool) {
	t.Helper()
	flip := map[string]string{"pos": "neg", "neg": "pos"}
	var b strings.Builder
	b.WriteString("request_id,request_row,label\n")
	for i := lo; i < hi; i++ {
		pred := l.truth[i]
		if !l.right[i] {
			pred = flip[pred]
		}
		label := pred
		if wrong(i) {
			label = flip[pred]
		}
		fmt.Fprintf(&b, "%s,%s\n", l.ids[i], label)
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path))
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// lateAlertConfig is a monitor of fx's log with late labels from dir and
// one rule: realised accuracy below 0.85.
func lateAlertConfig(t *testing.T, fx *fixture, dir, hook string) *Config {
	t.Helper()
	src := fmt.Sprintf(`name: m1
model: unused
source: {path: %q}
window: {rows: 2000}
labels: {source: %q, wait: 1h}
alerts:
  group_wait: 1ms
  group_interval: 1ms
  rules:
    - {name: AccuracyLow, check: actual_accuracy, threshold: 0.85}
`, filepath.Join(fx.log, "*.csv"), dir) + webhookConfig(hook)
	c, err := ParseConfig([]byte(src))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, src)
	}
	return c
}

type lateNote struct {
	Status string `json:"status"`
	Alerts []struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"alerts"`
}

// Labels that arrive after a window was evaluated push its realised
// accuracy below an actual_accuracy rule's threshold: the rule, run again
// on the recomputed report, fires, and exactly one notification goes out,
// even with a restart between the recomputation and the delivery and
// another after it. The alert, already firing, is not re-sent when the
// next window also falls short; good labels on a later window resolve it.
// Accuracies are counted by hand: the first 1,000 labels are wrong on
// every tenth row (900/1000 = 0.9, above 0.85), the next 1,000 on every
// fourth (750 right), so the window holds 900 + 750 = 1650 right of 2000
// = 0.825.
func TestLateLabelsFireActualAccuracyRule(t *testing.T) {
	fx := newFixture(t)
	rng := rand.New(rand.NewPCG(9, 9))
	labelsDir := filepath.Join(fx.dir, "labels")
	os.MkdirAll(labelsDir, 0o755)
	srv, got := receiver(t)
	c := lateAlertConfig(t, fx, labelsDir, srv.URL)
	tr := trackingtest.Start(t)
	now := time.Now()
	clock := func() time.Time { return now }
	start := func() *Runner {
		t.Helper()
		r, err := New(t.Context(), c, fx.profile, signModel{}, fx.store)
		if err != nil {
			t.Fatal(err)
		}
		r.Now, r.Tracking, r.Metrics = clock, tr.Client, NewMetrics(prometheus.NewRegistry())
		if err := r.startRun(t.Context()); err != nil {
			t.Fatal(err)
		}
		return r
	}
	step := func(r *Runner) {
		t.Helper()
		now = now.Add(time.Second)
		if err := r.Step(t.Context(), false); err != nil {
			t.Fatal(err)
		}
	}
	r := start()
	l0 := writeLabelledLog(t, rng, filepath.Join(fx.log, "p-0001.csv"), "a", 2000)
	step(r)
	if h := history(t, fx.store); len(h) != 1 || h[0].Report.Performance.Actual != nil {
		t.Fatalf("window 0 before any label: %+v", h)
	}
	// Half the labels: 0.9, above the threshold.
	writeLabelsWrong(t, filepath.Join(labelsDir, "l-1.csv"), l0, 0, 1000, func(i int) bool { return i%10 == 0 })
	step(r)
	if a := history(t, fx.store)[0].Report.Performance.Actual; a == nil || a.Rows != 1000 || a.Accuracy != 0.9 {
		t.Fatalf("window 0 after 1,000 labels: %+v, want 0.9 over 1000", a)
	}
	if len(r.alerts.Firing) != 0 || len(got()) != 0 {
		t.Fatalf("accuracy 0.9 raised an alert: %d firing, %d sent", len(r.alerts.Firing), len(got()))
	}
	// The rest: 0.825. Recompute and commit only, then die before the
	// group wait elapses (the alert is in the stored dispatcher state, not
	// yet a notification).
	writeLabelsWrong(t, filepath.Join(labelsDir, "l-2.csv"), l0, 1000, 2000, func(i int) bool { return i%4 == 0 })
	now = now.Add(time.Second)
	if _, err := r.refreshLabels(); err != nil {
		t.Fatal(err)
	}
	if err := r.relabel(t.Context()); err != nil {
		t.Fatal(err)
	}
	if a := history(t, fx.store)[0].Report.Performance.Actual; a == nil || a.Rows != 2000 || a.Accuracy != 0.825 {
		t.Fatalf("window 0 after 2,000 labels: %+v, want 0.825 over 2000", a)
	}
	if len(r.alerts.Firing) != 1 {
		t.Fatalf("%d alerts firing after accuracy 0.825, want 1", len(r.alerts.Firing))
	}
	if g := testutil.ToFloat64(r.Metrics.actual.WithLabelValues("m1")); g != 0.825 {
		t.Errorf("actual_accuracy gauge %g, want 0.825", g)
	}
	if g := testutil.ToFloat64(r.Metrics.relabels.WithLabelValues("m1")); g != 2 {
		t.Errorf("windows_recomputed_total %g, want 2", g)
	}
	if g := testutil.ToFloat64(r.Metrics.firing.WithLabelValues("m1")); g != 1 {
		t.Errorf("alerts_firing gauge %g, want 1", g)
	}
	r.Close()
	// A restart: the stored report already has its 2,000 labels, so nothing
	// is recomputed again; the restored group is flushed and delivered.
	r2 := start()
	step(r2)
	g := got()
	if len(g) != 1 {
		t.Fatalf("%d notifications after the restart, want 1", len(g))
	}
	var note lateNote
	json.Unmarshal(g[0].body, &note)
	if note.Status != "firing" || len(note.Alerts) != 1 || note.Alerts[0].Labels["alertname"] != "AccuracyLow" ||
		note.Alerts[0].Annotations["value"] != "0.825" || note.Alerts[0].Annotations["window"] != "0" {
		t.Errorf("notification %s", g[0].body)
	}
	if gv := testutil.ToFloat64(r2.Metrics.actual.WithLabelValues("m1")); gv != 0.825 {
		t.Errorf("restarted actual_accuracy gauge %g, want 0.825 (from the store)", gv)
	}
	st, _ := fx.store.MonitorState(t.Context(), "m1")
	pts, err := tr.Client.GetMetricHistory(t.Context(), st.RunID, "actual_accuracy")
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 2 || pts[0].Step != 0 || pts[1].Step != 0 || float64(pts[0].Value) != 0.9 || float64(pts[1].Value) != 0.825 {
		t.Errorf("actual_accuracy history %+v, want 0.9 then 0.825 at step 0", pts)
	}
	// Another restart: nothing more.
	r3 := start()
	step(r3)
	step(r3)
	if n := len(got()); n != 1 {
		t.Fatalf("%d notifications after a second restart, want still 1", n)
	}
	// Window 1 falls short too (labels present at once, 0.75): the alert
	// is already firing and is not sent again.
	l1 := writeLabelledLog(t, rng, filepath.Join(fx.log, "p-0002.csv"), "b", 2000)
	writeLabelsWrong(t, filepath.Join(labelsDir, "l-3.csv"), l1, 0, 2000, func(i int) bool { return i%4 == 0 })
	step(r3)
	step(r3)
	if a := history(t, fx.store)[1].Report.Performance.Actual; a == nil || a.Accuracy != 0.75 {
		t.Fatalf("window 1: %+v, want 0.75", a)
	}
	if n := len(got()); n != 1 {
		t.Fatalf("%d notifications after a second short window, want still 1", n)
	}
	// Window 2's labels come late and are good (1800/2000 = 0.9): the
	// alert resolves, once.
	l2 := writeLabelledLog(t, rng, filepath.Join(fx.log, "p-0003.csv"), "c", 2000)
	step(r3)
	writeLabelsWrong(t, filepath.Join(labelsDir, "l-4.csv"), l2, 0, 2000, func(i int) bool { return i%10 == 0 })
	step(r3)
	step(r3)
	g = got()
	if len(g) != 2 {
		t.Fatalf("%d notifications, want the firing one and one resolved", len(g))
	}
	json.Unmarshal(g[1].body, &note)
	if note.Status != "resolved" || len(note.Alerts) != 1 || note.Alerts[0].Labels["alertname"] != "AccuracyLow" {
		t.Errorf("second notification %s, want AccuracyLow resolved", g[1].body)
	}
	if gv := testutil.ToFloat64(r3.Metrics.actual.WithLabelValues("m1")); gv != 0.9 {
		t.Errorf("actual_accuracy gauge %g, want window 2's 0.9", gv)
	}
}

// observe counts, for `for: N`, the windows in a row that have the
// figure, in index order, each with its latest value; windows without it
// are skipped, a recomputed window replaces its mark, and folded marks
// keep their count.
func TestAlertStateObserve(t *testing.T) {
	s := alertState{Streak: map[string]int{}}
	type step struct {
		w      int64
		held   bool
		keep   int64
		last   int64
		streak int
	}
	for i, st := range []step{
		{w: 0, held: true, keep: -99, last: 0, streak: 1},
		// window 1 has no figure (no labels): not observed
		{w: 2, held: true, keep: -97, last: 2, streak: 2},
		{w: 3, held: false, keep: -96, last: 3, streak: 0},
		{w: 4, held: true, keep: -95, last: 4, streak: 1},
		// late labels: window 3 now meets the condition, 0..4 in a row
		{w: 3, held: true, keep: -95, last: 4, streak: 4},
		// window 0 now does not: 2, 3, 4
		{w: 0, held: false, keep: -95, last: 4, streak: 3},
		// windows 0..2 leave the recomputable range: folded, 2 held
		{w: 5, held: true, keep: 3, last: 5, streak: 4},
		{w: 3, held: false, keep: 3, last: 5, streak: 2},
		{w: 3, held: true, keep: 3, last: 5, streak: 4},
	} {
		last, streak := s.observe("fp", mark{W: st.w, Held: st.held}, st.keep)
		if last.W != st.last || streak != st.streak {
			t.Errorf("step %d (window %d held %v): newest %d streak %d, want %d and %d", i, st.w, st.held, last.W, streak, st.last, st.streak)
		}
	}
	if n := len(s.Marks["fp"]); n != 3 || s.Streak["fp"] != 1 {
		t.Errorf("marks %+v, streak %d: want windows 3..5 kept and 1 folded (window 2)", s.Marks["fp"], s.Streak["fp"])
	}
	// A rule whose figure is never recomputed keeps no marks.
	s.observe("drift", mark{W: 6, Held: true}, 1<<62)
	if last, streak := s.observe("drift", mark{W: 7, Held: true}, 1<<62); last.W != 7 || streak != 2 || len(s.Marks["drift"]) != 0 {
		t.Errorf("folded rule: newest %d streak %d marks %v", last.W, streak, s.Marks["drift"])
	}
}
