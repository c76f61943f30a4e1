package sqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/sqlstore"
	_ "modernc.org/sqlite"
)

// faultDriver wraps the SQLite driver: while armed, a query whose text
// contains the armed substring returns its first row and then fails, as a
// connection dropped mid-result would.
type faultDriver struct {
	inner   driver.Driver
	armed   atomic.Pointer[string]
	queries atomic.Int64 // queries sent, for query-count tests
}

var errInjected = errors.New("injected row-loop fault")

func (d *faultDriver) Open(name string) (driver.Conn, error) {
	c, err := d.inner.Open(name)
	if err != nil {
		return nil, err
	}
	return &faultConn{Conn: c, d: d}, nil
}

type faultConn struct {
	driver.Conn
	d *faultDriver
}

func (c *faultConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.d.queries.Add(1)
	rows, err := c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	if err != nil {
		return nil, err
	}
	if p := c.d.armed.Load(); p != nil && strings.Contains(query, *p) {
		return &faultRows{Rows: rows}, nil
	}
	return rows, nil
}

func (c *faultConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

func (c *faultConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

type faultRows struct {
	driver.Rows
	n int
}

func (r *faultRows) Next(dest []driver.Value) error {
	if r.n++; r.n > 1 {
		return errInjected
	}
	return r.Rows.Next(dest)
}

var registerOnce sync.Once
var fault = &faultDriver{}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRowLoopErrorIs500: a query failing part-way through its rows (the
// params, tags, metrics or inputs of runs/get and runs/search, the versions
// and aliases of registered-models/get) answers 500 INTERNAL_ERROR with the
// cause in the server log, instead of a run or model silently missing data.
// openFaulty opens a SQLite store whose reads go through faultDriver; w
// is the plain writer connection.
func openFaulty(tb testing.TB) (*sqlstore.Store, *sql.DB) {
	registerOnce.Do(func() {
		db, _ := sql.Open("sqlite", ":memory:")
		fault.inner = db.Driver()
		db.Close()
		sql.Register("sqlite-fault", fault)
	})
	path := filepath.Join(tb.TempDir(), "f.db")
	w, err := sql.Open("sqlite", path)
	if err != nil {
		tb.Fatal(err)
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite-fault", path)
	if err != nil {
		tb.Fatal(err)
	}
	store, err := sqlstore.New(context.Background(), w, r, sqlstore.SQLite, sqlstore.Options{}, r.Close, w.Close)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	return store, w
}

func TestRowLoopErrorIs500(t *testing.T) {
	store, _ := openFaulty(t)
	ctx := t.Context()
	exp, err := store.CreateExperiment(ctx, "faults", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	run, err := store.CreateRun(ctx, tracking.NewRun{ExperimentID: exp, StartTime: 1})
	if err != nil {
		t.Fatal(err)
	}
	id := run.Info.RunID
	if err := store.LogBatch(ctx, id, []tracking.Metric{{Key: "a", Value: 1, Timestamp: 1}, {Key: "b", Value: 2, Timestamp: 1}},
		[]tracking.Param{{Key: "p1", Value: "1"}, {Key: "p2", Value: "2"}}, []tracking.Tag{{Key: "t1", Value: "1"}, {Key: "t2", Value: "2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateRegisteredModel(ctx, tracking.RegisteredModel{Name: "m"}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := store.CreateModelVersion(ctx, tracking.ModelVersion{Name: "m", Source: "/tmp/x"}); err != nil {
			t.Fatal(err)
		}
	}
	store.SetRegisteredModelAlias(ctx, "m", "a", "1")
	store.SetRegisteredModelAlias(ctx, "m", "b", "2")
	var logs lockedBuffer
	srv := httptest.NewServer(tracking.NewHandler(tracking.Options{Store: store, Logger: slog.New(slog.NewTextHandler(&logs, nil))}))
	defer srv.Close()
	for _, tc := range []struct{ query, path string }{
		{"CROSS JOIN latest_metrics", "runs/get?" + url.Values{"run_id": {id}}.Encode()},
		{"FROM params", "runs/get?" + url.Values{"run_id": {id}}.Encode()},
		{"FROM tags", "runs/get?" + url.Values{"run_id": {id}}.Encode()},
		{"FROM model_versions", "registered-models/get?name=m"},
		{"FROM registered_model_aliases", "registered-models/get?name=m"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			res, err := http.Get(srv.URL + "/api/2.0/mlflow/" + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("unarmed: %d", res.StatusCode)
			}
			q := tc.query
			fault.armed.Store(&q)
			res, err = http.Get(srv.URL + "/api/2.0/mlflow/" + tc.path)
			fault.armed.Store(nil)
			if err != nil {
				t.Fatal(err)
			}
			var body struct {
				Code string `json:"error_code"`
			}
			jsonDecode(res, &body)
			if res.StatusCode != 500 || body.Code != "INTERNAL_ERROR" {
				t.Fatalf("row-loop fault in %q: %d %q, want 500 INTERNAL_ERROR", tc.query, res.StatusCode, body.Code)
			}
			if !strings.Contains(logs.String(), errInjected.Error()) {
				t.Fatalf("cause not logged: %s", logs.String())
			}
		})
	}
}

func jsonDecode(res *http.Response, v any) {
	defer res.Body.Close()
	json.NewDecoder(res.Body).Decode(v)
}

// modelWithVersions registers model name with n versions (tags on each,
// an alias on two), written straight into the tables for speed.
func modelWithVersions(tb testing.TB, store *sqlstore.Store, w *sql.DB, name string, n int) {
	tb.Helper()
	if _, err := store.CreateRegisteredModel(context.Background(), tracking.RegisteredModel{Name: name}); err != nil {
		tb.Fatal(err)
	}
	tx, _ := w.Begin()
	for v := 1; v <= n; v++ {
		stage := []string{"None", "Staging", "Production", "Archived"}[v%4]
		if _, err := tx.Exec(`INSERT INTO model_versions (name, version, creation_time, last_updated_time, current_stage, source) VALUES (?, ?, ?, ?, ?, ?)`,
			name, v, v, v, stage, "/models/x"); err != nil {
			tb.Fatal(err)
		}
		tx.Exec(`INSERT INTO model_version_tags (name, version, key, value) VALUES (?, ?, 'k', ?)`, name, v, fmt.Sprint(v))
	}
	tx.Exec(`INSERT INTO registered_model_aliases (name, alias, version) VALUES (?, 'champion', ?), (?, 'old', 1)`, name, n, name)
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

// TestRegisteredModelQueryCount: registered-models/get sends the same
// number of queries for 10 versions as for 2,000, and answers the newest
// version of each stage with its tags and aliases.
func TestRegisteredModelQueryCount(t *testing.T) {
	store, w := openFaulty(t)
	ctx := t.Context()
	counts := map[int]int64{}
	for _, n := range []int{10, 2000} {
		name := fmt.Sprintf("m%d", n)
		modelWithVersions(t, store, w, name, n)
		before := fault.queries.Load()
		m, err := store.GetRegisteredModel(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		counts[n] = fault.queries.Load() - before
		if len(m.LatestVersions) != 4 {
			t.Fatalf("%s: %d latest versions, want 4 (one per stage)", name, len(m.LatestVersions))
		}
		// Stage of version v is v%4: None, Staging, Production, Archived;
		// stages come in the order of their first version (1: Staging).
		wantStage := []string{"Staging", "Production", "Archived", "None"}
		var want []string
		for _, k := range []int{1, 2, 3, 0} {
			v := n
			for v%4 != k {
				v--
			}
			want = append(want, fmt.Sprint(v))
		}
		for i, v := range m.LatestVersions {
			if v.Version != want[i] || v.CurrentStage != wantStage[i] || len(v.Tags) != 1 || v.Tags[0].Value != v.Version {
				t.Fatalf("%s latest[%d] = %s %s %v, want %s %s with tag k=%s", name, i, v.Version, v.CurrentStage, v.Tags, want[i], wantStage[i], want[i])
			}
		}
		for _, v := range m.LatestVersions {
			if v.Version == fmt.Sprint(n) && (len(v.Aliases) != 1 || v.Aliases[0] != "champion") {
				t.Fatalf("%s: aliases of version %s = %v, want [champion]", name, v.Version, v.Aliases)
			}
		}
	}
	if counts[2000] != counts[10] || counts[10] > 8 {
		t.Fatalf("queries for registered-models/get: %d with 10 versions, %d with 2,000; want the same, at most 8", counts[10], counts[2000])
	}
}

// BenchmarkGetRegisteredModel2000 is registered-models/get over HTTP for a
// model with 2,000 versions (target: 20 ms).
func BenchmarkGetRegisteredModel2000(b *testing.B) {
	store, w := openFaulty(b)
	modelWithVersions(b, store, w, "big", 2000)
	srv := httptest.NewServer(tracking.NewHandler(tracking.Options{Store: store}))
	defer srv.Close()
	for b.Loop() {
		res, err := http.Get(srv.URL + "/api/2.0/mlflow/registered-models/get?name=big")
		if err != nil || res.StatusCode != 200 {
			b.Fatal(err, res)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
}
