package alert

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func drift(model, col string) Alert {
	return Alert{Labels: map[string]string{"alertname": "ColumnDrift", "model": model, "column": col},
		Annotations: map[string]string{"summary": "drift"}, StartsAt: t0}
}

func TestGrouping(t *testing.T) {
	d := NewDispatcher(Route{GroupBy: []string{"alertname", "model"}})
	d.Add(drift("spam", "CONTENT"), at(0))
	if n := d.Flush(at(10 * time.Second)); len(n) != 0 {
		t.Fatalf("notified before group_wait: %+v", n)
	}
	d.Add(drift("spam", "AUTHOR"), at(20*time.Second))
	d.Add(drift("spam", "CONTENT"), at(25*time.Second)) // raised again: deduplicated
	n := d.Flush(at(30 * time.Second))
	if len(n) != 1 || len(n[0].Alerts) != 2 || n[0].Status != "firing" || n[0].Version != "4" {
		t.Fatalf("after group_wait: %+v", n)
	}
	if n[0].CommonLabels["model"] != "spam" || n[0].CommonLabels["column"] != "" || n[0].GroupLabels["alertname"] != "ColumnDrift" {
		t.Errorf("labels %+v / %+v", n[0].CommonLabels, n[0].GroupLabels)
	}
	first := n[0].ID
	// Unchanged: nothing until repeat_interval (4 h).
	if n := d.Flush(at(10 * time.Minute)); len(n) != 0 {
		t.Errorf("unchanged group re-sent after 10 m: %+v", n)
	}
	// A change waits for group_interval (5 m after the last send).
	d.Add(drift("spam", "DATE"), at(31*time.Second))
	if n := d.Flush(at(4 * time.Minute)); len(n) != 0 {
		t.Errorf("change sent before group_interval: %+v", n)
	}
	n = d.Flush(at(5*time.Minute + 30*time.Second))
	if len(n) != 1 || len(n[0].Alerts) != 3 || n[0].ID == first {
		t.Fatalf("after group_interval: %+v", n)
	}
	if n := d.Flush(at(4*time.Hour + 5*time.Minute + 30*time.Second)); len(n) != 1 {
		t.Errorf("repeat_interval: %d notifications, want 1", len(n))
	}
}

func TestResolvedOnce(t *testing.T) {
	d := NewDispatcher(Route{GroupBy: []string{"alertname"}, GroupWait: time.Second, GroupInterval: time.Minute})
	d.Add(drift("spam", "CONTENT"), at(0))
	if n := d.Flush(at(time.Second)); len(n) != 1 {
		t.Fatal("no firing notification")
	}
	r := drift("spam", "CONTENT")
	r.EndsAt = at(2 * time.Minute)
	d.Add(r, at(2*time.Minute))
	n := d.Flush(at(2 * time.Minute))
	if len(n) != 1 || n[0].Status != "resolved" || n[0].Alerts[0].Status != "resolved" || n[0].Alerts[0].Fingerprint != Fingerprint(r.Labels) {
		t.Fatalf("resolved: %+v", n)
	}
	if n := d.Flush(at(10 * time.Hour)); len(n) != 0 {
		t.Errorf("resolved sent twice: %+v", n)
	}
	if len(d.groups) != 0 {
		t.Errorf("group kept after resolution")
	}
}

func TestSilence(t *testing.T) {
	d := NewDispatcher(Route{GroupBy: []string{"column"}, GroupWait: time.Second})
	d.Silences = []Silence{{Matchers: []Matcher{{Name: "column", Value: "AUTH.*", Regex: true}}, StartsAt: t0, EndsAt: at(time.Hour)}}
	d.Add(drift("spam", "AUTHOR"), at(0))
	d.Add(drift("spam", "CONTENT"), at(0))
	n := d.Flush(at(time.Second))
	if len(n) != 1 || n[0].Alerts[0].Labels["column"] != "CONTENT" {
		t.Fatalf("silenced alert sent: %+v", n)
	}
	// When the silence ends the muted alert is sent.
	n = d.Flush(at(time.Hour))
	if len(n) != 1 || n[0].Alerts[0].Labels["column"] != "AUTHOR" {
		t.Fatalf("after the silence: %+v", n)
	}
}

func TestFingerprint(t *testing.T) {
	a := Fingerprint(map[string]string{"a": "1", "b": "2"})
	if a != Fingerprint(map[string]string{"b": "2", "a": "1"}) || a == Fingerprint(map[string]string{"a": "12"}) || len(a) != 16 {
		t.Errorf("fingerprints")
	}
	// "a=1,b=" must not collide with "a=1b=".
	if Fingerprint(map[string]string{"a": "1", "b": ""}) == Fingerprint(map[string]string{"a": "1b"}) {
		t.Error("collision")
	}
}

// A dispatcher restored from State sends what the original would have,
// and nothing it had already sent.
func TestStateRestore(t *testing.T) {
	r := Route{GroupBy: []string{"alertname"}, GroupWait: time.Second, GroupInterval: time.Minute, RepeatInterval: time.Hour}
	d := NewDispatcher(r)
	d.Add(Alert{Labels: map[string]string{"alertname": "drift", "column": "x"}, StartsAt: t0}, t0)
	if n := d.Flush(t0.Add(2 * time.Second)); len(n) != 1 {
		t.Fatalf("first flush: %d notifications, want 1", len(n))
	}
	saved := d.State()
	e := NewDispatcher(r)
	e.Restore(saved)
	if n := e.Flush(t0.Add(3 * time.Second)); len(n) != 0 {
		t.Fatalf("restored dispatcher re-sent %d notifications", len(n))
	}
	// Resolving it is still notified, with the next sequence number.
	e.Add(Alert{Labels: map[string]string{"alertname": "drift", "column": "x"}, StartsAt: t0, EndsAt: t0.Add(time.Minute)}, t0.Add(time.Minute))
	n := e.Flush(t0.Add(2 * time.Minute))
	if len(n) != 1 || n[0].Status != "resolved" || !strings.HasSuffix(n[0].ID, "_2") {
		t.Fatalf("after restore: %+v, want one resolved notification numbered 2", n)
	}
}
