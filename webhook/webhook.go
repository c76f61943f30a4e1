// Package webhook delivers signed webhooks as the Standard Webhooks 1.0
// specification describes: each message carries webhook-id (also the
// receiver's idempotency key, the same on every retry), webhook-timestamp
// (unix seconds of the attempt) and webhook-signature ("v1," and the
// base64 HMAC-SHA256 of "{id}.{timestamp}.{body}" under the secret).
// Sender retries 5xx, 429 and transport errors (timeouts included) with
// exponential backoff and jitter, honouring Retry-After, and gives up at
// once on any other 4xx. Every attempt is appended to a delivery Log, a
// JSON-lines file synced after each record, so a restarted sender knows
// what was delivered and does not send it twice.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// SecretPrefix starts a secret in the Standard Webhooks text form.
const SecretPrefix = "whsec_"

// ParseSecret decodes "whsec_" + base64 into the key bytes.
func ParseSecret(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
	if err != nil {
		return nil, fmt.Errorf("webhook: secret: want %s followed by base64: %w", SecretPrefix, err)
	}
	if len(b) < 16 {
		return nil, fmt.Errorf("webhook: secret of %d bytes is too short (at least 16)", len(b))
	}
	return b, nil
}

// Sign returns the webhook-signature header value for one message.
func Sign(key []byte, id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.", id, ts)
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Tolerance is how far from now a receiver accepts a timestamp.
const Tolerance = 5 * time.Minute

// ErrSignature reports a message whose signature does not verify.
var ErrSignature = errors.New("webhook: no valid signature")

// Verify checks a received message's headers against key: the timestamp
// within Tolerance of now and one of the space-separated v1 signatures
// equal (in constant time) to the expected one.
func Verify(key []byte, h http.Header, body []byte, now time.Time) error {
	id, tsS, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || tsS == "" || sigs == "" {
		return fmt.Errorf("webhook: missing webhook-id, webhook-timestamp or webhook-signature header")
	}
	ts, err := strconv.ParseInt(tsS, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook: webhook-timestamp %q is not unix seconds", tsS)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > Tolerance || d < -Tolerance {
		return fmt.Errorf("webhook: timestamp %d is %v from now, beyond %v", ts, d.Round(time.Second), Tolerance)
	}
	want := Sign(key, id, ts, body)
	for _, s := range strings.Fields(sigs) {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return ErrSignature
}

// Sender posts signed messages with retries.
type Sender struct {
	Key    []byte
	Client *http.Client // default: a client with Timeout
	// Timeout bounds one attempt (default 30 s).
	Timeout time.Duration
	// MaxAttempts bounds the attempts of one message (default 8).
	MaxAttempts uint
	// InitialInterval and MaxInterval shape the exponential backoff
	// (defaults 1 s and 60 s; jitter ±50%); MaxElapsed bounds the whole
	// delivery (default 15 minutes).
	InitialInterval, MaxInterval, MaxElapsed time.Duration
	// Log records every attempt (a *Log, or another durable store such
	// as the tracking store's monitor outbox); nil records nothing.
	Log Recorder
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Recorder keeps delivery attempts durably and answers which messages
// were delivered; *Log is one.
type Recorder interface {
	Append(Attempt) error
	Delivered(id string) bool
}

var _ Recorder = (*Log)(nil)

// StatusError is a receiver's non-2xx answer.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("webhook: receiver answered %d %s", e.Status, e.Body)
}

// retryable reports whether a status is worth another attempt: 5xx and
// 429 (408, a request timeout, too).
func retryable(status int) bool {
	return status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout
}

// Send delivers body to url under message id, at least once unless the
// receiver refuses it (a non-retryable 4xx) or the attempts run out. A
// message the log already holds as delivered is not sent again.
func (s *Sender) Send(ctx context.Context, url, id string, body []byte) error {
	if id == "" || len(id) > 255 {
		return fmt.Errorf("webhook: message id must have 1 to 255 characters, has %d", len(id))
	}
	if s.Log != nil && s.Log.Delivered(id) {
		return nil
	}
	now := s.Now
	if now == nil {
		now = time.Now
	}
	client := s.Client
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	if client == nil {
		client = &http.Client{Timeout: timeout}
	}
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = or(s.InitialInterval, time.Second)
	b.MaxInterval = or(s.MaxInterval, time.Minute)
	b.RandomizationFactor = 0.5
	attempt := 0
	op := func() (struct{}, error) {
		attempt++
		ts := now().Unix()
		rec := Attempt{ID: id, URL: url, Attempt: attempt, Time: now().UTC()}
		status, err := s.post(ctx, client, timeout, url, id, ts, body)
		rec.Status = status
		if err != nil {
			rec.Error = err.Error()
		}
		rec.Delivered = err == nil
		if s.Log != nil {
			if lerr := s.Log.Append(rec); lerr != nil {
				return struct{}{}, backoff.Permanent(lerr)
			}
		}
		var se *StatusError
		switch {
		case err == nil:
			return struct{}{}, nil
		case errors.As(err, &se) && !retryable(se.Status):
			return struct{}{}, backoff.Permanent(err)
		}
		var ra *retryAfter
		if errors.As(err, &ra) {
			return struct{}{}, backoff.RetryAfter(ra.seconds)
		}
		return struct{}{}, err
	}
	tries := s.MaxAttempts
	if tries == 0 {
		tries = 8
	}
	_, err := backoff.Retry(ctx, op, backoff.WithBackOff(b), backoff.WithMaxTries(tries),
		backoff.WithMaxElapsedTime(or(s.MaxElapsed, 15*time.Minute)))
	if err != nil {
		return fmt.Errorf("webhook: deliver %s to %s after %d attempts: %w", id, url, attempt, err)
	}
	return nil
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// retryAfter carries a Retry-After the receiver asked for.
type retryAfter struct {
	*StatusError
	seconds int
}

func (s *Sender) post(ctx context.Context, client *http.Client, timeout time.Duration, url, id string, ts int64, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, backoff.Permanent(fmt.Errorf("webhook: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", Sign(s.Key, id, ts, body))
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("webhook: post: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, nil
	}
	se := &StatusError{Status: resp.StatusCode, Body: strings.TrimSpace(string(msg))}
	if retryable(resp.StatusCode) {
		if v := resp.Header.Get("Retry-After"); v != "" {
			if sec, err := strconv.Atoi(v); err == nil && sec >= 0 {
				return resp.StatusCode, &retryAfter{se, sec}
			}
			if t, err := http.ParseTime(v); err == nil {
				return resp.StatusCode, &retryAfter{se, max(0, int(time.Until(t).Seconds()+0.999))}
			}
		}
	}
	return resp.StatusCode, se
}
