package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dawn-ml/dawn/artifact/s3"
	"github.com/dawn-ml/dawn/artifact/s3/s3test"
	dawndata "github.com/dawn-ml/dawn/data"
)

// syncBuffer is a bytes.Buffer safe for a server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// writeSpamCSV writes n synthetic comments: spam when they hold "buy" or
// "subscribe".
func writeSpamCSV(t *testing.T, path string, n int, seed uint64) {
	t.Helper()
	words := strings.Fields("the a video song love great nice channel check out my please watch like this is so good wow")
	r := rand.New(rand.NewPCG(seed, 1))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.Write([]string{"text", "label"})
	for i := 0; i < n; i++ {
		ws := make([]string, 3+r.IntN(8))
		for j := range ws {
			ws[j] = words[r.IntN(len(words))]
		}
		label := "ham"
		if r.IntN(3) == 0 {
			ws[r.IntN(len(ws))] = []string{"buy", "subscribe"}[r.IntN(2)]
			label = "spam"
		}
		w.Write([]string{strings.Join(ws, " "), label})
	}
	w.Flush()
	f.Close()
}

func TestServeAndCascadeCommands(t *testing.T) {
	dir := t.TempDir()
	train, test := filepath.Join(dir, "train.csv"), filepath.Join(dir, "test.csv")
	writeSpamCSV(t, train, 800, 1)
	writeSpamCSV(t, test, 50, 2)
	ref := filepath.Join(dir, "ref")
	if code, _, errs := runDawn(t, "train", "--data", train, "--target", "label", "--text", "text", "--char-ngrams", "2-4", "--out", ref); code != 0 {
		t.Fatalf("train: %s", errs)
	}
	casc := filepath.Join(dir, "cascade")
	spec := filepath.Join(dir, "cheap.yaml")
	if err := os.WriteFile(spec, []byte("candidates:\n  - parts:\n      - kind: logreg\n        ngrams: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runDawn(t, "cascade", "build", "--reference", ref, "--data", train, "--text", "text",
		"--cheap-spec", spec, "--target-accuracy", "0.97", "--out", casc, "--seed", "3", "--json")
	if code != 0 {
		t.Fatalf("cascade build: %s", errs)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("build --json: %v\n%s", err, out)
	}
	for _, k := range []string{"agreement", "reference_fraction", "expected_speedup", "low", "high"} {
		if _, ok := rep[k]; !ok {
			t.Errorf("build --json lacks %q", k)
		}
	}
	if rep["agreement"].(float64) < 0.97 {
		t.Errorf("agreement %v", rep["agreement"])
	}

	// dawn predict on the cascade writes a stage column.
	pred := filepath.Join(dir, "pred.csv")
	if code, _, errs := runDawn(t, "predict", "--model", casc, "--data", test, "--out", pred); code != 0 {
		t.Fatalf("predict: %s", errs)
	}
	pf, _ := os.Open(pred)
	rows, err := csv.NewReader(pf).ReadAll()
	pf.Close()
	if err != nil || len(rows) != 51 {
		t.Fatalf("predict output: %v, %d rows", err, len(rows))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	if _, ok := col["stage"]; !ok {
		t.Fatalf("no stage column: %v", rows[0])
	}

	code, out, errs = runDawn(t, "cascade", "eval", "--model", casc, "--reference", ref, "--data", test, "--json")
	if code != 0 || !strings.Contains(out, `"speedup"`) || !strings.Contains(out, `"agreement"`) {
		t.Fatalf("cascade eval: %d %s %s", code, out, errs)
	}

	// dawn serve answers the same as dawn predict, row by row.
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--model", casc, "--port", "0"}, &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: stderr})
	}()
	addrRE := regexp.MustCompile(`addr=(http://[0-9.:]+)`)
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		cancel()
		t.Fatalf("server did not start: %s", stderr.String())
	}
	var records []map[string]string
	for _, r := range rows[1:] {
		records = append(records, map[string]string{"text": r[col["text"]]})
	}
	body, _ := json.Marshal(map[string]any{"dataframe_records": records})
	resp, err := http.Post(url+"/invocations", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Predictions []map[string]any `json:"predictions"`
	}
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if len(got.Predictions) != 50 {
		t.Fatalf("%d predictions", len(got.Predictions))
	}
	for i, p := range got.Predictions {
		r := rows[i+1]
		if p["label"] != r[col["label"]] || p["stage"] != r[col["stage"]] {
			t.Errorf("row %d: serve %v/%v, predict %s/%s", i, p["label"], p["stage"], r[col["label"]], r[col["stage"]])
		}
		for _, c := range []string{"prob_ham", "prob_spam"} {
			want, _ := strconv.ParseFloat(r[col[c]], 64)
			if math.Abs(p[c].(float64)-want) > 1e-12 {
				t.Errorf("row %d %s: serve %v, predict %v", i, c, p[c], want)
			}
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not shut down")
	}
}

func TestServeAndCascadeUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"serve"},
		{"serve", "--model", "models:/spam@prod", "--tracking-uri", ""},
		{"serve", "--model", "models:/spam"},
		{"cascade", "build", "--reference", "http://127.0.0.1:1", "--data", "x.csv", "--out", "o"},
		{"cascade", "build", "--reference", "http://127.0.0.1:1", "--data", "x.csv", "--out", "o", "--text", "t", "--cheap", "linreg"},
		{"cascade", "eval", "--model", "m"},
		{"cascade", "nope"},
	} {
		t.Run(fmt.Sprint(args), func(t *testing.T) {
			t.Setenv("MLFLOW_TRACKING_URI", "")
			if code, _, errs := runDawn(t, args...); code != 2 {
				t.Errorf("exit %d, want 2: %s", code, errs)
			}
		})
	}
	if code, _, errs := runDawn(t, "serve", "--model", filepath.Join(t.TempDir(), "missing")); code != 1 || !strings.Contains(errs, "MLmodel") {
		t.Errorf("missing model dir: exit %d: %s", code, errs)
	}
}

// startServe runs `dawn serve ARGS --port 0` in process and returns its URL
// and a function that stops it and checks it exited 0.
func startServe(t *testing.T, args ...string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append(append([]string{"serve"}, args...), "--port", "0"), &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: stderr})
	}()
	addrRE := regexp.MustCompile(`addr=(http://[0-9.:]+)`)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			return m[1], func() {
				cancel()
				select {
				case code := <-done:
					if code != 0 {
						t.Errorf("serve exited %d: %s", code, stderr.String())
					}
				case <-time.After(10 * time.Second):
					t.Error("serve did not shut down")
				}
			}
		}
	}
	cancel()
	t.Fatalf("server did not start: %s", stderr.String())
	return "", nil
}

// A label model directory serves too, with abstentions as null labels, and
// the answers equal dawn predict's.
func TestServeLabelModel(t *testing.T) {
	dir := t.TempDir()
	data := "../../label/testdata/comments.csv"
	mdir := filepath.Join(dir, "lm")
	if code, _, errs := runDawn(t, "label", "run", "--lfs", "../../label/testdata/lfs.yaml", "--data", data,
		"--out", filepath.Join(dir, "labels.csv"), "--method", "majority", "--model-out", mdir); code != 0 {
		t.Fatalf("label run: %s", errs)
	}
	pred := filepath.Join(dir, "pred.csv")
	if code, _, errs := runDawn(t, "predict", "--model", mdir, "--data", data, "--out", pred); code != 0 {
		t.Fatalf("predict: %s", errs)
	}
	pf, _ := os.Open(pred)
	rows, err := csv.NewReader(pf).ReadAll()
	pf.Close()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	url, stop := startServe(t, "--model", mdir)
	defer stop()
	body, _ := os.ReadFile(data)
	resp, err := http.Post(url+"/invocations", "text/csv", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Predictions []map[string]any `json:"predictions"`
	}
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(got.Predictions) != len(rows)-1 {
		t.Fatalf("status %d, %d predictions for %d rows", resp.StatusCode, len(got.Predictions), len(rows)-1)
	}
	abstained := 0
	for i, p := range got.Predictions {
		want := rows[i+1][col["label"]]
		label, _ := p["label"].(string)
		if p["label"] == nil {
			abstained++
		}
		if label != want {
			t.Errorf("row %d: serve label %v, predict %q", i, p["label"], want)
		}
	}
	if abstained == 0 {
		t.Logf("no abstentions in the fixture")
	}
}

// dawn serve --log-dir s3://BUCKET/PREFIX with the endpoint and credentials
// from the environment: after a graceful stop every answered row is in the
// objects under the prefix and the spool is empty.
func TestServePredlogS3(t *testing.T) {
	endpoint := s3test.Start(t)
	s3test.CreateBucket(t, endpoint, "plogs")
	t.Setenv("AWS_ENDPOINT_URL_S3", endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", s3test.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)
	dir := t.TempDir()
	data := "../../label/testdata/comments.csv"
	mdir := filepath.Join(dir, "lm")
	if code, _, errs := runDawn(t, "label", "run", "--lfs", "../../label/testdata/lfs.yaml", "--data", data,
		"--out", filepath.Join(dir, "labels.csv"), "--method", "majority", "--model-out", mdir); code != 0 {
		t.Fatalf("label run: %s", errs)
	}
	spool := filepath.Join(dir, "spool")
	url, stop := startServe(t, "--model", mdir, "--log-dir", "s3://plogs/serve/spam", "--log-spool", spool, "--log-roll-rows", "3")
	body, _ := os.ReadFile(data)
	var answered int
	for range 2 {
		resp, err := http.Post(url+"/invocations", "text/csv", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Predictions []map[string]any `json:"predictions"`
		}
		json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		answered += len(got.Predictions)
	}
	stop()

	repo, err := s3.Open(t.Context(), "s3://plogs/serve/spam", s3test.Options(endpoint))
	if err != nil {
		t.Fatal(err)
	}
	ents, err := repo.List(t.Context(), "")
	if err != nil || len(ents) == 0 {
		t.Fatalf("no objects: %v", err)
	}
	rows := 0
	for _, e := range ents {
		rc, _, err := repo.Open(t.Context(), e.Path)
		if err != nil {
			t.Fatal(err)
		}
		local := filepath.Join(dir, e.Path)
		f, _ := os.Create(local)
		io.Copy(f, rc)
		f.Close()
		rc.Close()
		r, err := dawndata.Open(local, dawndata.Options{})
		if err != nil {
			t.Fatalf("%s: %v", e.Path, err)
		}
		if i := r.Schema().FieldIndices("model_version"); len(i) != 1 {
			t.Fatalf("%s: no model_version column: %v", e.Path, r.Schema())
		}
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			rows += int(rec.NumRows())
			rec.Release()
		}
		r.Close()
	}
	if rows != answered || answered == 0 {
		t.Errorf("%d rows in %d objects, %d answered", rows, len(ents), answered)
	}
	if left, _ := os.ReadDir(spool); len(left) != 0 {
		t.Errorf("spool not empty: %d entries", len(left))
	}
}
