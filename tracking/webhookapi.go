package tracking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/dawn-ml/dawn/webhook"
)

// The webhooks API (MLflow 3's WebhookService). Webhooks are not owned by
// an experiment or a model and each one reads every registry event, so
// under --auth only admins may create, read, change, test or delete them
// (AdminOnly); without auth anyone may, as in MLflow.

type (
	// webhookReq is a create or an update (MLflow's CreateWebhook and
	// UpdateWebhook carry the same fields).
	webhookReq struct {
		Name        string      `json:"name"`
		Description string      `json:"description"`
		URL         string      `json:"url"`
		Events      []wireEvent `json:"events"`
		Secret      string      `json:"secret"`
		Status      Enum        `json:"status"`
	}
	listWebhooksReq struct {
		MaxResults *Int64 `json:"max_results"`
		PageToken  string `json:"page_token"`
	}
	testWebhookReq struct {
		Event *wireEvent `json:"event"`
	}
	// webhookTestResult is MLflow's WebhookTestResult.
	webhookTestResult struct {
		Success        bool   `json:"success"`
		ResponseStatus int    `json:"response_status,omitempty"`
		ResponseBody   string `json:"response_body,omitempty"`
		ErrorMessage   string `json:"error_message,omitempty"`
	}
)

func (a *api) webhooks(add func(method, path string, rule Rule, h endpoint)) {
	add("POST", "webhooks", AdminOnly, handle(a, func(ctx context.Context, r *webhookReq) (any, error) {
		w, err := a.newWebhook(r)
		if err != nil {
			return nil, err
		}
		created, err := a.store.CreateWebhook(ctx, *w)
		if err != nil {
			return nil, err
		}
		return map[string]any{"webhook": created}, nil
	}))
	add("GET", "webhooks", AdminOnly, handle(a, func(ctx context.Context, r *listWebhooksReq) (any, error) {
		n, err := maxResults(r.MaxResults, DefaultWebhookResults, MaxWebhookResults, "webhooks")
		if err != nil {
			return nil, err
		}
		ws, next, err := a.store.ListWebhooks(ctx, n, r.PageToken)
		if err != nil {
			return nil, err
		}
		if ws == nil {
			ws = []Webhook{}
		}
		out := map[string]any{"webhooks": ws}
		if next != "" {
			out["next_page_token"] = next
		}
		return out, nil
	}))
	add("GET", "webhooks/{webhook_id}", AdminOnly, handleWebhook(a, func(ctx context.Context, id string, _ *struct{}) (any, error) {
		w, err := a.store.GetWebhook(ctx, id)
		if err != nil {
			return nil, err
		}
		return map[string]any{"webhook": w}, nil
	}))
	add("PATCH", "webhooks/{webhook_id}", AdminOnly, handleWebhook(a, func(ctx context.Context, id string, r *webhookReq) (any, error) {
		u, err := a.webhookUpdate(r)
		if err != nil {
			return nil, err
		}
		w, err := a.store.UpdateWebhook(ctx, id, *u)
		if err != nil {
			return nil, err
		}
		return map[string]any{"webhook": w}, nil
	}))
	add("DELETE", "webhooks/{webhook_id}", AdminOnly, handleWebhook(a, func(ctx context.Context, id string, _ *struct{}) (any, error) {
		if err := a.store.DeleteWebhook(ctx, id); err != nil {
			return nil, err
		}
		a.hooks.Notify() // its queued messages are given up
		return nil, nil
	}))
	add("POST", "webhooks/{webhook_id}/test", AdminOnly, handleWebhook(a, func(ctx context.Context, id string, r *testWebhookReq) (any, error) {
		w, err := a.store.GetWebhook(ctx, id)
		if err != nil {
			return nil, err
		}
		ev := w.Events[0]
		if r.Event != nil {
			evs, err := parseEvents([]wireEvent{*r.Event})
			if err != nil {
				return nil, err
			}
			ev = evs[0]
		}
		return map[string]any{"result": a.hooks.Test(ctx, w, ev)}, nil
	}))
}

// handleWebhook adapts an endpoint of webhooks/{webhook_id}: decode the
// body once, apply the route's rule (one not on a resource), call f.
func handleWebhook[Req any](a *api, f func(ctx context.Context, id string, req *Req) (any, error)) endpoint {
	return func(rule Rule) http.HandlerFunc {
		if rule.onResource() {
			panic(fmt.Sprintf("tracking: webhook routes name no resource; rule %s needs one", rule))
		}
		return func(w http.ResponseWriter, r *http.Request) {
			var req Req
			if err := DecodeRequest(w, r, &req); err != nil {
				a.fail(w, r, err)
				return
			}
			if err := a.authorize(r.Context(), rule, nil); err != nil {
				a.fail(w, r, err)
				return
			}
			id := r.PathValue("webhook_id")
			serve(a, w, r, func(ctx context.Context, req *Req) (any, error) { return f(ctx, id, req) }, &req)
		}
	}
}

// newWebhook validates a create request as MLflow's handler and store do.
func (a *api) newWebhook(r *webhookReq) (*Webhook, error) {
	if err := required("name", r.Name); err != nil {
		return nil, err
	}
	if err := required("url", r.URL); err != nil {
		return nil, err
	}
	if r.Events == nil {
		return nil, InvalidParameterf("Missing value for required parameter 'events'.")
	}
	w := &Webhook{Name: r.Name, Description: r.Description, URL: r.URL, Secret: r.Secret, Status: WebhookActive}
	if err := a.checkWebhookFields(&r.Name, &r.Description, &r.URL, &r.Secret); err != nil {
		return nil, err
	}
	evs, err := parseEvents(r.Events)
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 {
		return nil, InvalidParameterf("Webhook events must be a non-empty list of WebhookEvent objects: [].")
	}
	w.Events = evs
	if r.Status != "" {
		if w.Status, err = parseWebhookStatus(r.Status); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// webhookUpdate reads an update as MLflow does: an empty string or list
// leaves its field alone.
func (a *api) webhookUpdate(r *webhookReq) (*WebhookUpdate, error) {
	u := &WebhookUpdate{}
	for _, f := range []struct {
		v   string
		dst **string
	}{{r.Name, &u.Name}, {r.Description, &u.Description}, {r.URL, &u.URL}, {r.Secret, &u.Secret}} {
		if f.v != "" {
			*f.dst = &f.v
		}
	}
	if err := a.checkWebhookFields(u.Name, u.Description, u.URL, u.Secret); err != nil {
		return nil, err
	}
	if len(r.Events) > 0 {
		evs, err := parseEvents(r.Events)
		if err != nil {
			return nil, err
		}
		u.Events = evs
	}
	if r.Status != "" {
		st, err := parseWebhookStatus(r.Status)
		if err != nil {
			return nil, err
		}
		u.Status = &st
	}
	return u, nil
}

// checkWebhookFields validates the fields that are set (non-nil).
func (a *api) checkWebhookFields(name, description, u, secret *string) error {
	if name != nil {
		if err := ValidateWebhookName(*name); err != nil {
			return err
		}
	}
	if u != nil {
		if err := ValidateWebhookURL(*u, a.webhookSchemes); err != nil {
			return err
		}
	}
	if description != nil && len(*description) > MaxWebhookDescription {
		return InvalidParameterf("Webhook description is %d characters long, more than the limit of %d.", len(*description), MaxWebhookDescription)
	}
	if secret != nil && len(*secret) > MaxWebhookSecret {
		return InvalidParameterf("Webhook secret is %d characters long, more than the limit of %d.", len(*secret), MaxWebhookSecret)
	}
	return nil
}

// WebhookDispatcher delivers the webhook outbox: each queued message is
// posted, signed as MLflow signs, with MLflow's retries, by one of Workers
// goroutines; every attempt is recorded in the store, and a message is
// closed when delivered, refused, out of attempts, or its webhook deleted
// or disabled. A message queued before a restart is delivered after it
// with the attempts it has left (the same delivery id).
//
// Several servers sharing one PostgreSQL store each deliver the outbox:
// a message may then reach its receiver more than once, always under the
// same X-MLflow-Delivery-Id.
type WebhookDispatcher struct {
	Store WebhookStore
	Log   *slog.Logger
	// Client posts the messages (default: one with Timeout).
	Client *http.Client
	// Timeout bounds one attempt (MLflow's MLFLOW_WEBHOOK_REQUEST_TIMEOUT,
	// default 30 s).
	Timeout time.Duration
	// MaxAttempts bounds a message's attempts over restarts (default 4:
	// MLflow's 3 retries).
	MaxAttempts uint
	// InitialInterval and MaxInterval shape the waits (webhook.MLflow's
	// 1 s and 60 s).
	InitialInterval, MaxInterval time.Duration
	// Workers bounds concurrent deliveries (MLflow's
	// MLFLOW_WEBHOOK_DELIVERY_MAX_WORKERS, default 10).
	Workers int
	// Poll is how often the outbox is read when nothing wakes the
	// dispatcher (default 5 s).
	Poll time.Duration

	once sync.Once
	wake chan struct{}
	mu   sync.Mutex
	// flying holds the messages being delivered; done, those finished
	// since the outbox read of epoch done[id] began, which that read may
	// still list as pending.
	flying map[string]bool
	done   map[string]int64
	epoch  int64
}

// maxPending bounds the messages read from the outbox at a time.
const maxPending = 1000

func (d *WebhookDispatcher) init() {
	d.once.Do(func() {
		d.wake = make(chan struct{}, 1)
		d.flying, d.done = map[string]bool{}, map[string]int64{}
		if d.Log == nil {
			d.Log = slog.New(slog.DiscardHandler)
		}
	})
}

// Notify wakes the dispatcher (after a registry change); it never blocks.
// A nil dispatcher ignores it.
func (d *WebhookDispatcher) Notify() {
	if d == nil {
		return
	}
	d.init()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx is done; messages in flight then stay queued.
func (d *WebhookDispatcher) Run(ctx context.Context) error {
	d.init()
	workers := d.Workers
	if workers <= 0 {
		workers = 10
	}
	poll := d.Poll
	if poll <= 0 {
		poll = 5 * time.Second
	}
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		d.mu.Lock()
		d.epoch++
		epoch := d.epoch
		d.mu.Unlock()
		pend, err := d.Store.PendingWebhookMessages(ctx, maxPending)
		if err != nil && ctx.Err() == nil {
			d.Log.Error("webhooks: read the outbox", "err", err)
		}
		d.mu.Lock()
		for id, e := range d.done {
			if e < epoch { // finished before this read began: the read saw it closed
				delete(d.done, id)
			}
		}
		d.mu.Unlock()
	queue:
		for _, m := range pend {
			d.mu.Lock()
			_, stale := d.done[m.ID]
			busy := d.flying[m.ID] || stale
			d.mu.Unlock()
			if busy {
				continue
			}
			select {
			case sem <- struct{}{}:
			default:
				break queue // a finishing worker wakes the loop
			}
			d.mu.Lock()
			d.flying[m.ID] = true
			d.mu.Unlock()
			wg.Add(1)
			go func(m MonitorNotification) {
				defer wg.Done()
				d.deliver(ctx, m)
				d.mu.Lock()
				delete(d.flying, m.ID)
				d.done[m.ID] = d.epoch
				d.mu.Unlock()
				<-sem
				d.Notify()
			}(m)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
		case <-t.C:
		}
	}
}

func (d *WebhookDispatcher) maxAttempts() uint {
	if d.MaxAttempts > 0 {
		return d.MaxAttempts
	}
	return 4
}

// sender is the MLflow-scheme sender for w's messages; a nil dispatcher
// gives MLflow's defaults.
func (d *WebhookDispatcher) sender(w *Webhook, attempts uint, rec webhook.Recorder) *webhook.Sender {
	s := &webhook.Sender{Scheme: webhook.MLflow, Key: []byte(w.Secret), MaxAttempts: attempts, Log: rec}
	if d != nil {
		s.Client, s.Timeout, s.InitialInterval, s.MaxInterval = d.Client, d.Timeout, d.InitialInterval, d.MaxInterval
	}
	return s
}

// giveUp closes a message without delivering it.
func (d *WebhookDispatcher) giveUp(ctx context.Context, m MonitorNotification, why string) {
	if err := d.Store.RecordWebhookDelivery(ctx, MonitorDelivery{ID: m.ID, Receiver: m.Receiver, Time: time.Now().UnixMilli(), Error: "given up: " + why, Final: true}); err != nil && ctx.Err() == nil {
		d.Log.Error("webhooks: close a message", "id", m.ID, "webhook", m.Receiver, "err", err)
	}
}

func (d *WebhookDispatcher) deliver(ctx context.Context, m MonitorNotification) {
	w, err := d.Store.GetWebhook(ctx, m.Receiver)
	switch {
	case errors.Is(err, ErrNotFound):
		d.giveUp(ctx, m, "the webhook was deleted")
		return
	case err != nil:
		if ctx.Err() == nil {
			d.Log.Error("webhooks: read a webhook", "webhook", m.Receiver, "err", err)
		}
		return
	case w.Status != WebhookActive:
		d.giveUp(ctx, m, "the webhook is "+w.Status)
		return
	}
	left := int(d.maxAttempts()) - m.Attempts
	if left <= 0 {
		d.giveUp(ctx, m, m.LastError)
		return
	}
	rec := &DeliveryRecorder{Receiver: m.Receiver, Base: m.Attempts, Record: func(a MonitorDelivery) error { return d.Store.RecordWebhookDelivery(ctx, a) }}
	err = d.sender(w, uint(left), rec).Send(ctx, w.URL, m.ID, m.Payload)
	if err == nil || ctx.Err() != nil {
		return // delivered (the recorder closed it), or stopping: it stays queued
	}
	d.Log.Warn("webhooks: delivery given up", "id", m.ID, "webhook", w.WebhookID, "url", w.URL, "err", err)
	d.giveUp(ctx, m, err.Error())
}

// Test sends MLflow's example payload of ev to w once (with the retries of
// a delivery) and reports the receiver's answer, as MLflow's
// webhooks/{id}/test does; nothing is queued or recorded.
func (d *WebhookDispatcher) Test(ctx context.Context, w *Webhook, ev WebhookEvent) webhookTestResult {
	body, err := WebhookEnvelope(ev, time.Now(), examplePayload(ev))
	if err != nil {
		return webhookTestResult{ErrorMessage: "Failed to test webhook: " + err.Error()}
	}
	res, err := d.sender(w, 0, nil).Deliver(ctx, w.URL, NewDeliveryID(), body)
	var se *webhook.StatusError
	switch {
	case err == nil, errors.As(err, &se):
		// MLflow counts any answer below 400 as a success.
		return webhookTestResult{Success: res.Status < 400, ResponseStatus: res.Status, ResponseBody: res.Body}
	}
	return webhookTestResult{ErrorMessage: "Failed to test webhook: " + err.Error()}
}

// DeliveryRecorder is a webhook.Recorder that keeps a sender's attempts
// in an outbox of the store (Record: RecordMonitorDelivery or
// RecordWebhookDelivery), numbering them after the Base attempts of
// earlier passes. N counts the attempts it recorded.
type DeliveryRecorder struct {
	Receiver string
	Base, N  int
	Record   func(MonitorDelivery) error
}

// Append implements webhook.Recorder.
func (x *DeliveryRecorder) Append(a webhook.Attempt) error {
	x.N++
	return x.Record(MonitorDelivery{ID: a.ID, Receiver: x.Receiver, Attempt: x.Base + a.Attempt, Time: a.Time.UnixMilli(),
		Status: a.Status, Error: a.Error, Delivered: a.Delivered})
}

// Delivered is false: only pending (undelivered) messages are sent.
func (*DeliveryRecorder) Delivered(string) bool { return false }
