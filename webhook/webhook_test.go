package webhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dawn-ml/dawn/webhook/webhooktest"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

type received struct {
	header http.Header
	body   []byte
	at     time.Time
}

// receiver answers with the given statuses in turn (the last one repeats).
func receiver(t *testing.T, statuses ...int) (*httptest.Server, *[]received, *sync.Mutex) {
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, received{r.Header.Clone(), b, time.Now()})
		n := len(got)
		mu.Unlock()
		st := statuses[min(n, len(statuses))-1]
		if st == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(st)
	}))
	t.Cleanup(srv.Close)
	return srv, &got, &mu
}

func sender(t *testing.T, log *Log) *Sender {
	key, err := ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	return &Sender{Key: key, InitialInterval: 10 * time.Millisecond, MaxInterval: 50 * time.Millisecond, Log: log, Timeout: 2 * time.Second}
}

func TestRetryThenSuccess(t *testing.T) {
	srv, got, _ := receiver(t, 500, 500, 200)
	log, err := OpenLog(filepath.Join(t.TempDir(), "deliveries.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	s := sender(t, log)
	body := []byte(`{"status":"firing","alerts":[{"labels":{"alertname":"DatasetDrift"}}]}`)
	if err := s.Send(context.Background(), srv.URL, "msg_2Kx7", body); err != nil {
		t.Fatal(err)
	}
	if len(*got) != 3 {
		t.Fatalf("%d attempts, want 3", len(*got))
	}
	for i, r := range *got {
		if id := r.header.Get("webhook-id"); id != "msg_2Kx7" {
			t.Errorf("attempt %d: id %q", i+1, id)
		}
		if err := Verify(s.Key, r.header, r.body, time.Now()); err != nil {
			t.Errorf("attempt %d: %v", i+1, err)
		}
		if !bytes.Equal(r.body, body) {
			t.Errorf("attempt %d: body changed", i+1)
		}
	}
	as := log.Attempts()
	if len(as) != 3 || as[0].Status != 500 || as[1].Status != 500 || !as[2].Delivered || as[2].Status != 200 {
		t.Errorf("log %+v", as)
	}
	checkWithPython(t, *got)
	// Sent again (a restart replaying its queue): the log says delivered.
	if err := s.Send(context.Background(), srv.URL, "msg_2Kx7", body); err != nil || len(*got) != 3 {
		t.Errorf("resend: %v, %d attempts", err, len(*got))
	}
}

func TestNoRetryOn400(t *testing.T) {
	srv, got, _ := receiver(t, 400)
	s := sender(t, nil)
	err := s.Send(context.Background(), srv.URL, "msg_1", []byte(`{}`))
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 400 || len(*got) != 1 {
		t.Fatalf("err %v, %d attempts; want one attempt and a 400", err, len(*got))
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	srv, got, _ := receiver(t, 429, 200)
	s := sender(t, nil)
	if err := s.Send(context.Background(), srv.URL, "msg_ra", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	g := *got
	if len(g) != 2 {
		t.Fatalf("%d attempts", len(g))
	}
	// Retry-After: 1 against a 10-50 ms backoff.
	if d := g[1].at.Sub(g[0].at); d < 900*time.Millisecond {
		t.Errorf("second attempt after %v, want ≥ 1 s (Retry-After)", d)
	}
}

func TestLogSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.jsonl")
	l, err := OpenLog(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Append(Attempt{ID: "a", Attempt: 1, Status: 503})
	l.Append(Attempt{ID: "a", Attempt: 2, Status: 200, Delivered: true})
	l.Close()
	l2, err := OpenLog(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if !l2.Delivered("a") || l2.Delivered("b") || len(l2.Attempts()) != 2 {
		t.Errorf("reopened log: %+v", l2.Attempts())
	}
}

func TestVerifyRejects(t *testing.T) {
	key, _ := ParseSecret(secret)
	h := http.Header{}
	now := time.Now()
	h.Set("webhook-id", "x")
	h.Set("webhook-timestamp", "1")
	h.Set("webhook-signature", Sign(key, "x", 1, []byte("b")))
	if err := Verify(key, h, []byte("b"), now); err == nil {
		t.Error("old timestamp accepted")
	}
	ts := now.Unix()
	h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	h.Set("webhook-signature", "v1,bogus "+Sign(key, "x", ts, []byte("b")))
	if err := Verify(key, h, []byte("b"), now); err != nil {
		t.Errorf("rotated signature list: %v", err)
	}
	if err := Verify(key, h, []byte("c"), now); !errors.Is(err, ErrSignature) {
		t.Errorf("changed body: %v", err)
	}
	if _, err := ParseSecret("whsec_c2hvcnQ="); err == nil {
		t.Error("short secret accepted")
	}
}

func checkWithPython(t *testing.T, got []received) {
	t.Helper()
	var msgs []webhooktest.Message
	for _, r := range got {
		msgs = append(msgs, webhooktest.Message{Header: r.header, Body: r.body})
	}
	webhooktest.CheckWithPython(t, secret, msgs)
}

// FuzzVerify: arbitrary headers and bodies never panic, and a message
// signed by Sign always verifies.
func FuzzVerify(f *testing.F) {
	key, _ := ParseSecret(secret)
	f.Add("msg_1", "1700000000", "v1,abc", []byte("{}"))
	f.Add("", "x", "", []byte(nil))
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", sig)
		Verify(key, h, body, time.Unix(1700000000, 0))
		ParseSecret(sig)
		if id == "" || strings.ContainsAny(id, "\r\n") || strings.TrimSpace(id) != id {
			return
		}
		now := time.Unix(1700000000, 0)
		h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		h.Set("webhook-signature", Sign(key, id, now.Unix(), body))
		if h.Get("webhook-id") == id {
			if err := Verify(key, h, body, now); err != nil {
				t.Errorf("signed message rejected: %v", err)
			}
		}
	})
}
