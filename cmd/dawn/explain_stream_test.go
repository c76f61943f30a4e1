package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/dawn-ml/dawn/explain/stream"
	"github.com/dawn-ml/dawn/internal/shareddata"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// plantedCSV: three attributes; from row `change` on, a=a3, b=b7 runs hot.
func plantedRows(rows, change int, line func(a, b, c string, m float64)) {
	rnd := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < rows; i++ {
		ai, bi := rnd.IntN(10), rnd.IntN(20)
		m := 100 + 10*rnd.NormFloat64()
		if i >= change && ai == 3 && bi == 7 {
			m = 200 + 10*rnd.Float64()
		}
		line(fmt.Sprintf("a%d", ai), fmt.Sprintf("b%d", bi), fmt.Sprintf("c%d", rnd.IntN(5)), m)
	}
}

type emission struct {
	Rows         int64 `json:"rows"`
	Final        bool  `json:"final"`
	Explanations []struct {
		Values map[string]string `json:"values"`
	} `json:"explanations"`
}

// planted reports whether an explanation names the planted segment (its
// pair, or one of its items when MacroBase's minimality stops there).
func planted(em emission) bool {
	for _, e := range em.Explanations {
		if e.Values["a"] == "a3" || e.Values["b"] == "b7" {
			return true
		}
	}
	return false
}

func TestExplainStreamStdinPlantedSegment(t *testing.T) {
	const rows, change, period = 80000, 40000, 10000
	var in strings.Builder
	in.WriteString("a,b,c,m\n")
	plantedRows(rows, change, func(a, b, c string, m float64) { fmt.Fprintf(&in, "%s,%s,%s,%.3f\n", a, b, c, m) })
	code, out, stderr := runCLI(t, in.String(), "explain", "--stream", "--percentile", "m:0.99", "--tail", "high", "--attrs", "a,b,c",
		"--min-support", "0.2", "--min-ratio", "10", "--period", "10000", "--decay", "0.5", "--decay-every", "10000", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	first := int64(-1)
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var em emission
		if err := json.Unmarshal([]byte(l), &em); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		n++
		if em.Rows <= change && len(em.Explanations) > 0 {
			t.Errorf("reported before the change at row %d: %+v", em.Rows, em.Explanations)
		}
		if planted(em) && first < 0 {
			first = em.Rows
		}
	}
	if n != rows/period+1 {
		t.Errorf("%d emissions, want %d", n, rows/period+1)
	}
	if first < 0 || first > change+2*period {
		t.Fatalf("planted segment first reported at row %d (change at %d, period %d)", first, change, period)
	}
}

func TestExplainStreamNATS(t *testing.T) {
	srv, url, err := stream.StartEmbedded(0, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"explain", "--stream", "--subject", "sensors", "--nats", url, "--outlier", "m > 150",
			"--attrs", "a,b,c", "--min-support", "0.2", "--min-ratio", "10", "--period", "5000", "--json"}, &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb})
	}()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for { // until dawn has made its stream
		if _, err := js.Stream(ctx, stream.StreamName("sensors")); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("no stream")
		case <-time.After(10 * time.Millisecond):
		}
	}
	plantedRows(20000, 10000, func(a, b, c string, m float64) {
		msg, _ := json.Marshal(map[string]any{"a": a, "b": b, "c": c, "m": m})
		if _, err := js.PublishAsync("sensors", msg); err != nil {
			t.Fatal(err)
		}
	})
	if _, err := js.Publish(ctx, "sensors", nil); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var ems []emission
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var em emission
		if err := json.Unmarshal([]byte(l), &em); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		ems = append(ems, em)
	}
	if len(ems) != 5 || ems[0].Rows != 5000 || !ems[4].Final || ems[4].Rows != 20000 {
		t.Fatalf("emissions: %+v", ems)
	}
	if len(ems[0].Explanations)+len(ems[1].Explanations) > 0 || !planted(ems[2]) {
		t.Errorf("planted segment: %+v", ems)
	}
}

func TestExplainStreamBadInput(t *testing.T) {
	for _, tc := range []struct {
		in   string
		args []string
		code int
		msg  string
	}{
		{"a,m\nx,1\n", []string{"--mad", "m", "--metric", "global_ratio"}, 2, "corrected risk ratio"},
		{"a,m\nx,1\n", []string{"--mad", "m", "--warmup", "1"}, 2, "warm-up of 1 rows"},
		{"a,m\nx,1\n", []string{"--outlier", "m > 1", "--retrain", "10"}, 2, "apply to --mad and --mcd"},
		{"a,m\nx,abc\n", []string{"--mcd", "m,m"}, 1, `csv line 2: metric "abc" is not a number`},
		{"a,m\nx,1\n", []string{"--outlier", "q > 1"}, 1, `no column "q"`},
		{"a,m\nx,abc\n", []string{"--outlier", "m > 1"}, 1, `csv line 2: metric "abc" is not a number`},
		{"{\"a\":\"x\",\"m\":\"zz\"}\n", []string{"--outlier", "m > 1"}, 1, "json line 1"},
		{"", []string{"--outlier", "m > 1"}, 1, "empty input"},
	} {
		code, _, stderr := runCLI(t, tc.in, append([]string{"explain", "--stream", "--attrs", "a"}, tc.args...)...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: exit %d %q, want %d %q", tc.args, code, stderr, tc.code, tc.msg)
		}
	}
}

// readMacroBase returns a MacroBase test file's text (gunzipped).
func readMacroBase(t *testing.T, rel string) string {
	return string(shareddata.ReadFile(t, "macrobase", rel))
}

// MacroBase's BasicOneShotEWStreamingPipelineTest cases, with its settings
// (target percentile 0.99, min ratio 1, seed 0, decay 0.01, model and
// summary periods = --retrain and --decay-every, both reservoirs
// --reservoir, item summaries of 1,000), through the CLI's classic
// streaming pipeline.
func TestExplainStreamMacroBaseClassic(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		args       []string
		want       []map[string]string // the expected itemsets, in order; nil: not checked
		wantCount  int
	}{
		{"simple MAD", "legacy/simple.csv", []string{"--mad", "A5", "--low-metric", "--attrs", "A1,A2,A3,A4", "--min-support", "0.02",
			"--warmup", "10", "--retrain", "50", "--decay-every", "50", "--reservoir", "10"}, []map[string]string{{"A1": "0"}}, 1},
		{"simple MCD", "legacy/simple.csv", []string{"--mcd", "A4,A5", "--low-metric", "--attrs", "A1,A2,A3", "--min-support", "0.05",
			"--warmup", "30", "--retrain", "50", "--decay-every", "50", "--reservoir", "10"}, []map[string]string{{"A1": "0"}}, 1},
		{"sensor10k power", "legacy/sensor10k.csv.gz", []string{"--mad", "power_drain", "--attrs", "device_id", "--min-support", "0.01",
			"--warmup", "100", "--retrain", "1000", "--decay-every", "1000", "--reservoir", "1000"}, []map[string]string{{"device_id": "2040"}}, 1},
		{"sensor10k temperature", "legacy/sensor10k.csv.gz", []string{"--mad", "temperature", "--low-metric", "--attrs", "device_id,model,firmware_version",
			"--min-support", "0.06", "--warmup", "100", "--retrain", "1000", "--decay-every", "1000", "--reservoir", "1000"}, nil, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"explain", "--stream", "--min-ratio", "1", "--decay", "0.01", "--sketch-size", "1000", "--period", "0", "--json"}, tc.args...)
			code, out, stderr := runCLI(t, readMacroBase(t, tc.file), args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var em emission
			if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &em); err != nil {
				t.Fatal(err)
			}
			if !em.Final || len(em.Explanations) != tc.wantCount {
				t.Fatalf("got %+v, want %d itemsets", em, tc.wantCount)
			}
			for i, w := range tc.want {
				if fmt.Sprint(em.Explanations[i].Values) != fmt.Sprint(w) {
					t.Errorf("itemset %d = %v, want %v", i, em.Explanations[i].Values, w)
				}
			}
			if tc.want == nil { // MacroBase checks the third: {model=M101, firmware_version=0.4}
				if got := em.Explanations[2].Values; fmt.Sprint(got) != fmt.Sprint(map[string]string{"model": "M101", "firmware_version": "0.4"}) {
					t.Errorf("third itemset %v", got)
				}
			}
		})
	}
}
