package storetest

import (
	"encoding/json"
	"errors"
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
	ms.MonitorWindows(ctx, "m", func(w tracking.MonitorWindow) error { got = append(got, w); return nil })
	if len(got) != 1 || got[0].Rows != 5 || string(got[0].Report) != `{"rows":5}` || got[0].End != 2000 {
		t.Errorf("windows %+v", got)
	}
	// Another monitor's state is its own.
	if st, _ := ms.MonitorState(ctx, "other"); st.NextWindow != 0 {
		t.Errorf("other monitor: %+v", st)
	}
}
