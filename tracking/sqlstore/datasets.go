package sqlstore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/dawn-ml/dawn/tracking"
)

// SearchDatasetSummaries lists the distinct (experiment, dataset name,
// digest, mlflow.data.context) of the runs' dataset inputs, at most limit.
// Ids that are not experiment ids match nothing.
func (s *Store) SearchDatasetSummaries(ctx context.Context, experimentIDs []string, limit int) ([]tracking.DatasetSummary, error) {
	var ids []any
	for _, e := range experimentIDs {
		if n, err := strconv.ParseInt(e, 10, 64); err == nil {
			ids = append(ids, n)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT DISTINCT d.experiment_id, d.name, d.digest, COALESCE(t.value, '')
		FROM datasets d JOIN run_inputs ri ON ri.dataset_uuid = d.dataset_uuid
		LEFT JOIN input_tags t ON t.run_uuid = ri.run_uuid AND t.dataset_uuid = d.dataset_uuid AND t.key = 'mlflow.data.context'
		WHERE d.experiment_id IN (`+placeholders(len(ids))+`) ORDER BY d.experiment_id, d.name, d.digest LIMIT ?`), append(ids, limit)...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: search datasets: %w", err)
	}
	defer rows.Close()
	var out []tracking.DatasetSummary
	for rows.Next() {
		var d tracking.DatasetSummary
		var exp int64
		if err := rows.Scan(&exp, &d.Name, &d.Digest, &d.Context); err != nil {
			return nil, fmt.Errorf("sqlstore: search datasets: %w", err)
		}
		d.ExperimentID = strconv.FormatInt(exp, 10)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: search datasets: %w", err)
	}
	return out, nil
}
