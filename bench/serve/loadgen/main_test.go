package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRawClient checks the raw HTTP/1.1 client against net/http's server:
// Content-Length and chunked bodies, a server that closes the connection,
// and an error status, each followed by a request on the same client. The
// handler runs one request at a time (one client), so the counters need
// no lock.
func TestRawClient(t *testing.T) {
	var conns, reqs int
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqs++
		body, _ := io.ReadAll(r.Body)
		if r.Method != "POST" || r.URL.Path != "/invocations" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("got %s %s %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		switch string(body) {
		case "chunked":
			w.Write([]byte(strings.Repeat("x", 5000)))
			w.(http.Flusher).Flush() // no Content-Length: chunked
			w.Write([]byte("tail"))
		case "close":
			w.Header().Set("Connection", "close")
			w.Write([]byte("bye"))
		case "fail":
			w.WriteHeader(500)
			w.Write([]byte(`{"error_code": "INTERNAL_ERROR"}`))
		default:
			w.Write(body)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns++
		}
	}
	srv.Start()
	defer srv.Close()
	bodies := []string{"plain", "chunked", "plain", "close", "plain", "fail", "plain"}
	c := &rawClient{addr: strings.TrimPrefix(srv.URL, "http://")}
	for _, b := range bodies {
		c.reqs = append(c.reqs, fmt.Appendf(nil, "POST /invocations HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", c.addr, len(b), b))
	}
	for i, b := range bodies {
		err := c.post(i)
		if b == "fail" {
			if err == nil || err.Error() != "HTTP 500" {
				t.Errorf("request %d (%s): err %v, want HTTP 500", i, b, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("request %d (%s): %v", i, b, err)
		}
	}
	if reqs != len(bodies) {
		t.Errorf("server saw %d requests, want %d", reqs, len(bodies))
	}
	// Keep-alive: one connection before the server's close, one after.
	if conns != 2 {
		t.Errorf("%d connections, want 2", conns)
	}
}
