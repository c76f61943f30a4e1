package tracking

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sort"
)

type historyBulkReq struct {
	RunID      []string `json:"run_id"`
	MetricKey  *string  `json:"metric_key"`
	MaxResults *Int64   `json:"max_results"`
}

// maxHistoryBulk is MLflow's cap on metrics/get-history-bulk results.
const maxHistoryBulk = 25000

// historyBulk serves the web UI's GET metrics/get-history-bulk
// (?run_id=A&run_id=B&metric_key=K[&max_results=N]) as MLflow's SqlAlchemy
// store does: the key's full history of each existing run, ordered by run
// id, then timestamp, step and value; at most max_results (default and
// cap 25000) points in all; unknown runs are skipped.
func (a *api) historyBulk(add func(method, path string, h http.HandlerFunc)) {
	add("GET", "metrics/get-history-bulk", handle(a, func(ctx context.Context, r *historyBulkReq) (any, error) {
		if len(r.RunID) == 0 {
			return nil, InvalidParameterf("GetMetricHistoryBulk request must specify at least one run_id.")
		}
		if len(r.RunID) > 100 {
			return nil, InvalidParameterf("GetMetricHistoryBulk request cannot specify more than 100 run_ids. Received %d run_ids.", len(r.RunID))
		}
		if r.MetricKey == nil {
			return nil, InvalidParameterf("GetMetricHistoryBulk request must specify a metric_key.")
		}
		limit := maxHistoryBulk
		if r.MaxResults != nil {
			if *r.MaxResults < 1 {
				return nil, InvalidParameterf("Invalid value %d for parameter 'max_results' supplied. It must be a positive integer.", int64(*r.MaxResults))
			}
			limit = min(int(*r.MaxResults), maxHistoryBulk)
		}
		ids := slices.Clone(r.RunID)
		slices.Sort(ids)
		ids = slices.Compact(ids)
		out := []Metric{}
		for _, id := range ids {
			if len(out) >= limit {
				break
			}
			var pts []Metric
			_, err := a.store.MetricHistory(ctx, id, *r.MetricKey, "", 0, func(m Metric) error {
				m.RunID = id
				pts = append(pts, m)
				return nil
			})
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			sort.SliceStable(pts, func(i, j int) bool {
				x, y := pts[i], pts[j]
				if x.Timestamp != y.Timestamp {
					return x.Timestamp < y.Timestamp
				}
				if x.Step != y.Step {
					return x.Step < y.Step
				}
				return x.Value < y.Value
			})
			out = append(out, pts[:min(len(pts), limit-len(out))]...)
		}
		return struct {
			Metrics []Metric `json:"metrics"`
		}{out}, nil
	}))
}
