package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dawn-ml/dawn/tracking"
)

var _ tracking.WebhookStore = (*Store)(nil)

func webhookNotFound(id string) error {
	return tracking.NotFoundf("Webhook with ID %s not found.", id)
}

const webhookCols = `webhook_id, name, description, url, secret, status, creation_ms, updated_ms`

// CreateWebhook implements tracking.WebhookStore.
func (s *Store) CreateWebhook(ctx context.Context, w tracking.Webhook) (*tracking.Webhook, error) {
	w.WebhookID = tracking.NewDeliveryID()
	if w.Status == "" {
		w.Status = tracking.WebhookActive
	}
	now := nowMillis()
	w.CreationTimestamp, w.LastUpdatedTimestamp = now, now
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO webhooks (`+webhookCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			w.WebhookID, w.Name, w.Description, w.URL, w.Secret, w.Status, now, now); err != nil {
			return fmt.Errorf("sqlstore: create webhook %q: %w", w.Name, err)
		}
		return s.setWebhookEvents(ctx, tx, w.WebhookID, w.Events)
	})
	if err != nil {
		return nil, err
	}
	return &w, nil
}

func (s *Store) setWebhookEvents(ctx context.Context, tx *sql.Tx, id string, evs []tracking.WebhookEvent) error {
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM webhook_events WHERE webhook_id = ?`), id); err != nil {
		return fmt.Errorf("sqlstore: webhook %s: events: %w", id, err)
	}
	for i, e := range evs {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO webhook_events (webhook_id, entity, action, position) VALUES (?, ?, ?, ?)`),
			id, e.Entity, e.Action, i); err != nil {
			return fmt.Errorf("sqlstore: webhook %s: event %s: %w", id, e, err)
		}
	}
	return nil
}

// GetWebhook implements tracking.WebhookStore.
func (s *Store) GetWebhook(ctx context.Context, id string) (*tracking.Webhook, error) {
	ws, err := s.scanWebhooks(ctx, s.r, `SELECT `+webhookCols+` FROM webhooks WHERE webhook_id = ? AND deleted_ms = 0`, id)
	if err != nil {
		return nil, err
	}
	if len(ws) == 0 {
		return nil, webhookNotFound(id)
	}
	return &ws[0], nil
}

// ListWebhooks implements tracking.WebhookStore.
func (s *Store) ListWebhooks(ctx context.Context, max int, pageToken string) ([]tracking.Webhook, string, error) {
	off, err := tracking.DecodePageToken(pageToken)
	if err != nil {
		return nil, "", err
	}
	ws, err := s.scanWebhooks(ctx, s.r, `SELECT `+webhookCols+` FROM webhooks WHERE deleted_ms = 0
		ORDER BY creation_ms DESC, webhook_id LIMIT ? OFFSET ?`, max+1, off)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(ws) > max {
		ws, next = ws[:max], tracking.EncodePageToken(off+max)
	}
	return ws, next, nil
}

func (s *Store) scanWebhooks(ctx context.Context, db queryer, query string, args ...any) ([]tracking.Webhook, error) {
	rows, err := db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: webhooks: %w", err)
	}
	defer rows.Close()
	var out []tracking.Webhook
	for rows.Next() {
		var w tracking.Webhook
		if err := rows.Scan(&w.WebhookID, &w.Name, &w.Description, &w.URL, &w.Secret, &w.Status, &w.CreationTimestamp, &w.LastUpdatedTimestamp); err != nil {
			return nil, fmt.Errorf("sqlstore: webhooks: %w", err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: webhooks: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	// The events of the page's webhooks, in one query.
	ids := make([]any, len(out))
	at := map[string]int{}
	for i, w := range out {
		ids[i], at[w.WebhookID] = w.WebhookID, i
	}
	erows, err := db.QueryContext(ctx, s.q(`SELECT webhook_id, entity, action FROM webhook_events WHERE webhook_id IN (`+placeholders(len(ids))+`)
		ORDER BY webhook_id, position`), ids...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: webhook events: %w", err)
	}
	defer erows.Close()
	for erows.Next() {
		var id string
		var e tracking.WebhookEvent
		if err := erows.Scan(&id, &e.Entity, &e.Action); err != nil {
			return nil, fmt.Errorf("sqlstore: webhook events: %w", err)
		}
		out[at[id]].Events = append(out[at[id]].Events, e)
	}
	if err := erows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: webhook events: %w", err)
	}
	return out, nil
}

// UpdateWebhook implements tracking.WebhookStore.
func (s *Store) UpdateWebhook(ctx context.Context, id string, u tracking.WebhookUpdate) (*tracking.Webhook, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		ws, err := s.scanWebhooks(ctx, tx, `SELECT `+webhookCols+` FROM webhooks WHERE webhook_id = ? AND deleted_ms = 0`, id)
		if err != nil {
			return err
		}
		if len(ws) == 0 {
			return webhookNotFound(id)
		}
		w := ws[0]
		for _, f := range []struct {
			v   *string
			dst *string
		}{{u.Name, &w.Name}, {u.Description, &w.Description}, {u.URL, &w.URL}, {u.Secret, &w.Secret}, {u.Status, &w.Status}} {
			if f.v != nil {
				*f.dst = *f.v
			}
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE webhooks SET name = ?, description = ?, url = ?, secret = ?, status = ?, updated_ms = ? WHERE webhook_id = ?`),
			w.Name, w.Description, w.URL, w.Secret, w.Status, nowMillis(), id); err != nil {
			return fmt.Errorf("sqlstore: update webhook %s: %w", id, err)
		}
		if u.Events != nil {
			return s.setWebhookEvents(ctx, tx, id, u.Events)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ws, err := s.scanWebhooks(ctx, s.w, `SELECT `+webhookCols+` FROM webhooks WHERE webhook_id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(ws) == 0 {
		return nil, webhookNotFound(id)
	}
	return &ws[0], nil
}

// DeleteWebhook implements tracking.WebhookStore.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	now := nowMillis()
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE webhooks SET deleted_ms = ?, updated_ms = ? WHERE webhook_id = ? AND deleted_ms = 0`), now, now, id)
	if err != nil {
		return fmt.Errorf("sqlstore: delete webhook %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return webhookNotFound(id)
	}
	return nil
}

// PendingWebhookMessages implements tracking.WebhookStore.
func (s *Store) PendingWebhookMessages(ctx context.Context, limit int) ([]tracking.MonitorNotification, error) {
	return s.outbox(ctx, tracking.WebhookOutbox, `AND closed_ms = 0`, max(limit, 1))
}

// RecordWebhookDelivery implements tracking.WebhookStore.
func (s *Store) RecordWebhookDelivery(ctx context.Context, a tracking.MonitorDelivery) error {
	return s.RecordMonitorDelivery(ctx, tracking.WebhookOutbox, a)
}

// WebhookDeliveries implements tracking.WebhookStore.
func (s *Store) WebhookDeliveries(ctx context.Context, webhookID string) ([]tracking.MonitorDelivery, error) {
	return s.deliveries(ctx, tracking.WebhookOutbox, `AND receiver = ?`, webhookID)
}

// queueEvent queues, inside the transaction of the change that fires ev,
// one message per active webhook subscribed to ev: the MLflow envelope
// around data, under a new delivery id.
func (s *Store) queueEvent(ctx context.Context, tx *sql.Tx, ev tracking.WebhookEvent, data any) error {
	rows, err := tx.QueryContext(ctx, s.q(`SELECT w.webhook_id FROM webhooks w JOIN webhook_events e ON e.webhook_id = w.webhook_id
		WHERE e.entity = ? AND e.action = ? AND w.status = ? AND w.deleted_ms = 0 ORDER BY w.creation_ms, w.webhook_id`), ev.Entity, ev.Action, tracking.WebhookActive)
	if err != nil {
		return fmt.Errorf("sqlstore: webhooks for %s: %w", ev, err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("sqlstore: webhooks for %s: %w", ev, err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlstore: webhooks for %s: %w", ev, err)
	}
	if len(ids) == 0 {
		return nil
	}
	now := time.Now()
	body, err := tracking.WebhookEnvelope(ev, now, data)
	if err != nil {
		return fmt.Errorf("sqlstore: webhook payload of %s: %w", ev, err)
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO monitor_outbox (monitor, id, receiver, payload, created_ms) VALUES (?, ?, ?, ?, ?)`),
			tracking.WebhookOutbox, tracking.NewDeliveryID(), id, string(body), now.UnixMilli()); err != nil {
			return fmt.Errorf("sqlstore: queue %s for webhook %s: %w", ev, id, err)
		}
	}
	return nil
}

// isPrompt is MLflow's _is_prompt(name): the model's PromptTagKey tag is
// "true" (any case), read inside the change's transaction.
func (s *Store) isPrompt(ctx context.Context, tx *sql.Tx, name string) (bool, error) {
	var v string
	err := tx.QueryRowContext(ctx, s.q(`SELECT value FROM registered_model_tags WHERE name = ? AND key = ?`), name, tracking.PromptTagKey).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlstore: registered model %q: prompt tag: %w", name, err)
	}
	return strings.EqualFold(v, "true"), nil
}

// queueTagEvent queues the event of a tag set (value non-nil) or deleted
// on model name (version "") or one of its versions.
func (s *Store) queueTagEvent(ctx context.Context, tx *sql.Tx, name, version, key string, value *string) error {
	prompt, err := s.isPrompt(ctx, tx, name)
	if err != nil {
		return err
	}
	ev, data, ok := tracking.TagEvent(prompt, name, version, key, value)
	if !ok {
		return nil
	}
	return s.queueEvent(ctx, tx, ev, data)
}

// queueAliasEvent queues the event of an alias set (version non-empty) or
// deleted.
func (s *Store) queueAliasEvent(ctx context.Context, tx *sql.Tx, name, alias, version string) error {
	prompt, err := s.isPrompt(ctx, tx, name)
	if err != nil {
		return err
	}
	ev, data := tracking.AliasEvent(prompt, name, alias, version)
	return s.queueEvent(ctx, tx, ev, data)
}
