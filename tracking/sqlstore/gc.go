package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/dawn-ml/dawn/tracking"
)

var _ tracking.Purger = (*Store)(nil)

// DeletedRuns pages through deleted runs by run_id.
func (s *Store) DeletedRuns(ctx context.Context, before int64, experimentIDs []string, after string, limit int) ([]tracking.RunInfo, error) {
	where := []string{"lifecycle_stage = 'deleted'", "COALESCE(deleted_time, 0) <= ?", "run_uuid > ?"}
	args := []any{before, after}
	if len(experimentIDs) > 0 {
		where = append(where, "experiment_id IN ("+placeholders(len(experimentIDs))+")")
		for _, id := range experimentIDs {
			args = append(args, mustInt(id))
		}
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+runCols+` FROM runs WHERE `+strings.Join(where, " AND ")+` ORDER BY run_uuid LIMIT ?`), append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: deleted runs: %w", err)
	}
	defer rows.Close()
	var out []tracking.RunInfo
	for rows.Next() {
		ri, err := scanRunInfo(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: deleted runs: %w", err)
		}
		out = append(out, ri)
	}
	return out, rows.Err()
}

// PurgeRun deletes a run and all its rows.
func (s *Store) PurgeRun(ctx context.Context, runID string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"metrics", "latest_metrics"} {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM `+table+` WHERE run_key = (SELECT run_key FROM runs WHERE run_uuid = ?)`), runID); err != nil {
				return fmt.Errorf("sqlstore: purge run %s: %s: %w", runID, table, err)
			}
		}
		for _, table := range []string{"params", "tags", "input_tags", "run_inputs", "runs"} {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM `+table+` WHERE run_uuid = ?`), runID); err != nil {
				return fmt.Errorf("sqlstore: purge run %s: %s: %w", runID, table, err)
			}
		}
		return nil
	})
}

// DeletedExperiments lists deleted experiments last updated before.
func (s *Store) DeletedExperiments(ctx context.Context, before int64) ([]tracking.Experiment, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+experimentCols+` FROM experiments WHERE lifecycle_stage = 'deleted' AND last_update_time <= ? ORDER BY experiment_id`), before)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: deleted experiments: %w", err)
	}
	defer rows.Close()
	var out []tracking.Experiment
	for rows.Next() {
		e, err := scanExperiment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// PurgeExperiment deletes an experiment once it has no runs.
func (s *Store) PurgeExperiment(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		n, stage, err := s.mustExperiment(ctx, tx, id)
		if err != nil {
			return err
		}
		if stage != tracking.StageDeleted {
			return tracking.InvalidParameterf("Experiment %s is not deleted", id)
		}
		var runs int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM runs WHERE experiment_id = ?`), n).Scan(&runs); err != nil {
			return err
		}
		if runs > 0 {
			return tracking.InvalidParameterf("Experiment %s still has %d runs", id, runs)
		}
		// Its traces go with it (each trace's rows by its id).
		for _, t := range traceTables {
			q := `DELETE FROM ` + t.table + ` WHERE ` + t.col + ` IN (SELECT request_id FROM trace_info WHERE experiment_id = ?)`
			if t.table == "trace_info" {
				q = `DELETE FROM trace_info WHERE experiment_id = ?`
			}
			if _, err := tx.ExecContext(ctx, s.q(q), n); err != nil {
				return fmt.Errorf("sqlstore: purge experiment %s: %s: %w", id, t.table, err)
			}
		}
		// Its scorers and evaluation-dataset links go with it, so that an
		// experiment given the same id later inherits neither.
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM scorer_versions WHERE scorer_id IN (SELECT scorer_id FROM scorers WHERE experiment_id = ?)`), n); err != nil {
			return fmt.Errorf("sqlstore: purge experiment %s: scorer versions: %w", id, err)
		}
		for _, table := range []string{"scorers", "eval_dataset_experiments", "experiment_tags", "datasets", "experiments"} {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM `+table+` WHERE experiment_id = ?`), n); err != nil {
				return fmt.Errorf("sqlstore: purge experiment %s: %s: %w", id, table, err)
			}
		}
		return nil
	})
}
