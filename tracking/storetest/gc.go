package storetest

import (
	"net/url"
	"testing"
	"time"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/tracking"
)

// testGC deletes a run and an experiment, collects them and checks that
// their rows and artifacts are gone while live ones remain.
func testGC(t *testing.T, c *Client, store tracking.Store, repo artifact.Repo) {
	p, ok := store.(tracking.Purger)
	if !ok {
		t.Skip("store does not implement tracking.Purger")
	}
	exp := newExperiment(t, c)
	keep := newRun(t, c, exp)
	gone := newRun(t, c, exp)
	for _, r := range []string{keep, gone} {
		c.OK("POST", api+"runs/log-batch", map[string]any{"run_id": r, "metrics": []any{map[string]any{"key": "m", "value": 1, "timestamp": 1}},
			"params": []any{map[string]any{"key": "p", "value": "v"}}})
		if err := repo.Put(t.Context(), exp+"/"+r+"/artifacts/f.txt", stringsReader("x")); err != nil {
			t.Fatal(err)
		}
	}
	c.OK("POST", api+"runs/delete", map[string]any{"run_id": gone})
	exp2 := newExperiment(t, c)
	run2 := newRun(t, c, exp2)
	ds := newDataset(t, c, unique("gc-ds"), []string{exp, exp2}, "")
	c.OK("POST", api3+"scorers/register", map[string]any{"experiment_id": exp2, "name": "s", "serialized_scorer": "{}"})
	trace2 := "tr-gc-" + exp2
	startTraceV3(t, c, trace2, exp2, "2025-01-01T00:00:00Z", "1s", "OK", map[string]string{"k": "v"})
	c.OK("POST", api+"experiments/delete", map[string]any{"experiment_id": exp2})

	// Nothing is old enough yet.
	st, err := tracking.GC(t.Context(), p, tracking.GCOptions{OlderThan: time.Hour, Artifacts: repo, ExperimentIDs: []string{exp, exp2}})
	if err != nil || st.Runs != 0 {
		t.Fatalf("GC older than 1h: %+v, %v", st, err)
	}
	st, err = tracking.GC(t.Context(), p, tracking.GCOptions{DryRun: true, Artifacts: repo, ExperimentIDs: []string{exp, exp2}})
	if err != nil || st.Runs != 2 || st.Experiments != 1 {
		t.Fatalf("dry run: %+v, %v", st, err)
	}
	c.OK("GET", api+"runs/get", url.Values{"run_id": {gone}})
	st, err = tracking.GC(t.Context(), p, tracking.GCOptions{Artifacts: repo, ExperimentIDs: []string{exp, exp2}})
	if err != nil || st.Runs != 2 || st.Experiments != 1 || st.Artifacts != 1 {
		t.Fatalf("GC: %+v, %v", st, err)
	}
	c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", api+"runs/get", url.Values{"run_id": {gone}})
	c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", api+"runs/get", url.Values{"run_id": {run2}})
	c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", api+"experiments/get", url.Values{"experiment_id": {exp2}})
	c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", api3+"traces/"+trace2, nil)
	c.OK("GET", api+"runs/get", url.Values{"run_id": {keep}})
	// A purged experiment's dataset links go with it.
	ids := list(c.OK("GET", api3+"datasets/"+str(ds["dataset_id"])+"/experiment-ids", nil)["experiment_ids"])
	if len(ids) != 1 || str(ids[0]) != exp {
		t.Fatalf("dataset experiments after GC: %v, want [%s]", ids, exp)
	}
	if e, _ := repo.List(t.Context(), exp+"/"+gone+"/artifacts"); len(e) != 0 {
		t.Fatalf("artifacts of the collected run remain: %v", e)
	}
	if e, _ := repo.List(t.Context(), exp+"/"+keep+"/artifacts"); len(e) != 1 {
		t.Fatalf("artifacts of the live run: %v", e)
	}
	// A new run may reuse nothing of the old one: its history is empty.
	h := c.OK("GET", api+"metrics/get-history", url.Values{"run_id": {keep}, "metric_key": {"m"}})
	eq(t, "live history", len(list(h["metrics"])), 1)
}
