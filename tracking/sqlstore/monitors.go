package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/dawn-ml/dawn/tracking"
)

var _ tracking.MonitorStore = (*Store)(nil)

// MonitorState implements tracking.MonitorStore.
func (s *Store) MonitorState(ctx context.Context, monitor string) (*tracking.MonitorState, error) {
	st := &tracking.MonitorState{}
	var alerts string
	err := s.r.QueryRowContext(ctx, s.q(`SELECT position, next_window, alerts, run_id, updated_ms FROM monitor_state WHERE monitor = ?`), monitor).
		Scan(&st.Position, &st.NextWindow, &alerts, &st.RunID, &st.Updated)
	if err == sql.ErrNoRows {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: monitor %s: state: %w", monitor, err)
	}
	if alerts != "" {
		st.Alerts = json.RawMessage(alerts)
	}
	return st, nil
}

// CommitMonitor implements tracking.MonitorStore.
func (s *Store) CommitMonitor(ctx context.Context, monitor string, st tracking.MonitorState, w *tracking.MonitorWindow, out []tracking.MonitorNotification) error {
	if monitor == tracking.WebhookOutbox {
		return tracking.InvalidParameterf("monitor name %q is reserved for the webhook outbox", monitor)
	}
	now := nowMillis()
	return s.tx(ctx, func(tx *sql.Tx) error {
		if w != nil {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO monitor_windows (monitor, window_index, start_ms, end_ms, rows_n, from_pos, to_pos, report, created_ms)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`), monitor, w.Index, w.Start, w.End, w.Rows, w.From, w.To, string(w.Report), now); err != nil {
				if isUnique(err) {
					return tracking.AlreadyExistsf("monitor %s: window %d is already stored", monitor, w.Index)
				}
				return fmt.Errorf("sqlstore: monitor %s: window %d: %w", monitor, w.Index, err)
			}
		}
		return s.commitMonitorState(ctx, tx, monitor, st, out, now)
	})
}

// commitMonitorState stores a monitor's state and queues its new
// notifications (an id already queued is kept as it is), inside tx.
func (s *Store) commitMonitorState(ctx context.Context, tx *sql.Tx, monitor string, st tracking.MonitorState, out []tracking.MonitorNotification, now int64) error {
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO monitor_state (monitor, position, next_window, alerts, run_id, updated_ms) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (monitor) DO UPDATE SET position = excluded.position, next_window = excluded.next_window, alerts = excluded.alerts,
		run_id = excluded.run_id, updated_ms = excluded.updated_ms`), monitor, st.Position, st.NextWindow, string(st.Alerts), st.RunID, now); err != nil {
		return fmt.Errorf("sqlstore: monitor %s: state: %w", monitor, err)
	}
	for _, n := range out {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO monitor_outbox (monitor, id, receiver, payload, created_ms) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`), monitor, n.ID, n.Receiver, string(n.Payload), now); err != nil {
			return fmt.Errorf("sqlstore: monitor %s: queue %s: %w", monitor, n.ID, err)
		}
	}
	return nil
}

// MonitorWindows implements tracking.MonitorStore.
func (s *Store) MonitorWindows(ctx context.Context, monitor string, last int, fn func(tracking.MonitorWindow) error) error {
	const cols = `window_index, start_ms, end_ms, rows_n, from_pos, to_pos, report, created_ms`
	query, args := `SELECT `+cols+` FROM monitor_windows WHERE monitor = ? ORDER BY window_index`, []any{monitor}
	if last > 0 {
		query = `SELECT ` + cols + ` FROM (SELECT ` + cols + ` FROM monitor_windows WHERE monitor = ?
			ORDER BY window_index DESC LIMIT ?) latest ORDER BY window_index`
		args = append(args, last)
	}
	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return fmt.Errorf("sqlstore: monitor %s: windows: %w", monitor, err)
	}
	defer rows.Close()
	for rows.Next() {
		var w tracking.MonitorWindow
		var rep string
		if err := rows.Scan(&w.Index, &w.Start, &w.End, &w.Rows, &w.From, &w.To, &rep, &w.Created); err != nil {
			return fmt.Errorf("sqlstore: monitor %s: windows: %w", monitor, err)
		}
		w.Report = json.RawMessage(rep)
		if err := fn(w); err != nil {
			return err
		}
	}
	return rows.Err()
}

// UpdateMonitorWindow implements tracking.MonitorStore.
func (s *Store) UpdateMonitorWindow(ctx context.Context, monitor string, st tracking.MonitorState, index int64, report json.RawMessage, out []tracking.MonitorNotification) error {
	if monitor == tracking.WebhookOutbox {
		return tracking.InvalidParameterf("monitor name %q is reserved for the webhook outbox", monitor)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE monitor_windows SET report = ? WHERE monitor = ? AND window_index = ?`), string(report), monitor, index)
		if err != nil {
			return fmt.Errorf("sqlstore: monitor %s: window %d: %w", monitor, index, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return tracking.NotFoundf("monitor %s has no window %d", monitor, index)
		}
		return s.commitMonitorState(ctx, tx, monitor, st, out, nowMillis())
	})
}

// MonitorWindowTotals implements tracking.MonitorStore.
func (s *Store) MonitorWindowTotals(ctx context.Context, monitor string, before int64) (windows, rows int64, err error) {
	err = s.r.QueryRowContext(ctx, s.q(`SELECT COUNT(*), COALESCE(SUM(rows_n), 0) FROM monitor_windows WHERE monitor = ? AND window_index < ?`),
		monitor, before).Scan(&windows, &rows)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlstore: monitor %s: window totals: %w", monitor, err)
	}
	return windows, rows, nil
}

// PendingMonitorNotifications implements tracking.MonitorStore.
func (s *Store) PendingMonitorNotifications(ctx context.Context, monitor string) ([]tracking.MonitorNotification, error) {
	return s.outbox(ctx, monitor, `AND closed_ms = 0`, 0)
}

// outbox lists the messages of one outbox (a monitor's, or the webhooks')
// that match where, oldest first, at most limit (0: all).
func (s *Store) outbox(ctx context.Context, monitor, where string, limit int) ([]tracking.MonitorNotification, error) {
	lim := ""
	if limit > 0 {
		lim = fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id, receiver, payload, created_ms, closed_ms, delivered, attempts, last_error
		FROM monitor_outbox WHERE monitor = ? `+where+` ORDER BY created_ms, id, receiver`+lim), monitor)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: monitor %s: outbox: %w", monitor, err)
	}
	defer rows.Close()
	var out []tracking.MonitorNotification
	for rows.Next() {
		var n tracking.MonitorNotification
		var p string
		var d int
		if err := rows.Scan(&n.ID, &n.Receiver, &p, &n.Created, &n.Closed, &d, &n.Attempts, &n.LastError); err != nil {
			return nil, fmt.Errorf("sqlstore: monitor %s: outbox: %w", monitor, err)
		}
		n.Payload, n.Delivered = json.RawMessage(p), d != 0
		out = append(out, n)
	}
	return out, rows.Err()
}

// RecordMonitorDelivery implements tracking.MonitorStore.
func (s *Store) RecordMonitorDelivery(ctx context.Context, monitor string, a tracking.MonitorDelivery) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		// A final record only closes the notification: it is no attempt.
		if !a.Final || a.Delivered {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO monitor_deliveries (monitor, id, receiver, attempt, time_ms, status, error, delivered)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), monitor, a.ID, a.Receiver, a.Attempt, a.Time, a.Status, a.Error, b2i(a.Delivered)); err != nil {
				return fmt.Errorf("sqlstore: monitor %s: delivery of %s: %w", monitor, a.ID, err)
			}
		}
		inc := 1
		if a.Final && !a.Delivered {
			inc = 0
		}
		closed := int64(0)
		if a.Delivered || a.Final {
			closed = a.Time
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE monitor_outbox SET attempts = attempts + ?, last_error = ?, delivered = ?,
			closed_ms = CASE WHEN closed_ms = 0 THEN ? ELSE closed_ms END WHERE monitor = ? AND id = ? AND receiver = ?`),
			inc, a.Error, b2i(a.Delivered), closed, monitor, a.ID, a.Receiver); err != nil {
			return fmt.Errorf("sqlstore: monitor %s: delivery of %s: %w", monitor, a.ID, err)
		}
		return nil
	})
}

// MonitorDeliveries implements tracking.MonitorStore.
func (s *Store) MonitorDeliveries(ctx context.Context, monitor string) ([]tracking.MonitorDelivery, error) {
	return s.deliveries(ctx, monitor, "")
}

// deliveries lists the attempts of one outbox that match where (with its
// args), oldest first.
func (s *Store) deliveries(ctx context.Context, monitor, where string, args ...any) ([]tracking.MonitorDelivery, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id, receiver, attempt, time_ms, status, error, delivered FROM monitor_deliveries
		WHERE monitor = ? `+where+` ORDER BY time_ms, attempt`), append([]any{monitor}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: monitor %s: deliveries: %w", monitor, err)
	}
	defer rows.Close()
	var out []tracking.MonitorDelivery
	for rows.Next() {
		var a tracking.MonitorDelivery
		var d int
		if err := rows.Scan(&a.ID, &a.Receiver, &a.Attempt, &a.Time, &a.Status, &a.Error, &d); err != nil {
			return nil, fmt.Errorf("sqlstore: monitor %s: deliveries: %w", monitor, err)
		}
		a.Delivered = d != 0
		out = append(out, a)
	}
	return out, rows.Err()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
