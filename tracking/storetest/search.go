package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// testSearchRuns builds ten runs r0..r9 with metrics.acc = i/10 (r9 has no
// acc), params.lr, tags.kind and start_time = 1000+i, then checks filters,
// ordering and paging against hand-computed answers.
func testSearchRuns(t *testing.T, c *Client) {
	exp := newExperiment(t, c)
	exp2 := newExperiment(t, c)
	ids := map[string]string{}
	name := map[string]string{}
	for i := range 10 {
		r := obj(c.OK("POST", api+"runs/create", map[string]any{"experiment_id": exp, "run_name": fmt.Sprintf("r%d", i), "start_time": 1000 + i})["run"])
		id := str(obj(r["info"])["run_id"])
		ids[fmt.Sprintf("r%d", i)] = id
		name[id] = fmt.Sprintf("r%d", i)
		batch := map[string]any{"run_id": id,
			"params": []any{map[string]any{"key": "lr", "value": fmt.Sprintf("0.0%d", i)}},
			"tags":   []any{map[string]any{"key": "kind", "value": []string{"Alpha", "beta"}[i%2]}}}
		if i != 9 {
			batch["metrics"] = []any{map[string]any{"key": "acc", "value": float64(i) / 10, "timestamp": 1, "step": 0}}
		}
		c.OK("POST", api+"runs/log-batch", batch)
	}
	c.OK("POST", api+"runs/create", map[string]any{"experiment_id": exp2, "run_name": "elsewhere"})
	c.OK("POST", api+"runs/update", map[string]any{"run_id": ids["r8"], "status": "FINISHED", "end_time": 2000})
	c.OK("POST", api+"runs/delete", map[string]any{"run_id": ids["r7"]})

	search := func(t *testing.T, req map[string]any) (string, string) {
		t.Helper()
		if req["experiment_ids"] == nil {
			req["experiment_ids"] = []string{exp}
		}
		b := c.For(t).OK("POST", api+"runs/search", req)
		var got []string
		for _, r := range list(b["runs"]) {
			got = append(got, name[str(obj(obj(r)["info"])["run_id"])])
		}
		return strings.Join(got, ","), str(b["next_page_token"])
	}
	for _, tc := range []struct {
		name   string
		filter string
		order  []string
		view   string
		want   string
	}{
		{"default order is start_time desc", "", nil, "", "r9,r8,r6,r5,r4,r3,r2,r1,r0"},
		{"metric >", "metrics.acc > 0.5", nil, "", "r8,r6"},
		{"metric >= and <", "metric.acc >= 0.2 AND metrics.acc < 0.4", nil, "", "r3,r2"},
		{"metric =", "metrics.acc = 0.3", nil, "", "r3"},
		{"metric != excludes runs without it", "metrics.acc != 0.3", nil, "", "r8,r6,r5,r4,r2,r1,r0"},
		{"order by metric desc, missing last", "", []string{"metrics.acc DESC"}, "", "r8,r6,r5,r4,r3,r2,r1,r0,r9"},
		{"order by metric asc, missing last", "", []string{"metrics.acc ASC"}, "", "r0,r1,r2,r3,r4,r5,r6,r8,r9"},
		{"filter and order by metric", "metrics.acc > 0.25", []string{"metrics.acc"}, "", "r3,r4,r5,r6,r8"},
		{"param =", "params.lr = '0.03'", nil, "", "r3"},
		{"param LIKE", "params.lr LIKE '0.0%' AND params.lr != '0.01'", []string{"params.lr"}, "", "r0,r2,r3,r4,r5,r6,r8,r9"},
		{"tag LIKE is case-sensitive", "tags.kind LIKE 'alp%'", nil, "", ""},
		{"tag ILIKE", "tags.kind ILIKE 'alp%'", nil, "", "r8,r6,r4,r2,r0"},
		{"backquoted key", "tags.`kind` = 'beta'", nil, "", "r9,r5,r3,r1"},
		{"double-quoted key", "tags.\"kind\" = 'beta'", nil, "", "r9,r5,r3,r1"},
		{"attribute status", "attributes.status = 'FINISHED'", nil, "", "r8"},
		{"attribute run_name", "attribute.run_name = 'r4'", nil, "", "r4"},
		{"attribute run_name LIKE", "run_name LIKE 'r%' AND start_time >= 1005", []string{"attributes.start_time ASC"}, "", "r5,r6,r8,r9"},
		{"start_time <", "attributes.start_time < 1002", nil, "", "r1,r0"},
		{"end_time", "attributes.end_time > 0", nil, "", "r8"},
		{"run_id IN", fmt.Sprintf("attributes.run_id IN ('%s', '%s')", ids["r1"], ids["r2"]), nil, "", "r2,r1"},
		{"run_id NOT IN", fmt.Sprintf("run.run_id NOT IN ('%s')", ids["r1"]), []string{"attributes.run_name"}, "", "r0,r2,r3,r4,r5,r6,r8,r9"},
		{"deleted only", "", nil, "DELETED_ONLY", "r7"},
		{"all", "metrics.acc >= 0.6", nil, "ALL", "r8,r7,r6"},
		{"order by param desc", "", []string{"params.lr DESC"}, "", "r9,r8,r6,r5,r4,r3,r2,r1,r0"},
		{"order by tag then name", "", []string{"tags.kind", "attributes.run_name DESC"}, "", "r8,r6,r4,r2,r0,r9,r5,r3,r1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := map[string]any{"filter": tc.filter}
			if tc.order != nil {
				req["order_by"] = tc.order
			}
			if tc.view != "" {
				req["run_view_type"] = tc.view
			}
			got, _ := search(t, req)
			eq(t, "runs", got, tc.want)
		})
	}
	t.Run("several experiments", func(t *testing.T) {
		c := c.For(t)
		b := c.OK("POST", api+"runs/search", map[string]any{"experiment_ids": []string{exp, exp2}})
		eq(t, "runs", len(list(b["runs"])), 10)
	})
	t.Run("data in results", func(t *testing.T) {
		c := c.For(t)
		b := c.OK("POST", api+"runs/search", map[string]any{"experiment_ids": []string{exp}, "filter": "attributes.run_name = 'r3'"})
		d := obj(obj(list(b["runs"])[0])["data"])
		eq(t, "acc", num(obj(list(d["metrics"])[0])["value"]), 0.3)
		eq(t, "lr", kv(d["params"])["lr"], any("0.03"))
		eq(t, "kind", kv(d["tags"])["kind"], any("beta"))
	})
	t.Run("paging", func(t *testing.T) {
		var pages []string
		token := ""
		for {
			req := map[string]any{"max_results": 4, "order_by": []string{"metrics.acc DESC"}}
			if token != "" {
				req["page_token"] = token
			}
			got, next := search(t, req)
			pages = append(pages, got)
			if next == "" {
				break
			}
			token = next
		}
		eq(t, "pages", strings.Join(pages, " | "), "r8,r6,r5,r4 | r3,r2,r1,r0 | r9")
		got, next := search(t, map[string]any{"max_results": 9})
		eq(t, "exact page", len(strings.Split(got, ",")), 9)
		eq(t, "no token after last page", next, "")
	})
	t.Run("errors", func(t *testing.T) {
		c := c.For(t)
		for _, f := range []string{
			"metrics.acc > 'x'", "params.lr > 1", "params.lr = 0.1", "metrics.acc >", "foo.bar = 'x'",
			"attributes.nope = 'x'", "metrics.acc > 1 OR metrics.acc < 0", "tags.kind IN ('a')", "params.lr = 'unterminated",
			"metrics.acc LIKE '1'", "attributes.start_time = 'x'",
		} {
			c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/search", map[string]any{"experiment_ids": []string{exp}, "filter": f})
		}
		for _, o := range []string{"metrics.acc SIDEWAYS", "nope.x", "attributes.bogus"} {
			c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/search", map[string]any{"experiment_ids": []string{exp}, "order_by": []string{o}})
		}
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/search", map[string]any{"experiment_ids": []string{exp}, "max_results": 50001})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/search", map[string]any{"experiment_ids": []string{exp}, "page_token": "garbage!"})
	})
}

// testConcurrent has 16 writers log batches to their own and to a shared
// run at once; every acknowledged metric must be there afterwards.
func testConcurrent(t *testing.T, c *Client) {
	exp := newExperiment(t, c)
	shared := newRun(t, c, exp)
	const writers, batches, per = 16, 5, 50
	var wg sync.WaitGroup
	errs := make(chan string, writers*batches)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				var ms []any
				for i := range per {
					ms = append(ms, map[string]any{"key": fmt.Sprintf("w%d", w), "value": float64(i), "timestamp": b, "step": b*per + i})
				}
				r := c.Do("POST", api+"runs/log-batch", map[string]any{"run_id": shared, "metrics": ms,
					"params": []any{map[string]any{"key": fmt.Sprintf("p%d", w), "value": "same"}}})
				if r.Status != 200 {
					errs <- fmt.Sprintf("writer %d batch %d: %d %s", w, b, r.Status, r.Raw)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	d := obj(getRun(t, c, shared)["data"])
	eq(t, "metric keys", len(list(d["metrics"])), writers)
	eq(t, "params", len(list(d["params"])), writers)
	for _, m := range list(d["metrics"]) {
		eq(t, "latest step of "+str(obj(m)["key"]), num(obj(m)["step"]), float64(batches*per-1))
	}
}
