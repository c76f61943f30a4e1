package webhook

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dawn-ml/dawn/webhook/webhooktest"
)

// mlflowSecret is the secret of MLflow's own webhook test app
// (tests/webhooks/app.py): MLflow keys the HMAC with its UTF-8 bytes.
const mlflowSecret = "test-secret-key"

func mlflowSender(key string) *Sender {
	return &Sender{Scheme: MLflow, Key: []byte(key), InitialInterval: 20 * time.Millisecond, MaxInterval: 200 * time.Millisecond, Timeout: 2 * time.Second}
}

func TestMLflowSchemeHeadersAndRetries(t *testing.T) {
	srv, got, _ := receiver(t, 500, 503, 200)
	s := mlflowSender(mlflowSecret)
	body := []byte(`{"entity": "model_version", "action": "created", "timestamp": "2026-12-02T13:00:00.000000+00:00", "data": {"name": "m"}}`)
	res, err := s.Deliver(context.Background(), srv.URL, "2f1c0f9e-4a8e-4c57-9a39-8c5ad8b7d7e1", body)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 200 || res.Attempts != 3 {
		t.Errorf("result %+v, want 200 after 3 attempts", res)
	}
	g := *got
	if len(g) != 3 {
		t.Fatalf("%d attempts, want 3", len(g))
	}
	var msgs []webhooktest.Message
	for i, r := range g {
		if id := r.header.Get(MLflowDeliveryIDHeader); id != "2f1c0f9e-4a8e-4c57-9a39-8c5ad8b7d7e1" {
			t.Errorf("attempt %d: delivery id %q", i+1, id)
		}
		if r.header.Get("webhook-id") != "" || r.header.Get("webhook-signature") != "" {
			t.Errorf("attempt %d: Standard Webhooks headers in an MLflow message: %v", i+1, r.header)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("attempt %d: Content-Type %q", i+1, ct)
		}
		if err := MLflow.Verify([]byte(mlflowSecret), r.header, r.body, time.Now()); err != nil {
			t.Errorf("attempt %d: %v", i+1, err)
		}
		if err := MLflow.Verify([]byte("wrong-secret"), r.header, r.body, time.Now()); !errors.Is(err, ErrSignature) {
			t.Errorf("attempt %d: wrong secret: %v", i+1, err)
		}
		msgs = append(msgs, webhooktest.Message{Header: r.header, Body: r.body})
	}
	webhooktest.CheckMLflowWithPython(t, mlflowSecret, msgs)
	// urllib3 makes the first retry at once and waits factor × 2 (plus
	// jitter up to the factor) before the second.
	if d := g[1].at.Sub(g[0].at); d > 150*time.Millisecond {
		t.Errorf("first retry after %v, want at once", d)
	}
	if d := g[2].at.Sub(g[1].at); d < 40*time.Millisecond {
		t.Errorf("second retry after %v, want ≥ 40 ms (2 × 20 ms)", d)
	}
}

func TestMLflowWithoutSecretSendsNoSignature(t *testing.T) {
	srv, got, _ := receiver(t, 200)
	if err := mlflowSender("").Send(context.Background(), srv.URL, "d-1", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	h := (*got)[0].header
	if _, ok := h[http.CanonicalHeaderKey(MLflowSignatureHeader)]; ok {
		t.Errorf("signature header sent without a secret: %v", h)
	}
	if h.Get(MLflowDeliveryIDHeader) != "d-1" || h.Get(MLflowTimestampHeader) == "" {
		t.Errorf("headers %v", h)
	}
}

// TestMLflowStatusPolicy: MLflow's status_forcelist, not Standard
// Webhooks' "any 5xx, 408 and 429"; 4 attempts (3 retries) by default.
func TestMLflowStatusPolicy(t *testing.T) {
	for _, tc := range []struct {
		status       int
		wantAttempts int
	}{
		{500, 4}, {502, 4}, {503, 4}, {504, 4}, {429, 4},
		{501, 1}, {505, 1}, {408, 1}, {400, 1}, {401, 1}, {404, 1}, {410, 1},
	} {
		srv, got, _ := receiver(t, tc.status)
		s := mlflowSender(mlflowSecret)
		if tc.status == 429 {
			// The receiver asks for Retry-After: 1 s; keep the test short.
			s.MaxAttempts = 2
			tc.wantAttempts = 2
		}
		res, err := s.Deliver(context.Background(), srv.URL, "d", []byte(`{}`))
		var se *StatusError
		if !errors.As(err, &se) || se.Status != tc.status {
			t.Errorf("%d: err %v, want a StatusError %d", tc.status, err, tc.status)
		}
		if len(*got) != tc.wantAttempts || res.Attempts != tc.wantAttempts || res.Status != tc.status {
			t.Errorf("%d: %d attempts (result %+v), want %d", tc.status, len(*got), res, tc.wantAttempts)
		}
	}
}

// TestUrllib3Schedule: the waits of urllib3's Retry(backoff_factor=1,
// backoff_jitter=1, backoff_max=60) with the jitter drawn as 0.5:
// 0, then 2^(k-1) + 0.5 s, capped at 60 s.
func TestUrllib3Schedule(t *testing.T) {
	b := &urllib3Backoff{factor: time.Second, max: time.Minute, jitter: time.Second, rand: func() float64 { return 0.5 }}
	want := []time.Duration{0, 2500 * time.Millisecond, 4500 * time.Millisecond, 8500 * time.Millisecond,
		16500 * time.Millisecond, 32500 * time.Millisecond, time.Minute, time.Minute}
	for i, w := range want {
		if i == 3 {
			b.Reset() // after a Retry-After: urllib3 keeps counting
		}
		if d := b.NextBackOff(); d != w {
			t.Errorf("wait before retry %d: %v, want %v", i+1, d, w)
		}
	}
}

func TestDeliverKeepsAnswerBody(t *testing.T) {
	srv, _, _ := receiver(t, 200)
	res, err := mlflowSender(mlflowSecret).Deliver(context.Background(), srv.URL, "d", []byte(`{}`))
	if err != nil || res.Status != 200 || res.Attempts != 1 || strings.TrimSpace(res.Body) != "" {
		t.Errorf("result %+v, err %v", res, err)
	}
}

// FuzzVerifyMLflow: arbitrary MLflow headers never panic, and a message
// signed by the sender's rule always verifies.
func FuzzVerifyMLflow(f *testing.F) {
	f.Add("d-1", "1700000000", "v1,abc", []byte("{}"))
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		key := []byte(mlflowSecret)
		h := http.Header{}
		h.Set(MLflowDeliveryIDHeader, id)
		h.Set(MLflowTimestampHeader, ts)
		h.Set(MLflowSignatureHeader, sig)
		now := time.Unix(1700000000, 0)
		MLflow.Verify(key, h, body, now)
		if id == "" || strings.ContainsAny(id, "\r\n") || strings.TrimSpace(id) != id {
			return
		}
		h.Set(MLflowTimestampHeader, "1700000000")
		h.Set(MLflowSignatureHeader, Sign(key, id, now.Unix(), body))
		if h.Get(MLflowDeliveryIDHeader) == id {
			if err := MLflow.Verify(key, h, body, now); err != nil {
				t.Errorf("signed message rejected: %v", err)
			}
		}
	})
}
