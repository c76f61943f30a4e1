package storetest

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/dawn-ml/dawn/tracking"
)

// RunMonitorStore checks a store's tracking.MonitorStore: a commit is all
// or nothing, a window index is stored once, queued notifications stay
// pending until a delivered or final attempt closes them, and attempts
// are listed in order.
func RunMonitorStore(t *testing.T, s tracking.Store) {
	t.Helper()
	ctx := t.Context()
	ms, ok := s.(tracking.MonitorStore)
	if !ok {
		t.Skip("store does not implement tracking.MonitorStore")
	}
	st, err := ms.MonitorState(ctx, "m")
	if err != nil || st.NextWindow != 0 || st.Position != "" {
		t.Fatalf("new monitor: %+v %v", st, err)
	}
	w := &tracking.MonitorWindow{Index: 0, Start: 1000, End: 2000, Rows: 5, From: `{"file":"a","row":0}`, To: `{"file":"a","row":5}`, Report: json.RawMessage(`{"rows":5}`)}
	n := []tracking.MonitorNotification{{ID: "msg_1", Receiver: "ops", Payload: json.RawMessage(`{"status":"firing"}`)},
		{ID: "msg_1", Receiver: "am", Payload: json.RawMessage(`{"status":"firing"}`)}}
	next := tracking.MonitorState{Position: w.To, NextWindow: 1, Alerts: json.RawMessage(`{"x":1}`), RunID: "r1"}
	if err := ms.CommitMonitor(ctx, "m", next, w, n); err != nil {
		t.Fatal(err)
	}
	// The same window again is refused, and nothing of that commit stays.
	bad := next
	bad.Position = "elsewhere"
	err = ms.CommitMonitor(ctx, "m", bad, w, []tracking.MonitorNotification{{ID: "msg_2", Receiver: "ops", Payload: json.RawMessage(`{}`)}})
	if !errors.Is(err, tracking.ErrAlreadyExists) {
		t.Errorf("window stored twice: %v", err)
	}
	st, err = ms.MonitorState(ctx, "m")
	if err != nil || st.Position != w.To || st.NextWindow != 1 || st.RunID != "r1" || string(st.Alerts) != `{"x":1}` {
		t.Errorf("state %+v %v", st, err)
	}
	pend, err := ms.PendingMonitorNotifications(ctx, "m")
	if err != nil || len(pend) != 2 {
		t.Fatalf("pending %+v %v, want msg_1 for two receivers", pend, err)
	}
	// A failed attempt keeps it pending; a delivered one closes it; a
	// final record closes without counting an attempt.
	ms.RecordMonitorDelivery(ctx, "m", tracking.MonitorDelivery{ID: "msg_1", Receiver: "ops", Attempt: 1, Time: 10, Status: 500, Error: "boom"})
	ms.RecordMonitorDelivery(ctx, "m", tracking.MonitorDelivery{ID: "msg_1", Receiver: "ops", Attempt: 2, Time: 11, Status: 200, Delivered: true})
	ms.RecordMonitorDelivery(ctx, "m", tracking.MonitorDelivery{ID: "msg_1", Receiver: "am", Time: 12, Error: "given up", Final: true})
	if pend, _ := ms.PendingMonitorNotifications(ctx, "m"); len(pend) != 0 {
		t.Errorf("still pending: %+v", pend)
	}
	ds, err := ms.MonitorDeliveries(ctx, "m")
	if err != nil || len(ds) != 2 || ds[0].Status != 500 || !ds[1].Delivered {
		t.Errorf("deliveries %+v %v", ds, err)
	}
	var got []tracking.MonitorWindow
	ms.MonitorWindows(ctx, "m", 0, func(w tracking.MonitorWindow) error { got = append(got, w); return nil })
	if len(got) != 1 || got[0].Rows != 5 || string(got[0].Report) != `{"rows":5}` || got[0].End != 2000 {
		t.Errorf("windows %+v", got)
	}
	// The latest windows, oldest first, bounded in the query; totals of
	// those before an index.
	for i := int64(1); i < 6; i++ {
		next.NextWindow = i + 1
		if err := ms.CommitMonitor(ctx, "m", next, &tracking.MonitorWindow{Index: i, Rows: 10 * i, Report: json.RawMessage(`{}`)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		last int
		want []int64
	}{{0, []int64{0, 1, 2, 3, 4, 5}}, {3, []int64{3, 4, 5}}, {1, []int64{5}}, {10, []int64{0, 1, 2, 3, 4, 5}}} {
		var idx []int64
		if err := ms.MonitorWindows(ctx, "m", tc.last, func(w tracking.MonitorWindow) error { idx = append(idx, w.Index); return nil }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(idx, tc.want) {
			t.Errorf("last %d: windows %v, want %v", tc.last, idx, tc.want)
		}
	}
	if n, rows, err := ms.MonitorWindowTotals(ctx, "m", 6); err != nil || n != 6 || rows != 5+10+20+30+40+50 {
		t.Errorf("totals %d windows %d rows %v", n, rows, err)
	}
	if n, rows, err := ms.MonitorWindowTotals(ctx, "m", 3); err != nil || n != 3 || rows != 5+10+20 {
		t.Errorf("totals before 3: %d windows %d rows %v", n, rows, err)
	}
	// A report replaced in place (late labels) with the state and the
	// notifications it raised; an unknown window is NotFound and changes
	// nothing.
	late := next
	late.Alerts = json.RawMessage(`{"late":1}`)
	if err := ms.UpdateMonitorWindow(ctx, "m", late, 4, json.RawMessage(`{"rows":40,"late":true}`),
		[]tracking.MonitorNotification{{ID: "msg_late", Receiver: "ops", Payload: json.RawMessage(`{"status":"firing"}`)}}); err != nil {
		t.Fatal(err)
	}
	ms.MonitorWindows(ctx, "m", 2, func(w tracking.MonitorWindow) error {
		if w.Index == 4 && string(w.Report) != `{"rows":40,"late":true}` {
			t.Errorf("updated report %s", w.Report)
		}
		return nil
	})
	if st, _ := ms.MonitorState(ctx, "m"); string(st.Alerts) != `{"late":1}` || st.NextWindow != next.NextWindow {
		t.Errorf("state after the update: %+v", st)
	}
	if pend, _ := ms.PendingMonitorNotifications(ctx, "m"); len(pend) != 1 || pend[0].ID != "msg_late" {
		t.Errorf("pending after the update: %+v, want msg_late", pend)
	}
	gone := late
	gone.Alerts = json.RawMessage(`{"gone":1}`)
	if err := ms.UpdateMonitorWindow(ctx, "m", gone, 99, json.RawMessage(`{}`),
		[]tracking.MonitorNotification{{ID: "msg_gone", Receiver: "ops", Payload: json.RawMessage(`{}`)}}); !errors.Is(err, tracking.ErrNotFound) {
		t.Errorf("update of a missing window: %v", err)
	}
	if st, _ := ms.MonitorState(ctx, "m"); string(st.Alerts) != `{"late":1}` {
		t.Errorf("a refused update stored its state: %s", st.Alerts)
	}
	if pend, _ := ms.PendingMonitorNotifications(ctx, "m"); len(pend) != 1 {
		t.Errorf("a refused update queued its notification: %+v", pend)
	}
	if n, rows, err := ms.MonitorWindowTotals(ctx, "nobody", 100); err != nil || n != 0 || rows != 0 {
		t.Errorf("totals of an unknown monitor %d %d %v", n, rows, err)
	}
	// Another monitor's state is its own.
	if st, _ := ms.MonitorState(ctx, "other"); st.NextWindow != 0 {
		t.Errorf("other monitor: %+v", st)
	}
}
