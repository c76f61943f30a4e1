package tracking

import (
	"context"
	"encoding/json"
)

// MonitorStore keeps the state of continuous monitors (`dawn monitor
// run`) beside the runs and models: where each monitor is in its source,
// the windows it evaluated with their reports, the alert dispatcher's
// state, and an outbox of notifications with every delivery attempt. A
// monitor commits a window, its new position and the notifications the
// window raised in one transaction, so a restart neither misses nor
// repeats a window and never loses or re-creates a notification.
// sqlstore.Store implements it for SQLite and PostgreSQL.
type MonitorStore interface {
	// MonitorState returns a monitor's state; a monitor never seen has the
	// zero state (NextWindow 0, no position).
	MonitorState(ctx context.Context, monitor string) (*MonitorState, error)
	// CommitMonitor stores st, w (nil: no new window) and queues out, all
	// or nothing. A window index already stored is refused with
	// AlreadyExistsf; a notification id already queued is kept as it is.
	CommitMonitor(ctx context.Context, monitor string, st MonitorState, w *MonitorWindow, out []MonitorNotification) error
	// MonitorWindows calls fn for each stored window, oldest first; with
	// last > 0 only for the latest last windows (the bound is applied in
	// the query, so a long history is not read to draw its end).
	MonitorWindows(ctx context.Context, monitor string, last int, fn func(MonitorWindow) error) error
	// UpdateMonitorWindow replaces a stored window's report (its realised
	// performance recomputed when late labels arrived), stores st (the
	// alert state the new report left) and queues out (the notifications
	// it raised), all or nothing; NotFound when the window is not stored.
	UpdateMonitorWindow(ctx context.Context, monitor string, st MonitorState, index int64, report json.RawMessage, out []MonitorNotification) error
	// MonitorWindowTotals counts a monitor's stored windows of index below
	// before and sums their rows.
	MonitorWindowTotals(ctx context.Context, monitor string, before int64) (windows, rows int64, err error)
	// PendingMonitorNotifications lists queued notifications not yet
	// delivered nor given up, oldest first.
	PendingMonitorNotifications(ctx context.Context, monitor string) ([]MonitorNotification, error)
	// RecordMonitorDelivery appends one delivery attempt; a delivered (or
	// final, given-up) attempt closes its notification.
	RecordMonitorDelivery(ctx context.Context, monitor string, a MonitorDelivery) error
	// MonitorDeliveries lists the attempts of a monitor, oldest first.
	MonitorDeliveries(ctx context.Context, monitor string) ([]MonitorDelivery, error)
}

// MonitorState is where a monitor stands.
type MonitorState struct {
	// Position is the source position after the last committed window
	// (the source's own encoding, e.g. a file name and a row offset).
	Position string `json:"position"`
	// NextWindow is the index the next window gets.
	NextWindow int64 `json:"next_window"`
	// Alerts is the alert rules' and dispatcher's state (the monitor's
	// encoding).
	Alerts json.RawMessage `json:"alerts,omitempty"`
	// RunID is the tracking run the monitor logs its metrics to.
	RunID string `json:"run_id,omitempty"`
	// Updated is when the state was last committed (unix ms).
	Updated int64 `json:"updated"`
}

// MonitorWindow is one evaluated window.
type MonitorWindow struct {
	Index int64 `json:"index"`
	// Start and End bound the rows' times (unix ms; 0 when the rows have
	// no time).
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	Rows  int64 `json:"rows"`
	// From and To are the source positions of the window's first row and
	// just after its last.
	From string `json:"from"`
	To   string `json:"to"`
	// Report is the window's *monitor.Report as JSON.
	Report  json.RawMessage `json:"report"`
	Created int64           `json:"created"`
}

// MonitorNotification is one queued message to one receiver. Its ID is
// the same on every attempt (the receiver's idempotency key).
type MonitorNotification struct {
	ID       string          `json:"id"`
	Receiver string          `json:"receiver"`
	Payload  json.RawMessage `json:"payload"`
	Created  int64           `json:"created"`
	// Closed is when it was delivered or given up (unix ms; 0: pending).
	Closed    int64  `json:"closed,omitempty"`
	Delivered bool   `json:"delivered"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error,omitempty"`
}

// MonitorDelivery is one attempt to deliver a notification.
type MonitorDelivery struct {
	ID        string `json:"id"`
	Receiver  string `json:"receiver"`
	Attempt   int    `json:"attempt"`
	Time      int64  `json:"time"`
	Status    int    `json:"status,omitempty"`
	Error     string `json:"error,omitempty"`
	Delivered bool   `json:"delivered"`
	// Final closes the notification without delivery (a refusal, or the
	// attempts ran out).
	Final bool `json:"final,omitempty"`
}
