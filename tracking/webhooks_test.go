package tracking_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/sqlite"
	"github.com/dawn-ml/dawn/tracking/sqlstore"
	"github.com/dawn-ml/dawn/tracking/storetest"
	"github.com/dawn-ml/dawn/webhook"
	"github.com/dawn-ml/dawn/webhook/webhooktest"
)

const hooks = "/api/2.0/mlflow/webhooks"

// hookEnv is a server on a SQLite file with a dispatcher (started by
// start) and a receiver that answers with statuses in turn.
type hookEnv struct {
	t     *testing.T
	base  string
	path  string
	store tracking.Store
	c     *storetest.Client
	disp  *tracking.WebhookDispatcher
	stop  func()
	recv  *receiver
}

type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	got      []webhooktest.Message
	statuses []int
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	r := &receiver{statuses: statuses}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, webhooktest.Message{Header: req.Header.Clone(), Body: b})
		st := 200
		if len(r.statuses) > 0 {
			st = r.statuses[min(len(r.got), len(r.statuses))-1]
		}
		r.mu.Unlock()
		w.WriteHeader(st)
		io.WriteString(w, "answer "+http.StatusText(st))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) messages() []webhooktest.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]webhooktest.Message(nil), r.got...)
}

// wait returns the messages once there are n (failing after 10 s).
func (r *receiver) wait(t *testing.T, n int) []webhooktest.Message {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if m := r.messages(); len(m) >= n {
			return m
		}
	}
	t.Fatalf("receiver got %d messages, want %d", len(r.messages()), n)
	return nil
}

func newHookEnv(t *testing.T, path string, statuses ...int) *hookEnv {
	if path == "" {
		path = filepath.Join(t.TempDir(), "t.db")
	}
	store, err := sqlite.Open(t.Context(), path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &hookEnv{t: t, path: path, store: store, recv: newReceiver(t, statuses...)}
	e.disp = &tracking.WebhookDispatcher{Store: store, InitialInterval: 5 * time.Millisecond, MaxInterval: 20 * time.Millisecond,
		Timeout: 2 * time.Second, Poll: 20 * time.Millisecond}
	srv := httptest.NewServer(tracking.NewHandler(tracking.Options{Store: store, Webhooks: e.disp, WebhookSchemes: []string{"http", "https"}}))
	e.c, e.base = storetest.NewClient(t, srv.URL), srv.URL
	t.Cleanup(func() {
		srv.Close()
		if e.stop != nil {
			e.stop()
		}
		store.Close()
	})
	return e
}

func (e *hookEnv) start() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.disp.Run(ctx); close(done) }()
	e.stop = func() { cancel(); <-done; e.stop = nil }
}

func (e *hookEnv) create(body map[string]any) map[string]any {
	e.t.Helper()
	return e.c.OK("POST", hooks, body)["webhook"].(map[string]any)
}

func ev(entity, action string) map[string]any {
	return map[string]any{"entity": entity, "action": action}
}

func TestWebhookValidation(t *testing.T) {
	e := newHookEnv(t, "")
	good := func() map[string]any {
		return map[string]any{"name": "ok", "url": "https://example.com/h", "events": []any{ev("MODEL_VERSION", "CREATED")}}
	}
	for _, tc := range []struct {
		name   string
		edit   func(map[string]any)
		errMsg string
	}{
		{"no name", func(b map[string]any) { delete(b, "name") }, "Missing value for required parameter 'name'."},
		{"bad name", func(b map[string]any) { b["name"] = "-x" }, "Webhook name '-x' is invalid."},
		{"name of 64", func(b map[string]any) { b["name"] = strings.Repeat("a", 64) }, "is invalid"},
		{"name with space", func(b map[string]any) { b["name"] = "a b" }, "is invalid"},
		{"no url", func(b map[string]any) { delete(b, "url") }, "Missing value for required parameter 'url'."},
		{"blank url", func(b map[string]any) { b["url"] = "  " }, "Webhook URL cannot be empty or just whitespace: '  '"},
		{"ftp url", func(b map[string]any) { b["url"] = "ftp://example.com/x" }, "Invalid webhook URL scheme: 'ftp'. Allowed schemes are: http, https."},
		{"url without host", func(b map[string]any) { b["url"] = "https:///x" }, "names no host"},
		{"long url", func(b map[string]any) { b["url"] = "https://example.com/" + strings.Repeat("a", 500) }, "more than the limit of 500"},
		{"no events", func(b map[string]any) { delete(b, "events") }, "Missing value for required parameter 'events'."},
		{"empty events", func(b map[string]any) { b["events"] = []any{} }, "Webhook events must be a non-empty list"},
		{"events not a list", func(b map[string]any) { b["events"] = "x" }, "events"},
		{"invalid pair", func(b map[string]any) { b["events"] = []any{ev("MODEL_VERSION", "DELETED")} },
			"Invalid action 'deleted' for entity 'model_version'. Valid actions are: ['created']"},
		{"tag pair", func(b map[string]any) { b["events"] = []any{ev("MODEL_VERSION_TAG", "CREATED")} },
			"Valid actions are: ['deleted', 'set']"},
		{"unknown entity", func(b map[string]any) { b["events"] = []any{ev("RUN", "CREATED")} }, "Invalid value 'RUN' for parameter 'events[0].entity'"},
		{"lower-case entity", func(b map[string]any) { b["events"] = []any{ev("model_version", "CREATED")} }, "events[0].entity"},
		{"unspecified", func(b map[string]any) { b["events"] = []any{ev("ENTITY_UNSPECIFIED", "CREATED")} }, "events[0].entity"},
		{"no action", func(b map[string]any) { b["events"] = []any{map[string]any{"entity": "MODEL_VERSION"}} }, "must have both"},
		{"bad status", func(b map[string]any) { b["status"] = "PAUSED" }, "Invalid value 'PAUSED' for parameter 'status'"},
		{"long description", func(b map[string]any) { b["description"] = strings.Repeat("d", 1001) }, "more than the limit of 1000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := good()
			tc.edit(b)
			r := storetest.NewClient(t, e.base).Fail(400, tracking.CodeInvalidParameterValue, "POST", hooks, b)
			if msg, _ := r.Body["message"].(string); !strings.Contains(msg, tc.errMsg) {
				t.Errorf("message %q, want it to contain %q", msg, tc.errMsg)
			}
		})
	}
	// Enum numbers are accepted as the proto's JSON reading does; a pair
	// given twice is kept once.
	b := good()
	b["events"] = []any{map[string]any{"entity": 2, "action": 1}, ev("MODEL_VERSION", "CREATED"), ev("PROMPT_ALIAS", "DELETED")}
	b["status"] = 2
	w := e.create(b)
	if got, _ := json.Marshal(w["events"]); string(got) != mustCompact(t, `[{"entity":"MODEL_VERSION","action":"CREATED"},{"entity":"PROMPT_ALIAS","action":"DELETED"}]`) {
		t.Errorf("events %s", got)
	}
	if w["status"] != "DISABLED" {
		t.Errorf("status %v", w["status"])
	}
	if ws := e.c.OK("GET", hooks, nil)["webhooks"].([]any); len(ws) != 1 {
		t.Errorf("%d webhooks stored, want only the valid one", len(ws))
	}
}

// TestWebhookCRUD: create, get, list in pages, update field by field,
// delete; the secret is stored but never answered.
func TestWebhookCRUD(t *testing.T) {
	e := newHookEnv(t, "")
	const secret = "very-secret-value"
	w := e.create(map[string]any{"name": "first", "url": "https://example.com/a", "description": "one", "secret": secret,
		"events": []any{ev("REGISTERED_MODEL", "CREATED"), ev("MODEL_VERSION_TAG", "SET")}})
	id, _ := w["webhook_id"].(string)
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) {
		t.Errorf("webhook_id %q is not a UUID", id)
	}
	if w["name"] != "first" || w["url"] != "https://example.com/a" || w["description"] != "one" || w["status"] != "ACTIVE" ||
		w["creation_timestamp"] == nil || w["creation_timestamp"] != w["last_updated_timestamp"] {
		t.Errorf("created %v", w)
	}
	time.Sleep(2 * time.Millisecond)
	e.create(map[string]any{"name": "second", "url": "https://example.com/b", "events": []any{ev("PROMPT", "CREATED")}})
	time.Sleep(2 * time.Millisecond)
	e.create(map[string]any{"name": "third", "url": "https://example.com/c", "events": []any{ev("PROMPT", "CREATED")}})
	for _, path := range []string{hooks, hooks + "/" + id} {
		r := e.c.Do("GET", path, nil)
		if r.Status != 200 || strings.Contains(string(r.Raw), secret) || strings.Contains(string(r.Raw), `"secret"`) {
			t.Errorf("GET %s answers the secret: %s", path, r.Raw)
		}
	}
	got := e.c.OK("GET", hooks+"/"+id, nil)["webhook"].(map[string]any)
	if got["name"] != "first" || len(got["events"].([]any)) != 2 {
		t.Errorf("get %v", got)
	}
	e.c.Fail(404, tracking.CodeResourceDoesNotExist, "GET", hooks+"/no-such-id", nil)
	// Pages of two, newest first.
	p1 := e.c.OK("GET", hooks, url.Values{"max_results": {"2"}})
	names := func(b map[string]any) (out []string) {
		for _, w := range b["webhooks"].([]any) {
			out = append(out, w.(map[string]any)["name"].(string))
		}
		return out
	}
	tok, _ := p1["next_page_token"].(string)
	p2 := e.c.OK("GET", hooks, url.Values{"max_results": {"2"}, "page_token": {tok}})
	if n1, n2 := names(p1), names(p2); strings.Join(n1, ",") != "third,second" || strings.Join(n2, ",") != "first" || tok == "" || p2["next_page_token"] != nil {
		t.Errorf("pages %v %v (token %q)", n1, n2, tok)
	}
	for _, m := range []string{"0", "1001", "x"} {
		e.c.Fail(400, tracking.CodeInvalidParameterValue, "GET", hooks, url.Values{"max_results": {m}})
	}
	// Update: only what is given (non-empty) changes; secrets stay hidden.
	r := e.c.Do("PATCH", hooks+"/"+id, map[string]any{"name": "", "url": "https://example.com/new", "secret": "another-secret",
		"status": "DISABLED", "events": []any{}})
	up := r.Body["webhook"].(map[string]any)
	if r.Status != 200 || up["name"] != "first" || up["url"] != "https://example.com/new" || up["status"] != "DISABLED" ||
		len(up["events"].([]any)) != 2 || up["description"] != "one" || strings.Contains(string(r.Raw), "another-secret") {
		t.Errorf("update: %d %s", r.Status, r.Raw)
	}
	if sw, _ := e.store.GetWebhook(t.Context(), id); sw == nil || sw.Secret != "another-secret" {
		t.Errorf("stored secret %+v", sw)
	}
	up = e.c.OK("PATCH", hooks+"/"+id, map[string]any{"events": []any{ev("PROMPT_TAG", "DELETED")}})["webhook"].(map[string]any)
	if got, _ := json.Marshal(up["events"]); string(got) != mustCompact(t, `[{"entity":"PROMPT_TAG","action":"DELETED"}]`) {
		t.Errorf("events after update %s", got)
	}
	e.c.Fail(400, tracking.CodeInvalidParameterValue, "PATCH", hooks+"/"+id, map[string]any{"url": "ftp://x/y"})
	e.c.Fail(400, tracking.CodeInvalidParameterValue, "PATCH", hooks+"/"+id, map[string]any{"name": "bad name"})
	e.c.Fail(404, tracking.CodeResourceDoesNotExist, "PATCH", hooks+"/no-such-id", map[string]any{"name": "x"})
	e.c.OK("DELETE", hooks+"/"+id, nil)
	e.c.Fail(404, tracking.CodeResourceDoesNotExist, "GET", hooks+"/"+id, nil)
	e.c.Fail(404, tracking.CodeResourceDoesNotExist, "DELETE", hooks+"/"+id, nil)
	e.c.Fail(404, tracking.CodeResourceDoesNotExist, "POST", hooks+"/"+id+"/test", map[string]any{})
	if n := len(e.c.OK("GET", hooks, nil)["webhooks"].([]any)); n != 2 {
		t.Errorf("%d webhooks after delete, want 2", n)
	}
}

// TestWebhookDelivery: registry changes made through the API reach the
// receiver, signed as MLflow signs (checked in Go and in Python's hmac),
// in MLflow's envelope; each attempt is recorded.
func TestWebhookDelivery(t *testing.T) {
	e := newHookEnv(t, "")
	e.start()
	const secret = "test-secret-key"
	w := e.create(map[string]any{"name": "hook", "url": e.recv.URL + "/in", "secret": secret, "events": []any{
		ev("REGISTERED_MODEL", "CREATED"), ev("MODEL_VERSION", "CREATED"), ev("MODEL_VERSION_ALIAS", "CREATED"),
		ev("MODEL_VERSION_TAG", "DELETED"), ev("PROMPT_VERSION", "CREATED"), ev("PROMPT_TAG", "SET")}})
	api := "/api/2.0/mlflow/"
	e.c.OK("POST", api+"registered-models/create", map[string]any{"name": "fraud", "tags": []any{map[string]any{"key": "team", "value": "risk"}}})
	e.c.OK("POST", api+"model-versions/create", map[string]any{"name": "fraud", "source": "s3://bucket/fraud/1", "run_id": "", "description": "first"})
	e.c.OK("POST", api+"registered-models/alias", map[string]any{"name": "fraud", "alias": "champion", "version": "1"})
	e.c.OK("POST", api+"model-versions/set-tag", map[string]any{"name": "fraud", "version": "1", "key": "k", "value": "v"}) // not subscribed
	e.c.OK("DELETE", api+"model-versions/delete-tag", map[string]any{"name": "fraud", "version": "1", "key": "k"})
	e.c.Fail(404, tracking.CodeResourceDoesNotExist, "POST", api+"registered-models/alias", map[string]any{"name": "nope", "alias": "a", "version": "1"})
	// A prompt: its model and version events are prompt events.
	e.c.OK("POST", api+"registered-models/create", map[string]any{"name": "greet", "tags": []any{map[string]any{"key": "mlflow.prompt.is_prompt", "value": "true"}}})
	e.c.OK("POST", api+"model-versions/create", map[string]any{"name": "greet", "source": "s3://bucket/greet/1", "tags": []any{
		map[string]any{"key": "mlflow.prompt.is_prompt", "value": "true"}, map[string]any{"key": "mlflow.prompt.text", "value": "Hi {{name}}"}}})
	e.c.OK("POST", api+"registered-models/set-tag", map[string]any{"name": "greet", "key": "lang", "value": "en"})
	e.c.OK("POST", api+"registered-models/set-tag", map[string]any{"name": "fraud", "key": "lang", "value": "en"}) // no event: not a prompt
	want := []struct{ event, data string }{
		{"registered_model.created", `{"name":"fraud","tags":{"team":"risk"},"description":""}`},
		{"model_version.created", `{"name":"fraud","version":"1","source":"s3://bucket/fraud/1","run_id":null,"tags":{},"description":"first"}`},
		{"model_version_alias.created", `{"name":"fraud","alias":"champion","version":"1"}`},
		{"model_version_tag.deleted", `{"name":"fraud","version":"1","key":"k"}`},
		{"prompt_version.created", `{"name":"greet","version":"1","template":"Hi {{name}}","tags":{},"description":null}`},
		{"prompt_tag.set", `{"name":"greet","key":"lang","value":"en"}`},
	}
	msgs := e.recv.wait(t, len(want))
	time.Sleep(50 * time.Millisecond)
	if msgs = e.recv.messages(); len(msgs) != len(want) {
		for _, m := range msgs {
			t.Logf("%s", m.Body)
		}
		t.Fatalf("%d messages, want %d", len(msgs), len(want))
	}
	byEvent := map[string]webhooktest.Message{}
	ids := map[string]bool{}
	for _, m := range msgs {
		var env struct {
			Entity, Action, Timestamp string
			Data                      json.RawMessage
		}
		if err := json.Unmarshal(m.Body, &env); err != nil {
			t.Fatal(err)
		}
		byEvent[env.Entity+"."+env.Action] = webhooktest.Message{Header: m.Header, Body: env.Data}
		if err := webhook.MLflow.Verify([]byte(secret), m.Header, m.Body, time.Now()); err != nil {
			t.Errorf("%s.%s: %v", env.Entity, env.Action, err)
		}
		if _, err := time.Parse("2006-01-02T15:04:05.999999-07:00", env.Timestamp); err != nil || !strings.HasSuffix(env.Timestamp, "+00:00") {
			t.Errorf("timestamp %q: %v", env.Timestamp, err)
		}
		ids[m.Header.Get(webhook.MLflowDeliveryIDHeader)] = true
	}
	for _, w := range want {
		m, ok := byEvent[w.event]
		var x, y any
		json.Unmarshal(m.Body, &x)
		json.Unmarshal([]byte(w.data), &y)
		if got, _ := json.Marshal(x); !ok || string(got) != mustCompact(t, w.data) {
			t.Errorf("%s: data %s, want %s", w.event, m.Body, w.data)
		}
		_ = y
	}
	if len(ids) != len(want) {
		t.Errorf("%d distinct delivery ids for %d messages", len(ids), len(want))
	}
	webhooktest.CheckMLflowWithPython(t, secret, msgs)
	// Every message delivered and recorded, none pending.
	time.Sleep(50 * time.Millisecond)
	ds, err := e.store.WebhookDeliveries(t.Context(), w["webhook_id"].(string))
	if err != nil || len(ds) != len(want) {
		t.Fatalf("deliveries %+v %v", ds, err)
	}
	for _, d := range ds {
		if !d.Delivered || d.Status != 200 || d.Attempt != 1 {
			t.Errorf("delivery %+v", d)
		}
	}
	if p, _ := e.store.PendingWebhookMessages(t.Context(), 10); len(p) != 0 {
		t.Errorf("pending %+v", p)
	}
}

func mustCompact(t testing.TB, s string) string {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestWebhookOutboxSurvivesRestart: a message queued while no dispatcher
// runs (the server stopped between the commit and the delivery) is
// delivered by the next server, under the same delivery id, after the
// receiver's 500 is retried; the attempts are numbered across the run.
func TestWebhookOutboxSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	e := newHookEnv(t, path)
	e.create(map[string]any{"name": "hook", "url": e.recv.URL, "events": []any{ev("REGISTERED_MODEL", "CREATED")}})
	e.c.OK("POST", "/api/2.0/mlflow/registered-models/create", map[string]any{"name": "m"})
	pend, err := e.store.PendingWebhookMessages(t.Context(), 10)
	if err != nil || len(pend) != 1 {
		t.Fatalf("queued %+v %v", pend, err)
	}
	if len(e.recv.messages()) != 0 {
		t.Fatal("delivered without a dispatcher")
	}
	e.store.Close()

	e2 := newHookEnv(t, path, 500, 200)
	// The first server's receiver URL is in the webhook; point it at the
	// new one (a PATCH, as an operator would).
	id := pend[0].Receiver
	e2.c.OK("PATCH", hooks+"/"+id, map[string]any{"url": e2.recv.URL})
	e2.start()
	msgs := e2.recv.wait(t, 2)
	for _, m := range msgs {
		if got := m.Header.Get(webhook.MLflowDeliveryIDHeader); got != pend[0].ID {
			t.Errorf("delivery id %q, want the queued %q", got, pend[0].ID)
		}
		if m.Header.Get(webhook.MLflowSignatureHeader) != "" {
			t.Errorf("signature without a secret: %v", m.Header)
		}
		if string(m.Body) != string(pend[0].Payload) {
			t.Errorf("body %s, want the queued %s", m.Body, pend[0].Payload)
		}
	}
	waitFor(t, func() bool { p, _ := e2.store.PendingWebhookMessages(t.Context(), 10); return len(p) == 0 })
	ds, _ := e2.store.WebhookDeliveries(t.Context(), id)
	if len(ds) != 2 || ds[0].Status != 500 || ds[0].Delivered || !ds[1].Delivered || ds[1].Attempt != 2 {
		t.Errorf("deliveries %+v", ds)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatal("condition not met in 10 s")
}

// TestWebhookGivesUp: a receiver that keeps failing gets MaxAttempts
// attempts, one that refuses (4xx) gets one, a deleted or disabled
// webhook's queued message none; each message is then closed.
func TestWebhookGivesUp(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		before   func(e *hookEnv, id string)
		attempts int
		lastErr  string
	}{
		{"5xx", 503, nil, 3, "503"},
		{"4xx", 400, nil, 1, "400"},
		{"deleted", 200, func(e *hookEnv, id string) { e.c.OK("DELETE", hooks+"/"+id, nil) }, 0, "deleted"},
		{"disabled", 200, func(e *hookEnv, id string) { e.c.OK("PATCH", hooks+"/"+id, map[string]any{"status": "DISABLED"}) }, 0, "DISABLED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newHookEnv(t, "", tc.status)
			e.disp.MaxAttempts = 3
			id := e.create(map[string]any{"name": "hook", "url": e.recv.URL, "events": []any{ev("REGISTERED_MODEL", "CREATED")}})["webhook_id"].(string)
			e.c.OK("POST", "/api/2.0/mlflow/registered-models/create", map[string]any{"name": "m"})
			if tc.before != nil {
				tc.before(e, id)
			}
			e.start()
			waitFor(t, func() bool { p, _ := e.store.PendingWebhookMessages(t.Context(), 10); return len(p) == 0 })
			if n := len(e.recv.messages()); n != tc.attempts {
				t.Errorf("%d attempts, want %d", n, tc.attempts)
			}
			ds, _ := e.store.WebhookDeliveries(t.Context(), id)
			if len(ds) != tc.attempts {
				t.Errorf("%d attempts recorded, want %d", len(ds), tc.attempts)
			}
			ms, _ := e.store.(tracking.MonitorStore).PendingMonitorNotifications(t.Context(), tracking.WebhookOutbox)
			if len(ms) != 0 {
				t.Errorf("still pending: %+v", ms)
			}
		})
	}
}

// TestWebhookTestEndpoint: webhooks/{id}/test posts MLflow's example
// payload of the first (or the asked) event and reports the answer.
func TestWebhookTestEndpoint(t *testing.T) {
	e := newHookEnv(t, "", 200, 404)
	id := e.create(map[string]any{"name": "hook", "url": e.recv.URL, "secret": "s3", "events": []any{ev("MODEL_VERSION_TAG", "SET"), ev("PROMPT_ALIAS", "DELETED")}})["webhook_id"].(string)
	res := e.c.OK("POST", hooks+"/"+id+"/test", map[string]any{})["result"].(map[string]any)
	if res["success"] != true || res["response_status"] != float64(200) || res["response_body"] != "answer OK" || res["error_message"] != nil {
		t.Errorf("result %v", res)
	}
	res = e.c.OK("POST", hooks+"/"+id+"/test", map[string]any{"event": ev("PROMPT_ALIAS", "DELETED")})["result"].(map[string]any)
	if res["success"] != false || res["response_status"] != float64(404) || res["response_body"] != "answer Not Found" {
		t.Errorf("result %v", res)
	}
	msgs := e.recv.messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	for i, want := range []string{
		`{"entity":"model_version_tag","action":"set","data":{"name":"example_model","version":"1","key":"example_key","value":"example_value"}}`,
		`{"entity":"prompt_alias","action":"deleted","data":{"name":"example_prompt","alias":"example_alias"}}`,
	} {
		var env map[string]any
		json.Unmarshal(msgs[i].Body, &env)
		delete(env, "timestamp")
		if got, _ := json.Marshal(env); string(got) != mustCompact(t, want) {
			t.Errorf("test %d: %s, want %s", i, got, want)
		}
		if err := webhook.MLflow.Verify([]byte("s3"), msgs[i].Header, msgs[i].Body, time.Now()); err != nil {
			t.Errorf("test %d: %v", i, err)
		}
	}
	e.c.Fail(400, tracking.CodeInvalidParameterValue, "POST", hooks+"/"+id+"/test", map[string]any{"event": ev("PROMPT", "SET")})
	// An unreachable receiver: no answer, an error message.
	e.disp.MaxAttempts = 1
	e.recv.Close()
	res = e.c.OK("POST", hooks+"/"+id+"/test", map[string]any{})["result"].(map[string]any)
	if msg, _ := res["error_message"].(string); res["success"] != false || !strings.HasPrefix(msg, "Failed to test webhook: ") || res["response_status"] != nil {
		t.Errorf("unreachable: %v", res)
	}
}
