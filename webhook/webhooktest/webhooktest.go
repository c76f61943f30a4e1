// Package webhooktest checks received webhook signatures with Python's own
// hmac module (verify.py), an implementation independent of package
// webhook, for the tests of packages that send webhooks: Standard Webhooks
// messages (CheckWithPython) and MLflow 3 ones (CheckMLflowWithPython).
package webhooktest

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
)

//go:embed verify.py
var verifyPy string

// Message is one received request.
type Message struct {
	Header http.Header
	Body   []byte
}

// CheckWithPython fails t unless every message's webhook-signature
// verifies under secret in Python; it only logs when python3 is absent.
func CheckWithPython(t testing.TB, secret string, msgs []Message) {
	t.Helper()
	check(t, "standard", secret, msgs, "webhook-id", "webhook-timestamp", "webhook-signature")
}

// CheckMLflowWithPython fails t unless every message's X-MLflow-Signature
// verifies under secret (used as its UTF-8 bytes, as MLflow does) in
// Python; it only logs when python3 is absent.
func CheckMLflowWithPython(t testing.TB, secret string, msgs []Message) {
	t.Helper()
	// The names are written out: package webhook's own tests use this one.
	check(t, "mlflow", secret, msgs, "X-MLflow-Delivery-Id", "X-MLflow-Timestamp", "X-MLflow-Signature")
}

func check(t testing.TB, scheme, secret string, msgs []Message, idH, tsH, sigH string) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Log("python3 not found: signatures checked in Go only")
		return
	}
	var in bytes.Buffer
	for _, m := range msgs {
		json.NewEncoder(&in).Encode(map[string]string{"scheme": scheme, "secret": secret, "id": m.Header.Get(idH),
			"timestamp": m.Header.Get(tsH), "body": string(m.Body), "signature": m.Header.Get(sigH)})
	}
	cmd := exec.Command(py, "-c", verifyPy)
	cmd.Stdin = &in
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("verify.py: %v: %s", err, out)
	}
	if len(msgs) == 0 || strings.Count(string(out), "ok") != len(msgs) {
		t.Errorf("Python's hmac (%s scheme): %s", scheme, out)
	}
}
