package storetest

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/dawn-ml/dawn/tracking"
)

// RunWebhookStore checks a store's tracking.WebhookStore: webhooks are
// stored with their events in order and their secret, listed newest first
// in pages, updated field by field and deleted softly; and each registry
// write queues, in its own transaction, one message per active webhook
// subscribed to its event (a failed write queues none), in MLflow's
// envelope, pending until a delivered or final attempt closes it.
func RunWebhookStore(t *testing.T, s tracking.Store) {
	t.Helper()
	ctx := t.Context()
	mk := func(name string, status string, evs ...tracking.WebhookEvent) *tracking.Webhook {
		t.Helper()
		w, err := s.CreateWebhook(ctx, tracking.Webhook{Name: name, URL: "https://example.com/" + name, Events: evs, Secret: "s-" + name, Status: status})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // distinct creation times: the list order is by them
		return w
	}
	mvCreated := tracking.WebhookEvent{Entity: "model_version", Action: "created"}
	tagSet := tracking.WebhookEvent{Entity: "model_version_tag", Action: "set"}
	rmCreated := tracking.WebhookEvent{Entity: "registered_model", Action: "created"}
	promptCreated := tracking.WebhookEvent{Entity: "prompt", Action: "created"}
	aliasDeleted := tracking.WebhookEvent{Entity: "model_version_alias", Action: "deleted"}
	a := mk("a", "", tagSet, mvCreated)
	b := mk("b", tracking.WebhookDisabled, rmCreated)
	c := mk("c", tracking.WebhookActive, promptCreated, rmCreated, aliasDeleted)
	d := mk("d", "", rmCreated)

	got, err := s.GetWebhook(ctx, a.WebhookID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "a" || got.URL != "https://example.com/a" || got.Secret != "s-a" || got.Status != tracking.WebhookActive ||
		!reflect.DeepEqual(got.Events, []tracking.WebhookEvent{tagSet, mvCreated}) || got.CreationTimestamp == 0 {
		t.Errorf("get: %+v", got)
	}
	if _, err := s.GetWebhook(ctx, "no-such-webhook"); !errors.Is(err, tracking.ErrNotFound) {
		t.Errorf("get unknown: %v", err)
	}
	// Newest first, two a page.
	var names []string
	tok := ""
	for range 3 {
		ws, next, err := s.ListWebhooks(ctx, 2, tok)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range ws {
			names = append(names, w.Name)
		}
		if tok = next; tok == "" {
			break
		}
	}
	if !reflect.DeepEqual(names, []string{"d", "c", "b", "a"}) || tok != "" {
		t.Errorf("list: %v (token %q), want d c b a", names, tok)
	}
	// Update: what is set changes, the rest stays.
	desc := "the d hook"
	u, err := s.UpdateWebhook(ctx, d.WebhookID, tracking.WebhookUpdate{Description: &desc, Events: []tracking.WebhookEvent{promptCreated}})
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "d" || u.Description != desc || u.Secret != "s-d" || !reflect.DeepEqual(u.Events, []tracking.WebhookEvent{promptCreated}) ||
		u.LastUpdatedTimestamp < u.CreationTimestamp {
		t.Errorf("update: %+v", u)
	}
	if _, err := s.UpdateWebhook(ctx, "no-such-webhook", tracking.WebhookUpdate{Description: &desc}); !errors.Is(err, tracking.ErrNotFound) {
		t.Errorf("update unknown: %v", err)
	}
	if err := s.DeleteWebhook(ctx, d.WebhookID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetWebhook(ctx, d.WebhookID); !errors.Is(err, tracking.ErrNotFound) {
		t.Errorf("get deleted: %v", err)
	}
	if err := s.DeleteWebhook(ctx, d.WebhookID); !errors.Is(err, tracking.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	if ws, _, _ := s.ListWebhooks(ctx, 10, ""); len(ws) != 3 {
		t.Errorf("list after delete: %d webhooks, want 3", len(ws))
	}

	// Registry writes queue their events. The outbox is oldest first, to
	// the millisecond: the writes are a few apart.
	tick := func() { time.Sleep(2 * time.Millisecond) }
	model := unique("hooked")
	if _, err := s.CreateRegisteredModel(ctx, tracking.RegisteredModel{Name: model, Tags: []tracking.Tag{{Key: "k", Value: "v"}}}); err != nil {
		t.Fatal(err)
	}
	tick()
	if _, err := s.CreateRegisteredModel(ctx, tracking.RegisteredModel{Name: model}); !errors.Is(err, tracking.ErrAlreadyExists) {
		t.Fatalf("duplicate model: %v", err)
	}
	if _, err := s.CreateModelVersion(ctx, tracking.ModelVersion{Name: model, Source: "models:/m-1"}); err != nil {
		t.Fatal(err)
	}
	tick()
	if err := s.SetModelVersionTag(ctx, model, "1", tracking.Tag{Key: "stage", Value: "prod"}); err != nil {
		t.Fatal(err)
	}
	tick()
	if err := s.SetModelVersionTag(ctx, model, "9", tracking.Tag{Key: "stage", Value: "prod"}); !errors.Is(err, tracking.ErrNotFound) {
		t.Fatalf("tag on a missing version: %v", err)
	}
	if err := s.DeleteModelVersionTag(ctx, model, "1", "stage"); err != nil { // nobody subscribes
		t.Fatal(err)
	}
	if err := s.DeleteRegisteredModelAlias(ctx, model, "champion"); err != nil {
		t.Fatal(err)
	}
	tick()
	prompt := unique("prompt")
	if _, err := s.CreateRegisteredModel(ctx, tracking.RegisteredModel{Name: prompt, Description: "greets",
		Tags: []tracking.Tag{{Key: tracking.PromptTagKey, Value: "true"}, {Key: "_mlflow_prompt_type", Value: "text"}, {Key: "team", Value: "x"}}}); err != nil {
		t.Fatal(err)
	}
	pend, err := s.PendingWebhookMessages(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		webhook, entity, action, data string
	}
	wants := []want{
		{c.WebhookID, "registered_model", "created", `{"name":"` + model + `","tags":{"k":"v"},"description":""}`},
		{a.WebhookID, "model_version", "created", `{"name":"` + model + `","version":"1","source":"models:/m-1","run_id":null,"tags":{},"description":null}`},
		{a.WebhookID, "model_version_tag", "set", `{"name":"` + model + `","version":"1","key":"stage","value":"prod"}`},
		{c.WebhookID, "model_version_alias", "deleted", `{"name":"` + model + `","alias":"champion"}`},
		{c.WebhookID, "prompt", "created", `{"name":"` + prompt + `","tags":{"team":"x"},"description":"greets"}`},
	}
	if len(pend) != len(wants) {
		t.Fatalf("%d messages queued, want %d: %+v", len(pend), len(wants), pend)
	}
	seen := map[string]bool{}
	for i, w := range wants {
		m := pend[i]
		var env struct {
			Entity, Action, Timestamp string
			Data                      json.RawMessage
		}
		if err := json.Unmarshal(m.Payload, &env); err != nil {
			t.Fatalf("message %d: %v: %s", i, err, m.Payload)
		}
		if m.Receiver != w.webhook || env.Entity != w.entity || env.Action != w.action || !sameJSON(env.Data, w.data) {
			t.Errorf("message %d: to %s %s.%s %s, want to %s %s.%s %s", i, m.Receiver, env.Entity, env.Action, env.Data, w.webhook, w.entity, w.action, w.data)
		}
		if _, err := time.Parse("2006-01-02T15:04:05.999999-07:00", env.Timestamp); err != nil {
			t.Errorf("message %d: timestamp %q: %v", i, env.Timestamp, err)
		}
		if len(m.ID) != 36 || seen[m.ID] {
			t.Errorf("message %d: delivery id %q not a new UUID", i, m.ID)
		}
		seen[m.ID] = true
	}
	if p, _ := s.PendingWebhookMessages(ctx, 2); len(p) != 2 || p[0].ID != pend[0].ID {
		t.Errorf("limit 2: %d messages", len(p))
	}
	// A failed attempt keeps a message pending; a delivered one or a final
	// record closes it; attempts are listed per webhook.
	first := pend[1]
	s.RecordWebhookDelivery(ctx, tracking.MonitorDelivery{ID: first.ID, Receiver: first.Receiver, Attempt: 1, Time: 10, Status: 503, Error: "busy"})
	if p, _ := s.PendingWebhookMessages(ctx, 100); len(p) != len(wants) || p[1].Attempts != 1 || p[1].LastError != "busy" {
		t.Errorf("after a failed attempt: %+v", p)
	}
	s.RecordWebhookDelivery(ctx, tracking.MonitorDelivery{ID: first.ID, Receiver: first.Receiver, Attempt: 2, Time: 11, Status: 200, Delivered: true})
	s.RecordWebhookDelivery(ctx, tracking.MonitorDelivery{ID: pend[0].ID, Receiver: pend[0].Receiver, Time: 12, Error: "given up: gone", Final: true})
	if p, _ := s.PendingWebhookMessages(ctx, 100); len(p) != len(wants)-2 || p[0].ID != pend[2].ID {
		t.Errorf("after closing two: %+v", p)
	}
	ds, err := s.WebhookDeliveries(ctx, a.WebhookID)
	if err != nil || len(ds) != 2 || ds[0].Status != 503 || !ds[1].Delivered || ds[1].Attempt != 2 {
		t.Errorf("deliveries of a: %+v %v", ds, err)
	}
	if ds, _ := s.WebhookDeliveries(ctx, b.WebhookID); len(ds) != 0 {
		t.Errorf("deliveries of b: %+v", ds)
	}
	// The outbox name is no monitor's.
	if ms, ok := s.(tracking.MonitorStore); ok {
		if err := ms.CommitMonitor(ctx, tracking.WebhookOutbox, tracking.MonitorState{}, nil, nil); !errors.Is(err, tracking.ErrInvalid) {
			t.Errorf("a monitor named %q: %v", tracking.WebhookOutbox, err)
		}
	}
}

func sameJSON(a json.RawMessage, b string) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}
