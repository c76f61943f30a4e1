package web

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

// TestAlignByStep joins two histories by hand: y at steps 0,1,1,2,4 and x
// at steps 1,2,2,3,4. Step 0 and 3 are in one only; at step 1 y's last
// point (7) counts, at step 2 x's last point (25); step 4's x is +Inf.
// Sorted by x: (25, 8) then (30, 7).
func TestAlignByStep(t *testing.T) {
	y := &history{step: []float64{0, 1, 1, 2, 4}, time: []float64{10, 11, 12, 13, 15}, value: []float64{5, 6, 7, 8, 9}}
	x := &history{step: []float64{1, 2, 2, 3, 4}, time: []float64{1, 2, 3, 4, 5}, value: []float64{30, 20, 25, 99, math.Inf(1)}, cut: true}
	got := alignByStep(y, x)
	want := &history{step: []float64{2, 1}, time: []float64{13, 12}, value: []float64{8, 7}, x: []float64{25, 30}, total: 2, cut: true}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if got := alignByStep(&history{}, x); got.total != 0 || len(got.x) != 0 {
		t.Fatalf("empty y: %+v", got)
	}
}

func TestHistoryAgainstAnotherMetric(t *testing.T) {
	f := newFixture(t, nil, "")
	id := f.runs["snorkel-1"]
	code, body := f.get(t, "/data/history?runs="+id+"&key=loss&x=accuracy")
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	var got struct {
		X      string
		Series []struct {
			Step, Value, X []float64
		}
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	// The fixture logs accuracy 0.84 and loss 0.41 at step 1.
	if got.X != "accuracy" || len(got.Series) != 1 || !reflect.DeepEqual(got.Series[0].X, []float64{0.84}) ||
		!reflect.DeepEqual(got.Series[0].Value, []float64{0.41}) || !reflect.DeepEqual(got.Series[0].Step, []float64{1}) {
		t.Fatalf("got %s", body)
	}
	if code, _ := f.get(t, "/data/history?runs="+id+"&key=loss&x=loss"); code != 400 {
		t.Errorf("x = key: %d, want 400", code)
	}
	// The run page's x axis picker offers the run's other metrics.
	_, page := f.get(t, "/runs/"+id+"/chart?key=loss")
	if !strings.Contains(page, `<option value="metric:accuracy">`) || strings.Contains(page, `<option value="metric:loss">`) {
		t.Errorf("x axis picker: want metric:accuracy and not metric:loss")
	}
}
