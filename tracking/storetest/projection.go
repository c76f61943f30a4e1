package storetest

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/tracking"
)

// RunProjection checks SearchRuns with a Projection and RunKeys against
// hand-written answers. Experiment A holds r0 (start 100: params a=1 b=2,
// metrics m1=0.5 m2=1, tag t1=x), r1 (start 200: params a=3 c=4, metric
// m2=2, tag t2=y) and r2 (start 300, nothing logged); experiment B holds
// one run with param z, which A's keys must not show.
func RunProjection(t *testing.T, s tracking.Store) {
	t.Helper()
	ctx := t.Context()
	expA, err := s.CreateExperiment(ctx, unique("projection-a"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	expB, err := s.CreateExperiment(ctx, unique("projection-b"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	f := func(v float64) tracking.Float { return tracking.Float(v) }
	logged := []struct {
		params  []tracking.Param
		metrics []tracking.Metric
		tags    []tracking.Tag
	}{
		{[]tracking.Param{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}},
			[]tracking.Metric{{Key: "m1", Value: f(0.5), Timestamp: 1, Step: 1}, {Key: "m2", Value: f(1), Timestamp: 1}},
			[]tracking.Tag{{Key: "t1", Value: "x"}}},
		{[]tracking.Param{{Key: "a", Value: "3"}, {Key: "c", Value: "4"}},
			[]tracking.Metric{{Key: "m2", Value: f(2), Timestamp: 1}},
			[]tracking.Tag{{Key: "t2", Value: "y"}}},
		{},
	}
	ids := make([]string, len(logged))
	for i, l := range logged {
		r, err := s.CreateRun(ctx, tracking.NewRun{ExperimentID: expA, RunName: "r" + strconv.Itoa(i), StartTime: int64(100 * (i + 1))})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = r.Info.RunID
		if err := s.LogBatch(ctx, r.Info.RunID, l.metrics, l.params, l.tags); err != nil {
			t.Fatal(err)
		}
	}
	rb, err := s.CreateRun(ctx, tracking.NewRun{ExperimentID: expB, RunName: "other", StartTime: 100})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.LogBatch(ctx, rb.Info.RunID, nil, []tracking.Param{{Key: "z", Value: "9"}}, nil); err != nil {
		t.Fatal(err)
	}

	// data renders a run's Data as "p:a=1 m:m2=1 t:t1=x", kinds in that
	// order, keys sorted within each.
	data := func(r tracking.Run) string {
		var out []string
		for _, p := range r.Data.Params {
			out = append(out, "p:"+p.Key+"="+p.Value)
		}
		for _, m := range r.Data.Metrics {
			v := float64(m.Value)
			s := strconv.FormatFloat(v, 'g', -1, 64)
			if math.IsNaN(v) {
				s = "NaN"
			}
			out = append(out, "m:"+m.Key+"="+s)
		}
		for _, tg := range r.Data.Tags {
			out = append(out, "t:"+tg.Key+"="+tg.Value)
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	order := func(o string) []tracking.OrderBy {
		if o == "" {
			return nil
		}
		ob, err := tracking.ParseRunOrderBy([]string{o})
		if err != nil {
			t.Fatal(err)
		}
		return ob
	}
	for _, tc := range []struct {
		name  string
		order string
		proj  *tracking.Projection
		want  []string // per run: r2, r1, r0 (by start time) or r1, r0, r2 (by m2)
	}{
		{"nil loads everything", "", nil, []string{
			"t:mlflow.runName=r2",
			"m:m2=2 p:a=3 p:c=4 t:mlflow.runName=r1 t:t2=y",
			"m:m1=0.5 m:m2=1 p:a=1 p:b=2 t:mlflow.runName=r0 t:t1=x"}},
		{"one key of each kind", "", &tracking.Projection{Params: []string{"a"}, Metrics: []string{"m2"}, Tags: []string{"t1", "mlflow.runName"}}, []string{
			"t:mlflow.runName=r2",
			"m:m2=2 p:a=3 t:mlflow.runName=r1",
			"m:m2=1 p:a=1 t:mlflow.runName=r0 t:t1=x"}},
		{"empty lists load nothing", "", &tracking.Projection{}, []string{"", "", ""}},
		{"unknown keys load nothing", "", &tracking.Projection{Params: []string{"nope"}, Metrics: []string{"nope"}, Tags: []string{"nope"}}, []string{"", "", ""}},
		{"metrics only", "", &tracking.Projection{Metrics: []string{"m1", "m2"}}, []string{"", "m:m2=2", "m:m1=0.5 m:m2=1"}},
		// Sorting by a metric that is not projected still orders by it:
		// r1 (m2=2), r0 (m2=1), then r2 without m2.
		{"ordered by an unprojected metric", "metrics.m2 DESC", &tracking.Projection{Params: []string{"b"}}, []string{"", "p:b=2", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tracking.RunQuery{ExperimentIDs: []string{expA}, Project: tc.proj}
			q.MaxResults, q.OrderBy = 10, order(tc.order)
			runs, _, err := s.SearchRuns(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			wantIDs := []string{ids[2], ids[1], ids[0]}
			if tc.order != "" {
				wantIDs = []string{ids[1], ids[0], ids[2]}
			}
			var gotIDs, got []string
			for _, r := range runs {
				gotIDs = append(gotIDs, r.Info.RunID)
				got = append(got, data(r))
			}
			if !slices.Equal(gotIDs, wantIDs) {
				t.Fatalf("runs %v, want %v", gotIDs, wantIDs)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("data\n got %q\nwant %q", got, tc.want)
			}
		})
	}
	t.Run("too many keys", func(t *testing.T) {
		keys := make([]string, tracking.MaxProjectionKeys+1)
		for i := range keys {
			keys[i] = "k" + strconv.Itoa(i)
		}
		q := tracking.RunQuery{ExperimentIDs: []string{expA}, Project: &tracking.Projection{Params: keys}}
		q.MaxResults = 10
		_, _, err := s.SearchRuns(ctx, q)
		var he *tracking.Error
		if !errors.As(err, &he) || he.Status != 400 {
			t.Fatalf("got %v, want a 400 error", err)
		}
	})

	keys := func(ks *tracking.RunKeys) string {
		return "params " + strings.Join(ks.Params, " ") + "; metrics " + strings.Join(ks.Metrics, " ") + "; tags " + strings.Join(ks.Tags, " ") +
			"; runs " + strconv.Itoa(ks.Runs) + " sampled " + strconv.FormatBool(ks.Sampled)
	}
	for _, tc := range []struct {
		name        string
		exps        []string
		runs, limit int
		want        string
	}{
		{"every run", []string{expA}, 1000, 100, "params a b c; metrics m1 m2; tags mlflow.runName t1 t2; runs 3 sampled false"},
		{"cut at limit", []string{expA}, 1000, 1, "params a; metrics m1; tags mlflow.runName; runs 3 sampled false"},
		// The two newest runs are r2 and r1: r0's b, m1 and t1 are not seen.
		{"newest two runs", []string{expA}, 2, 100, "params a c; metrics m2; tags mlflow.runName t2; runs 2 sampled true"},
		{"other experiment", []string{expB}, 1000, 100, "params z; metrics ; tags mlflow.runName; runs 1 sampled false"},
		{"both experiments", []string{expA, expB}, 1000, 100, "params a b c z; metrics m1 m2; tags mlflow.runName t1 t2; runs 4 sampled false"},
		{"no experiments", nil, 1000, 100, "params ; metrics ; tags ; runs 0 sampled false"},
	} {
		t.Run("RunKeys/"+tc.name, func(t *testing.T) {
			ks, err := s.RunKeys(ctx, tc.exps, tc.runs, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if got := keys(ks); got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	for _, bad := range [][2]int{{0, 10}, {tracking.MaxRunKeysRuns + 1, 10}, {10, 0}} {
		if _, err := s.RunKeys(ctx, []string{expA}, bad[0], bad[1]); err == nil {
			t.Errorf("RunKeys(runs %d, limit %d): no error", bad[0], bad[1])
		}
	}
}
