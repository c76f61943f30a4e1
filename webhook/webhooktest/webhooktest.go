// Package webhooktest checks received Standard Webhooks signatures with
// Python's own hmac module (verify.py), an implementation independent of
// package webhook, for the tests of packages that send webhooks.
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
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Log("python3 not found: signatures checked in Go only")
		return
	}
	var in bytes.Buffer
	for _, m := range msgs {
		json.NewEncoder(&in).Encode(map[string]string{"secret": secret, "id": m.Header.Get("webhook-id"),
			"timestamp": m.Header.Get("webhook-timestamp"), "body": string(m.Body), "signature": m.Header.Get("webhook-signature")})
	}
	cmd := exec.Command(py, "-c", verifyPy)
	cmd.Stdin = &in
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("verify.py: %v: %s", err, out)
	}
	if len(msgs) == 0 || strings.Count(string(out), "ok") != len(msgs) {
		t.Errorf("Python's hmac: %s", out)
	}
}
