package web

import (
	"encoding/json"
	"math"
	"net/url"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/dawn-ml/dawn/tracking"
)

func TestLTTB(t *testing.T) {
	cases := []struct {
		name      string
		x, y      []float64
		threshold int
		want      []int
	}{
		// 7 points, threshold 4: two buckets of 2.5 points each
		// (every = 5/2): bucket 1 is indices 1..2, bucket 2 is 3..5.
		// Bucket 1 against point 0 (0,0) and the average of 3..5
		// (4, 2/3): index 2 (2,5) spans area |0-4|*5 - |0-2|*(2/3) = 18.67
		// against index 1's (1,1) 4*1-1*(2/3) = 3.33. Bucket 2 against
		// (2,5) and the last point (6,0): index 4 (4,-3) wins.
		{"hand", []float64{0, 1, 2, 3, 4, 5, 6}, []float64{0, 1, 5, 1, -3, 1, 0}, 4, []int{0, 2, 4, 6}},
		{"short", []float64{0, 1, 2}, []float64{1, 2, 3}, 10, []int{0, 1, 2}},
		{"threshold below 3", []float64{0, 1, 2, 3}, []float64{1, 2, 3, 4}, 2, []int{0, 1, 2, 3}},
	}
	for _, c := range cases {
		if got := LTTB(c.x, c.y, c.threshold); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	// A spike in a million flat points survives downsampling to 1,000.
	n := 1_000_000
	x, y := make([]float64, n), make([]float64, n)
	for i := range x {
		x[i] = float64(i)
		y[i] = math.Sin(float64(i) / 5000)
	}
	y[654321] = 50
	y[100] = math.NaN()
	idx := LTTB(x, y, 1000)
	if len(idx) != 1000 || idx[0] != 0 || idx[999] != n-1 {
		t.Fatalf("len %d first %d last %d", len(idx), idx[0], idx[len(idx)-1])
	}
	found := false
	for i, k := range idx {
		if i > 0 && k <= idx[i-1] {
			t.Fatalf("indices not increasing at %d", i)
		}
		found = found || k == 654321
		if k == 100 {
			t.Fatal("a NaN point won a bucket of finite points")
		}
	}
	if !found {
		t.Fatal("the spike was lost")
	}
}

func BenchmarkLTTB1M(b *testing.B) {
	n := 1_000_000
	x, y := make([]float64, n), make([]float64, n)
	for i := range x {
		x[i], y[i] = float64(i), math.Sin(float64(i)/777)
	}
	for b.Loop() {
		LTTB(x, y, 2000)
	}
}

func TestHistoryJSON(t *testing.T) {
	f := newFixture(t, nil, "")
	ctx := t.Context()
	id := f.runs["triplet"]
	var ms []tracking.Metric
	for i := range 5000 {
		ms = append(ms, tracking.Metric{Key: "curve", Value: tracking.Float(1 / float64(i+1)), Timestamp: tracking.Int64(10_000 + i), Step: tracking.Int64(i)})
		if len(ms) == tracking.MaxBatchMetrics {
			if err := f.store.LogBatch(ctx, id, ms, nil, nil); err != nil {
				t.Fatal(err)
			}
			ms = ms[:0]
		}
	}
	f.store.LogBatch(ctx, id, ms, nil, nil)
	code, body := f.get(t, "/data/history?runs="+id+","+f.runs["majority"]+"&key=curve&points=100")
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	var got struct {
		Series []struct {
			RunID             string
			Total             int
			Step, Time, Value []*float64
		}
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Series) != 2 || got.Series[0].Total != 5000 || len(got.Series[0].Step) != 100 || len(got.Series[0].Time) != 100 {
		t.Fatalf("series: %d, total %d, %d steps", len(got.Series), got.Series[0].Total, len(got.Series[0].Step))
	}
	// 5,000 points > 2 × 100: the store summarises 50 buckets of width
	// 4999/50+1 = 100 steps; bucket 0 (steps 0..99) has min 1/100 at its
	// first step's slot and max 1 at its last.
	s := got.Series[0]
	if *s.Step[0] != 0 || *s.Value[0] != 0.01 || *s.Step[1] != 99 || *s.Value[1] != 1 || *s.Step[99] != 4999 || *s.Time[99] != 14999 {
		t.Fatalf("first/last points: step %v value %v, step %v value %v, last step %v", *s.Step[0], *s.Value[0], *s.Step[1], *s.Value[1], *s.Step[99])
	}
	// Asking for more points than the history has returns every point exactly.
	_, body = f.get(t, "/data/history?runs="+id+"&key=curve&points=20000")
	exact := got
	exact.Series = nil
	json.Unmarshal([]byte(body), &exact)
	if s := exact.Series[0]; len(s.Step) != 5000 || *s.Value[0] != 1 || *s.Value[4999] != 1.0/5000 {
		t.Fatalf("exact history: %d points", len(s.Step))
	}
	if got.Series[1].Total != 0 || len(got.Series[1].Step) != 0 {
		t.Fatalf("second run has no curve, got %d points", got.Series[1].Total)
	}
	for _, q := range []string{"key=loss", "runs=" + id, "runs=" + id + "&key=loss&points=2", "runs=" + id + "&key=loss&points=x"} {
		if code, _ := f.get(t, "/data/history?"+q); code != 400 {
			t.Errorf("%s: %d, want 400", q, code)
		}
	}
	if code, _ := f.get(t, "/runs/"+id+"/chart?key="+url.QueryEscape("loss")); code != 200 {
		t.Errorf("chart page %d", code)
	}
}

// TestEMA runs static/smooth.js under node against hand-computed
// de-biased EMA values: weight 0.5 over 1, 2, 3 gives 0.5/0.5 = 1,
// (0.25+1)/0.75 = 1.6667, (0.625+1.5)/0.875 = 2.4286.
func TestEMA(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed; smooth.js is checked where it is")
	}
	js, _ := filepath.Abs("static/smooth.js")
	out, err := exec.CommandContext(t.Context(), node, "-e",
		`const s=require(process.argv[1]);console.log(JSON.stringify([s.ema([1,2,3],0.5),s.ema([1,null,3],0.5),s.ema([4,5],0)]))`, js).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v %s", err, out)
	}
	var got [][]*float64
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := [][]float64{{1, 1.25 / 0.75, 2.125 / 0.875}, {1, math.NaN(), 0.25 + 1.5}, {4, 5}}
	// With a gap: 1 → 1; null passes; 3 → (0.25+1.5)/(1-0.25) = 2.3333.
	want[1][2] = (0.25 + 1.5) / 0.75
	for i := range want {
		for j, w := range want[i] {
			g := got[i][j]
			if math.IsNaN(w) {
				if g != nil {
					t.Errorf("ema %d[%d]: got %v, want null", i, j, *g)
				}
				continue
			}
			if g == nil || math.Abs(*g-w) > 1e-12 {
				t.Errorf("ema %d[%d]: got %v, want %v", i, j, g, w)
			}
		}
	}
}
