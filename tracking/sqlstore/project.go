package sqlstore

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/dawn-ml/dawn/tracking"
)

// loadLatestMetrics fills the latest metrics of the runs in idx (ids, as
// the bound list in), only the keys given unless all.
func (s *Store) loadLatestMetrics(ctx context.Context, idx map[string]*tracking.Run, ids []any, in string, keys []string, all bool) error {
	cond, kargs, skip := keyIn("l.key", keys, all)
	if skip {
		return nil
	}
	// CROSS JOIN pins SQLite's join order: the page's runs drive. Given
	// a key list, SQLite otherwise starts from the (key, value) index and
	// reads every run's value of those keys: 32 s for a 100-run page of
	// 6 metrics over 100,000 runs. PostgreSQL plans it as an inner join.
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT r.run_uuid, l.key, l.step, l.timestamp, l.value, l.is_nan FROM runs r CROSS JOIN latest_metrics l WHERE l.run_key = r.run_key AND r.run_uuid IN `+in+cond+` ORDER BY l.key`),
		append(ids[:len(ids):len(ids)], kargs...)...)
	if err != nil {
		return fmt.Errorf("sqlstore: load metrics: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var m tracking.Metric
		var step, ts int64
		var v float64
		var nan int
		if err := rows.Scan(&id, &m.Key, &step, &ts, &v, &nan); err != nil {
			return fmt.Errorf("sqlstore: load metrics: %w", err)
		}
		if nan != 0 {
			v = math.NaN()
		}
		m.Step, m.Timestamp, m.Value = tracking.Int64(step), tracking.Int64(ts), tracking.Float(v)
		r := idx[id]
		r.Data.Metrics = append(r.Data.Metrics, m)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlstore: load metrics: %w", err)
	}
	return nil
}

// RunKeys lists the distinct param, metric and tag keys of the newest
// runs (active or deleted) of the experiments, which the
// runs_experiment_start index gives, each list cut at limit.
func (s *Store) RunKeys(ctx context.Context, experimentIDs []string, runs, limit int) (*tracking.RunKeys, error) {
	if limit < 1 || runs < 1 || runs > tracking.MaxRunKeysRuns {
		return nil, tracking.InvalidParameterf("Run keys: want 1..%d runs and a limit of at least 1, got %d runs and limit %d", tracking.MaxRunKeysRuns, runs, limit)
	}
	out := &tracking.RunKeys{Params: []string{}, Metrics: []string{}, Tags: []string{}}
	if len(experimentIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(experimentIDs))
	for i, id := range experimentIDs {
		args[i] = mustInt(id)
	}
	newest := `SELECT run_key, run_uuid FROM runs WHERE experiment_id IN (` + placeholders(len(args)) + `) ORDER BY start_time DESC, run_uuid LIMIT ?`
	var n int
	if err := s.r.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM (`+newest+`) sampled`), append(args, runs+1)...).Scan(&n); err != nil {
		return nil, fmt.Errorf("sqlstore: run keys: %w", err)
	}
	out.Runs, out.Sampled = min(n, runs), n > runs
	for _, k := range []struct {
		dst  *[]string
		sql  string
		what string
	}{
		{&out.Params, `SELECT DISTINCT p.key FROM (` + newest + `) nr JOIN params p ON p.run_uuid = nr.run_uuid ORDER BY p.key LIMIT ?`, "params"},
		{&out.Metrics, `SELECT DISTINCT l.key FROM (` + newest + `) nr JOIN latest_metrics l ON l.run_key = nr.run_key ORDER BY l.key LIMIT ?`, "metrics"},
		{&out.Tags, `SELECT DISTINCT t.key FROM (` + newest + `) nr JOIN tags t ON t.run_uuid = nr.run_uuid ORDER BY t.key LIMIT ?`, "tags"},
	} {
		rows, err := s.r.QueryContext(ctx, s.q(k.sql), append(args, runs, limit)...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: run keys: %s: %w", k.what, err)
		}
		for rows.Next() {
			var key string
			if err := rows.Scan(&key); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore: run keys: %s: %w", k.what, err)
			}
			*k.dst = append(*k.dst, key)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlstore: run keys: %s: %w", k.what, err)
		}
		// PostgreSQL may collate by locale: callers get byte order.
		slices.Sort(*k.dst)
	}
	return out, nil
}
