package serve

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestRequestID(t *testing.T) {
	_, hs := newTestServer(t, &spamModel{}, Options{})
	send := func(id string) (int, string) {
		req, _ := http.NewRequest("POST", hs.URL+"/invocations", strings.NewReader(`{"inputs": ["hi"]}`))
		req.Header.Set("Content-Type", "application/json")
		if id != "" {
			req.Header.Set("X-Request-Id", id)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("X-Request-Id")
	}
	if code, id := send("client-7"); code != 200 || id != "client-7" {
		t.Errorf("given id: %d %q", code, id)
	}
	_, a := send("")
	_, b := send("")
	if a == "" || b == "" || a == b {
		t.Errorf("generated ids %q %q: want two distinct ones", a, b)
	}
	if code, _ := send(strings.Repeat("x", 129)); code != 400 {
		t.Errorf("129-character id: %d, want 400", code)
	}
	if code, _ := send("has space"); code != 400 {
		t.Errorf("id with a space: %d, want 400", code)
	}
}
