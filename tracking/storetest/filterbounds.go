package storetest

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dawn-ml/dawn/tracking"
)

// testManyClauses is the repro of a search filter with many clauses (120
// took 17-20 s on PostgreSQL, 201 reached the 60 s deadline): a filter
// of tracking.MaxFilterClauses clauses over metrics, params and tags
// answers the hand-computed runs, and one clause more is refused with 400.
// Forty runs each carry metrics m0..m49, params p0..p24 and tags t0..t24;
// run i has m_k = i+k, so "m_k >= 30" keeps the runs i >= 30-k.
func testManyClauses(t *testing.T, c *Client) {
	exp := newExperiment(t, c)
	name := map[string]string{}
	const runs, nm, np = 40, 50, 25
	for i := range runs {
		r := obj(c.OK("POST", api+"runs/create", map[string]any{"experiment_id": exp, "run_name": fmt.Sprintf("r%d", i), "start_time": 1000 + i})["run"])
		id := str(obj(r["info"])["run_id"])
		name[id] = fmt.Sprintf("r%d", i)
		var metrics, params, tags []any
		for k := range nm {
			metrics = append(metrics, map[string]any{"key": fmt.Sprintf("m%d", k), "value": float64(i + k), "timestamp": 1, "step": 0})
		}
		for k := range np {
			params = append(params, map[string]any{"key": fmt.Sprintf("p%d", k), "value": fmt.Sprintf("v%d", i%2)})
			tags = append(tags, map[string]any{"key": fmt.Sprintf("t%d", k), "value": fmt.Sprintf("w%d", i%3)})
		}
		c.OK("POST", api+"runs/log-batch", map[string]any{"run_id": id, "metrics": metrics, "params": params, "tags": tags})
	}
	// Clauses: m0 >= 30 (runs 30..39) and m_k >= 30 for k < 50 (weaker),
	// p_k = 'v0' (even runs), t_k != 'w1' (runs not 1 mod 3), to the cap.
	var clauses []string
	for k := 0; len(clauses) < tracking.MaxFilterClauses; k++ {
		switch {
		case k < nm:
			clauses = append(clauses, fmt.Sprintf("metrics.m%d >= 30", k))
		case k < nm+np:
			clauses = append(clauses, fmt.Sprintf("params.p%d = 'v0'", k-nm))
		case k < nm+2*np:
			clauses = append(clauses, fmt.Sprintf("tags.t%d != 'w1'", k-nm-np))
		default:
			clauses = append(clauses, fmt.Sprintf("metrics.m%d < 1000", k%nm))
		}
	}
	filter := strings.Join(clauses, " AND ")
	start := time.Now()
	r := c.Do("POST", api+"runs/search", map[string]any{"experiment_ids": []string{exp}, "filter": filter})
	if r.Status != 200 {
		t.Fatalf("%d clauses: status %d: %.300s", len(clauses), r.Status, r.Raw)
	}
	b := r.Body
	t.Logf("%d clauses: %v", len(clauses), time.Since(start))
	var got []string
	for _, r := range list(b["runs"]) {
		got = append(got, name[str(obj(obj(r)["info"])["run_id"])])
	}
	// Even, >= 30, not 1 mod 3, newest first: 38 (2 mod 3), 36 (0), 32 (2), 30 (0); 34 is 1 mod 3.
	if want := "r38,r36,r32,r30"; strings.Join(got, ",") != want {
		t.Errorf("%d clauses: got %s, want %s", len(clauses), strings.Join(got, ","), want)
	}
	over := filter + " AND metrics.m0 >= 0"
	r = c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/search", map[string]any{"experiment_ids": []string{exp}, "filter": over})
	if !strings.Contains(string(r.Raw), fmt.Sprint(tracking.MaxFilterClauses)) {
		t.Errorf("the refusal does not name the limit: %s", string(r.Raw))
	}

	// Experiments and registered models, filtered by the most tag clauses:
	// one of each matches.
	var tagClauses []string
	for k := range tracking.MaxFilterClauses {
		tagClauses = append(tagClauses, fmt.Sprintf("tags.k%d = 'v'", k%10))
	}
	tagFilter := strings.Join(tagClauses, " AND ")
	var tags []any
	for k := range 10 {
		tags = append(tags, map[string]any{"key": fmt.Sprintf("k%d", k), "value": "v"})
	}
	e := str(c.OK("POST", api+"experiments/create", map[string]any{"name": "many-clauses", "tags": tags})["experiment_id"])
	c.OK("POST", api+"registered-models/create", map[string]any{"name": "many-clauses", "tags": tags})
	start = time.Now()
	got = nil
	for _, x := range list(c.OK("POST", api+"experiments/search", map[string]any{"filter": tagFilter, "max_results": 10})["experiments"]) {
		got = append(got, str(obj(x)["experiment_id"]))
	}
	t.Logf("experiments/search, %d tag clauses: %v", tracking.MaxFilterClauses, time.Since(start))
	if strings.Join(got, ",") != e {
		t.Errorf("experiments/search: got %v, want [%s]", got, e)
	}
	start = time.Now()
	got = nil
	for _, x := range list(c.OK("GET", api+"registered-models/search", url.Values{"filter": {tagFilter}})["registered_models"]) {
		got = append(got, str(obj(x)["name"]))
	}
	t.Logf("registered-models/search, %d tag clauses: %v", tracking.MaxFilterClauses, time.Since(start))
	if strings.Join(got, ",") != "many-clauses" {
		t.Errorf("registered-models/search: got %v, want [many-clauses]", got)
	}
}
