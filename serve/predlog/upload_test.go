package predlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/artifact/s3"
	"github.com/dawn-ml/dawn/artifact/s3/s3test"
	"github.com/dawn-ml/dawn/serve"
)

// memStore is an Uploader holding objects in memory; its first failN puts
// fail.
type memStore struct {
	mu    sync.Mutex
	objs  map[string][]byte
	failN int
	calls int
}

func (m *memStore) Put(ctx context.Context, name string, r io.Reader) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.calls <= m.failN {
		return errors.New("store unavailable")
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if m.objs == nil {
		m.objs = map[string][]byte{}
	}
	m.objs[name] = b
	return nil
}

// writeObjects writes the objects into a fresh directory, for readDir.
func (m *memStore) dir(t *testing.T) string {
	dir := t.TempDir()
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, b := range m.objs {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func spooled(t *testing.T, spool string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(spool, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range m {
		names = append(names, filepath.Base(p))
	}
	return names
}

// logTexts logs one row per text and closes the log, with a bound on
// Close so a hang fails the test instead of stalling it.
func logTexts(t *testing.T, l *Logger, texts ...string) error {
	t.Helper()
	for _, s := range texts {
		l.Log(entry(s))
	}
	done := make(chan error, 1)
	go func() { done <- l.Close() }()
	select {
	case err := <-done:
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("Close did not return")
		return nil
	}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Uploads that fail twice succeed on the third try: every row arrives, the
// two failures are counted, and the spool is left empty.
func TestPredlogUploadRetriesWithBackoff(t *testing.T) {
	store := &memStore{failN: 2}
	spool := t.TempDir()
	l, err := New(Options{Dir: "mem://test", Upload: store, Spool: spool, RollRows: 2, FlushRows: 1,
		UploadBackoff: time.Millisecond, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if err := logTexts(t, l, "a", "b", "c", "d", "e"); err != nil {
		t.Fatal(err)
	}
	if got := counterValue(l.errs); got != 2 {
		t.Errorf("errors %v, want 2", got)
	}
	files, rows, _ := readDir(t, store.dir(t))
	if files != 3 || len(rows) != 5 {
		t.Errorf("%d objects, %d rows; want 3 objects (2+2+1 rows), 5 rows", files, len(rows))
	}
	if got := counterValue(l.uploaded); got != 3 {
		t.Errorf("uploaded %v, want 3", got)
	}
	if s := spooled(t, spool); len(s) != 0 {
		t.Errorf("spool not empty: %v", s)
	}
}

// A store that never answers: Close returns an error naming the spool, the
// files stay there, and a later logger on the same spool uploads them
// before anything else.
func TestPredlogFailedUploadsStayInSpoolForTheNextStart(t *testing.T) {
	spool := t.TempDir()
	down := &memStore{failN: 1 << 30}
	l, err := New(Options{Dir: "mem://test", Upload: down, Spool: spool, RollRows: 1, FlushRows: 1,
		UploadAttempts: 2, UploadBackoff: time.Millisecond, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	err = logTexts(t, l, "a", "b", "c")
	if err == nil || !strings.Contains(err.Error(), spool) || !strings.Contains(err.Error(), "3 file(s) not uploaded") {
		t.Fatalf("Close: %v; want 3 files kept in %s", err, spool)
	}
	left := spooled(t, spool)
	if len(left) != 3 {
		t.Fatalf("spool holds %v, want 3 files", left)
	}
	if got := counterValue(l.errs); got < 2 {
		t.Errorf("errors %v, want at least 2 (the attempts on the first file)", got)
	}
	if got := counterValue(l.rows); got != 3 {
		t.Errorf("rows %v, want 3: the writer does not wait on uploads", got)
	}

	up := &memStore{}
	l2, err := New(Options{Dir: "mem://test", Upload: up, Spool: spool, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if err := logTexts(t, l2); err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range up.objs {
		names = append(names, n)
	}
	slices.Sort(names)
	if !slices.Equal(names, left) {
		t.Errorf("uploaded %v, want the spooled %v", names, left)
	}
	_, rows, _ := readDir(t, up.dir(t))
	var texts []string
	for _, r := range rows {
		texts = append(texts, r[5])
	}
	slices.Sort(texts)
	if !slices.Equal(texts, []string{"a", "b", "c"}) {
		t.Errorf("rows %v", rows)
	}
	if s := spooled(t, spool); len(s) != 0 {
		t.Errorf("spool not empty: %v", s)
	}
}

// objects reads every object under repo's root with the Parquet reader.
func objects(t *testing.T, repo artifact.Repo) (names []string, rows [][]string, header []string) {
	t.Helper()
	ents, err := repo.List(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, e := range ents {
		names = append(names, e.Path)
		rc, _, err := repo.Open(t.Context(), e.Path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Path), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, rows, header = readDir(t, dir)
	return names, rows, header
}

// Through dawn serve's HTTP path to objects in a real S3-compatible store,
// read back with the project's Parquet reader.
func TestPredlogS3(t *testing.T) {
	endpoint := s3test.Start(t)
	s3test.CreateBucket(t, endpoint, "logs")
	spool := t.TempDir()
	l, err := New(Options{Dir: "s3://logs/serve/a", S3: s3test.Options(endpoint), Spool: spool,
		RollRows: 2, FlushRows: 1, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	s, err := serve.New(lenModel{}, "7", serve.Options{Log: l})
	if err != nil {
		t.Fatal(err)
	}
	s.Registry().MustRegister(l.Collectors()...)
	hs := httptest.NewServer(s.Handler())
	var want []string
	for i := range 5 {
		text := strings.Repeat("x", 20*i+1)
		want = append(want, text)
		resp, err := http.Post(hs.URL+"/invocations", "application/json", strings.NewReader(`{"inputs": ["`+text+`"]}`))
		if err != nil || resp.StatusCode != 200 {
			t.Fatal(err, resp.StatusCode)
		}
		resp.Body.Close()
	}
	hs.Close()
	s.Close()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	repo, err := s3.Open(t.Context(), "s3://logs/serve/a", s3test.Options(endpoint))
	if err != nil {
		t.Fatal(err)
	}
	names, rows, header := objects(t, repo)
	if len(names) < 3 {
		t.Errorf("%d objects %v; rolling at 2 rows should make at least 3", len(names), names)
	}
	for _, n := range names {
		if !strings.HasPrefix(n, "predictions-") || !strings.HasSuffix(n, ".parquet") {
			t.Errorf("object %q", n)
		}
	}
	if got := strings.Join(header, ","); got != "time,model_version,latency_ms,request_id,request_row,text,input_label,prob_ham,prob_spam,label,stage" {
		t.Fatalf("header %s", got)
	}
	var texts []string
	for _, r := range rows {
		texts = append(texts, r[5])
		if r[1] != "7" || r[6] != "" || r[10] != "cheap" {
			t.Errorf("row %v", r)
		}
		if r[5] == want[3] && (r[8] != "0.61" || r[9] != "spam") {
			t.Errorf("row %v: want p(spam) 0.61, spam", r)
		}
	}
	slices.Sort(texts)
	if !slices.Equal(texts, want) {
		t.Errorf("rows %v, want %v", texts, want)
	}
	if s := spooled(t, spool); len(s) != 0 {
		t.Errorf("spool not empty: %v", s)
	}
	if got := counterValue(l.uploaded); got != float64(len(names)) {
		t.Errorf("uploaded %v, %d objects", got, len(names))
	}
	if got := counterValue(l.errs); got != 0 {
		t.Errorf("errors %v", got)
	}
}

// An endpoint nothing listens on: requests are all answered, every row is
// written to the spool, the failures are counted, Close does not hang and
// says where the files are; a server started later with a reachable
// endpoint and the same spool uploads them.
func TestPredlogS3UnreachableEndpoint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	spool := t.TempDir()
	l, err := New(Options{Dir: "s3://logs/serve", S3: s3test.Options(dead), Spool: spool,
		RollRows: 2, FlushRows: 1, UploadBackoff: 10 * time.Millisecond, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	s, err := serve.New(lenModel{}, "7", serve.Options{Log: l})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	for i := range 6 {
		resp, err := http.Post(hs.URL+"/invocations", "application/json", strings.NewReader(fmt.Sprintf(`{"inputs": ["r%d"]}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"label":"ham"`)) {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, b)
		}
	}
	hs.Close()
	s.Close()
	err = logTexts(t, l)
	if err == nil || !strings.Contains(err.Error(), "kept in "+spool) || !strings.Contains(err.Error(), "s3://logs/serve") {
		t.Fatalf("Close: %v; want the files kept in %s", err, spool)
	}
	if got := counterValue(l.rows); got != 6 {
		t.Errorf("rows %v, want 6", got)
	}
	if got := counterValue(l.dropped); got != 0 {
		t.Errorf("dropped %v, want 0", got)
	}
	if got := counterValue(l.errs); got < 3 {
		t.Errorf("errors %v, want at least the 3 attempts of one file", got)
	}
	left := spooled(t, spool)
	if len(left) != 3 {
		t.Errorf("spool holds %v, want 3 files of 2 rows", left)
	}
	_, rows, _ := readDir(t, spool)
	if len(rows) != 6 {
		t.Errorf("spooled files hold %d rows, want 6", len(rows))
	}

	t.Run("recovered", func(t *testing.T) {
		endpoint := s3test.Start(t)
		s3test.CreateBucket(t, endpoint, "logs")
		l, err := New(Options{Dir: "s3://logs/serve", S3: s3test.Options(endpoint), Spool: spool, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		if err := logTexts(t, l); err != nil {
			t.Fatal(err)
		}
		repo, _ := s3.Open(t.Context(), "s3://logs/serve", s3test.Options(endpoint))
		names, rows, _ := objects(t, repo)
		if !slices.Equal(names, left) || len(rows) != 6 {
			t.Errorf("objects %v with %d rows; want %v with 6", names, len(rows), left)
		}
		if s := spooled(t, spool); len(s) != 0 {
			t.Errorf("spool not empty: %v", s)
		}
	})
}

// An endpoint that accepts connections and never answers: each try ends at
// UploadTimeout and Close at CloseTimeout, with the file kept in the spool.
func TestPredlogS3HangingEndpoint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never read or answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	spool := t.TempDir()
	l, err := New(Options{Dir: "s3://logs/serve", S3: s3test.Options("http://" + ln.Addr().String()), Spool: spool,
		FlushRows: 1, UploadAttempts: 2, UploadBackoff: time.Millisecond,
		UploadTimeout: 100 * time.Millisecond, CloseTimeout: 300 * time.Millisecond, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	err = logTexts(t, l, "a", "b")
	if err == nil || !strings.Contains(err.Error(), "1 file(s) not uploaded") {
		t.Fatalf("Close: %v; want 1 file kept", err)
	}
	if left := spooled(t, spool); len(left) != 1 {
		t.Errorf("spool holds %v, want 1 file", left)
	}
	if got := counterValue(l.errs); got < 1 {
		t.Errorf("errors %v, want the timed-out tries counted", got)
	}
}

func TestPredlogDestinationErrors(t *testing.T) {
	if _, err := New(Options{Dir: "gs://bucket/x"}); err == nil || !strings.Contains(err.Error(), "s3://bucket/prefix") {
		t.Errorf("gs://: %v", err)
	}
	if _, err := New(Options{Dir: "s3://"}); err == nil {
		t.Error("s3:// with no bucket: no error")
	}
}
