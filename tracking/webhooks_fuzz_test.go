package tracking

import (
	"slices"
	"testing"
)

// FuzzWebhookRequest: any body decodes and validates without panicking,
// and what a create accepts is a webhook the rules allow: a valid name, a
// URL of an allowed scheme, a non-empty list of distinct MLflow events and
// a known status.
func FuzzWebhookRequest(f *testing.F) {
	f.Add([]byte(`{"name":"h","url":"https://example.com/x","events":[{"entity":"MODEL_VERSION","action":"CREATED"}]}`))
	f.Add([]byte(`{"name":"h.1","url":"http://x","events":[{"entity":2,"action":1},{"entity":"PROMPT_TAG","action":"SET"}],"status":"DISABLED","secret":"s"}`))
	f.Add([]byte(`{"name":"-","url":"ftp://x","events":[{"entity":"","action":null}],"status":7}`))
	f.Add([]byte(`{"events":"x"}`))
	a := &api{webhookSchemes: DefaultWebhookSchemes}
	f.Fuzz(func(t *testing.T, body []byte) {
		var r webhookReq
		if DecodeJSON(body, &r) != nil {
			return
		}
		w, err := a.newWebhook(&r)
		if err == nil {
			if ValidateWebhookName(w.Name) != nil || ValidateWebhookURL(w.URL, DefaultWebhookSchemes) != nil || len(w.Events) == 0 ||
				(w.Status != WebhookActive && w.Status != WebhookDisabled) {
				t.Fatalf("accepted %+v", w)
			}
			for i, e := range w.Events {
				if !slices.Contains(webhookEvents, e) || slices.Index(w.Events, e) != i {
					t.Fatalf("accepted event %v in %v", e, w.Events)
				}
			}
		}
		var u webhookReq
		if DecodeJSON(body, &u) == nil {
			a.webhookUpdate(&u)
		}
	})
}
