// Package webhook delivers signed webhooks. One Sender speaks two header
// schemes (see Scheme):
//
//   - Standard Webhooks 1.0 (the default): each message carries webhook-id
//     (also the receiver's idempotency key, the same on every retry),
//     webhook-timestamp (unix seconds of the attempt) and webhook-signature
//     ("v1," and the base64 HMAC-SHA256 of "{id}.{timestamp}.{body}" under
//     the secret). 5xx, 408, 429 and transport errors (timeouts included)
//     are retried with exponential backoff and jitter, honouring
//     Retry-After; any other 4xx gives up at once.
//   - MLflow 3's webhooks (mlflow/webhooks/delivery.py): the same signed
//     content under X-MLflow-Delivery-Id, X-MLflow-Timestamp and
//     X-MLflow-Signature, keyed by the secret's own UTF-8 bytes, and
//     MLflow's retry policy (429, 500, 502, 503, 504, 4 attempts, urllib3's
//     waits).
//
// Every attempt is appended to a Recorder: a delivery Log (a JSON-lines
// file synced after each record) or a durable store, so a restarted sender
// knows what was delivered and does not send it twice.
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
	"math/rand/v2"
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

// Verify checks a received Standard Webhooks message's headers against
// key: the timestamp within Tolerance of now and one of the
// space-separated v1 signatures equal (in constant time) to the expected
// one.
func Verify(key []byte, h http.Header, body []byte, now time.Time) error {
	return StandardWebhooks.Verify(key, h, body, now)
}

// Verify checks a received message's headers in scheme s against key, as
// the package-level Verify does. For MLflow, key is the secret's UTF-8
// bytes.
func (s Scheme) Verify(key []byte, h http.Header, body []byte, now time.Time) error {
	n := s.names()
	id, tsS, sigs := h.Get(n.id), h.Get(n.timestamp), h.Get(n.signature)
	if id == "" || tsS == "" || sigs == "" {
		return fmt.Errorf("webhook: missing %s, %s or %s header", n.id, n.timestamp, n.signature)
	}
	ts, err := strconv.ParseInt(tsS, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook: %s %q is not unix seconds", n.timestamp, tsS)
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

// Scheme is how a Sender signs and retries messages.
type Scheme int

const (
	// StandardWebhooks signs with webhook-id, webhook-timestamp and
	// webhook-signature (the key is a ParseSecret key); it retries 5xx,
	// 408, 429 and transport errors, 8 attempts by default, waiting
	// InitialInterval (1 s) doubling to MaxInterval (60 s), ±50% jitter.
	StandardWebhooks Scheme = iota
	// MLflow signs as MLflow 3 does: X-MLflow-Delivery-Id,
	// X-MLflow-Timestamp and, when the Key (the secret's UTF-8 bytes) is
	// not empty, X-MLflow-Signature. It retries as MLflow's urllib3
	// Retry(total=3, status_forcelist=[429, 500, 502, 503, 504],
	// backoff_factor=1, backoff_jitter=1, backoff_max=60): 429, 500, 502,
	// 503, 504 (413 too when it carries Retry-After) and transport errors,
	// 4 attempts by default, no wait before the first retry, then
	// InitialInterval × 2^(k-1) before retry k (2 s, 4 s, ...) plus up to
	// InitialInterval of jitter (urllib3's 1 s), capped at MaxInterval
	// (60 s); Retry-After replaces the wait.
	MLflow
)

// The header names of the MLflow scheme (mlflow/webhooks/constants.py).
const (
	MLflowSignatureHeader  = "X-MLflow-Signature"
	MLflowTimestampHeader  = "X-MLflow-Timestamp"
	MLflowDeliveryIDHeader = "X-MLflow-Delivery-Id"
)

type headerNames struct{ id, timestamp, signature string }

func (s Scheme) names() headerNames {
	if s == MLflow {
		return headerNames{MLflowDeliveryIDHeader, MLflowTimestampHeader, MLflowSignatureHeader}
	}
	return headerNames{"webhook-id", "webhook-timestamp", "webhook-signature"}
}

// retryable reports whether an answer is worth another attempt.
func (s Scheme) retryable(status int, hasRetryAfter bool) bool {
	if s == MLflow {
		switch status {
		case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
			http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		// urllib3 also retries a 413 that says when to come back.
		return status == http.StatusRequestEntityTooLarge && hasRetryAfter
	}
	return status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout
}

func (s Scheme) defaultAttempts() uint {
	if s == MLflow {
		return 4
	}
	return 8
}

// urllib3Backoff is the wait schedule of urllib3's Retry with MLflow's
// settings: nothing before the first retry, then factor × 2^(k-1) plus
// up to jitter, at most max. It is made fresh for each message, and Reset
// (which backoff.Retry calls after a Retry-After) does not restart it:
// urllib3 counts every earlier attempt.
type urllib3Backoff struct {
	n                   int
	factor, max, jitter time.Duration
	rand                func() float64
}

func (b *urllib3Backoff) NextBackOff() time.Duration {
	b.n++
	if b.n <= 1 {
		return 0
	}
	d := b.factor * time.Duration(1<<min(b.n-1, 30))
	d += time.Duration(b.rand() * float64(b.jitter))
	return min(d, b.max)
}

func (b *urllib3Backoff) Reset() {}

// Sender posts signed messages with retries.
type Sender struct {
	// Scheme is the header scheme and retry policy (StandardWebhooks when
	// zero).
	Scheme Scheme
	Key    []byte
	Client *http.Client // default: a client with Timeout
	// Timeout bounds one attempt (default 30 s).
	Timeout time.Duration
	// MaxAttempts bounds the attempts of one message (default 8; 4 for
	// MLflow).
	MaxAttempts uint
	// InitialInterval and MaxInterval shape the backoff (defaults 1 s and
	// 60 s; see Scheme); MaxElapsed bounds the whole delivery (default 15
	// minutes), Retry-After waits included.
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

// Result is the receiver's last answer to a message.
type Result struct {
	// Status is the last HTTP status (0: no answer, a transport error).
	Status int
	// Body is the start of the last answer's body (at most MaxResultBody
	// bytes).
	Body string
	// Attempts is how many attempts were made (0: the log already held
	// the message as delivered).
	Attempts int
}

// MaxResultBody bounds the answer body kept in a Result.
const MaxResultBody = 16 << 10

// Send delivers body to url under message id, at least once unless the
// receiver refuses it (a non-retryable 4xx) or the attempts run out. A
// message the log already holds as delivered is not sent again.
func (s *Sender) Send(ctx context.Context, url, id string, body []byte) error {
	_, err := s.Deliver(ctx, url, id, body)
	return err
}

// Deliver is Send that also returns the receiver's last answer, which is
// there (with its status) when the error is a *StatusError too.
func (s *Sender) Deliver(ctx context.Context, url, id string, body []byte) (Result, error) {
	var res Result
	if id == "" || len(id) > 255 {
		return res, fmt.Errorf("webhook: message id must have 1 to 255 characters, has %d", len(id))
	}
	if s.Log != nil && s.Log.Delivered(id) {
		return res, nil
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
	var b backoff.BackOff
	if s.Scheme == MLflow {
		f := or(s.InitialInterval, time.Second)
		b = &urllib3Backoff{factor: f, max: or(s.MaxInterval, time.Minute), jitter: f, rand: rand.Float64}
	} else {
		eb := backoff.NewExponentialBackOff()
		eb.InitialInterval = or(s.InitialInterval, time.Second)
		eb.MaxInterval = or(s.MaxInterval, time.Minute)
		eb.RandomizationFactor = 0.5
		b = eb
	}
	attempt := 0
	op := func() (struct{}, error) {
		attempt++
		ts := now().Unix()
		rec := Attempt{ID: id, URL: url, Attempt: attempt, Time: now().UTC()}
		status, answer, err := s.post(ctx, client, timeout, url, id, ts, body)
		res.Status, res.Body, res.Attempts = status, answer, attempt
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
		case errors.As(err, &se) && !s.Scheme.retryable(se.Status, false):
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
		tries = s.Scheme.defaultAttempts()
	}
	_, err := backoff.Retry(ctx, op, backoff.WithBackOff(b), backoff.WithMaxTries(tries),
		backoff.WithMaxElapsedTime(or(s.MaxElapsed, 15*time.Minute)))
	if err != nil {
		var rae *backoff.RetryAfterError
		if errors.As(err, &rae) && res.Status != 0 {
			// The last answer asked for a wait that was not made: report
			// the answer itself.
			err = &StatusError{Status: res.Status, Body: short(res.Body)}
		}
		return res, fmt.Errorf("webhook: deliver %s to %s after %d attempts: %w", id, url, attempt, err)
	}
	return res, nil
}

// short is the start of an answer's body kept in a StatusError.
func short(body string) string {
	if len(body) > 512 {
		body = body[:512]
	}
	return strings.TrimSpace(body)
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

func (s *Sender) post(ctx context.Context, client *http.Client, timeout time.Duration, url, id string, ts int64, body []byte) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", backoff.Permanent(fmt.Errorf("webhook: %w", err))
	}
	n := s.Scheme.names()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(n.id, id)
	req.Header.Set(n.timestamp, strconv.FormatInt(ts, 10))
	// MLflow sends no signature for a webhook without a secret.
	if s.Scheme != MLflow || len(s.Key) > 0 {
		req.Header.Set(n.signature, Sign(s.Key, id, ts, body))
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("webhook: post: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResultBody))
	answer := string(raw)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, answer, nil
	}
	se := &StatusError{Status: resp.StatusCode, Body: short(answer)}
	v := resp.Header.Get("Retry-After")
	if v != "" && s.Scheme.retryable(resp.StatusCode, true) {
		if sec, err := strconv.Atoi(v); err == nil && sec >= 0 {
			return resp.StatusCode, answer, &retryAfter{se, sec}
		}
		if t, err := http.ParseTime(v); err == nil {
			return resp.StatusCode, answer, &retryAfter{se, max(0, int(time.Until(t).Seconds()+0.999))}
		}
	}
	return resp.StatusCode, answer, se
}
