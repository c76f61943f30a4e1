package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/dawn-ml/dawn/tracking"
)

// CreateExperiment inserts an experiment and its tags.
func (s *Store) CreateExperiment(ctx context.Context, name, location string, tags []tracking.Tag) (string, error) {
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM experiments WHERE name = ?`), name).Scan(&n); err != nil {
			return fmt.Errorf("sqlstore: create experiment %q: %w", name, err)
		}
		if n > 0 {
			return tracking.AlreadyExistsf("Experiment(name=%s) already exists.", name)
		}
		now := nowMillis()
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time)
			VALUES (?, ?, 'active', ?, ?) RETURNING experiment_id`), name, location, now, now).Scan(&id)
		if isUnique(err) {
			return tracking.AlreadyExistsf("Experiment(name=%s) already exists.", name)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: create experiment %q: %w", name, err)
		}
		if location == "" {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?`),
				s.defaultLocation(strconv.FormatInt(id, 10)), id); err != nil {
				return fmt.Errorf("sqlstore: create experiment %q: %w", name, err)
			}
		}
		for _, t := range tags {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?)
				ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value`), id, t.Key, t.Value); err != nil {
				return fmt.Errorf("sqlstore: create experiment %q: tag %q: %w", name, t.Key, err)
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(id, 10), nil
}

const experimentCols = `experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time`

func scanExperiment(sc interface{ Scan(...any) error }) (tracking.Experiment, error) {
	var e tracking.Experiment
	var id, ct, ut int64
	err := sc.Scan(&id, &e.Name, &e.ArtifactLocation, &e.LifecycleStage, &ct, &ut)
	e.ExperimentID = strconv.FormatInt(id, 10)
	e.CreationTime, e.LastUpdateTime = tracking.Int64(ct), tracking.Int64(ut)
	return e, err
}

func (s *Store) experimentTags(ctx context.Context, db queryer, id string) ([]tracking.Tag, error) {
	rows, err := db.QueryContext(ctx, s.q(`SELECT key, value FROM experiment_tags WHERE experiment_id = ? ORDER BY key`), id)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: experiment %s tags: %w", id, err)
	}
	defer rows.Close()
	var tags []tracking.Tag
	for rows.Next() {
		var t tracking.Tag
		if err := rows.Scan(&t.Key, &t.Value); err != nil {
			return nil, err
		}
		tags = append(tags, t)
	}
	return tags, rows.Err()
}

// GetExperiment returns an experiment by id, deleted or not.
func (s *Store) GetExperiment(ctx context.Context, id string) (*tracking.Experiment, error) {
	n, err := parseExperimentID(id)
	if err != nil {
		return nil, err
	}
	return s.getExperiment(ctx, s.r, `experiment_id = ?`, n, fmt.Sprintf("No Experiment with id=%s exists", id))
}

// GetExperimentByName returns an experiment by name.
func (s *Store) GetExperimentByName(ctx context.Context, name string) (*tracking.Experiment, error) {
	return s.getExperiment(ctx, s.r, `name = ?`, name, fmt.Sprintf("Could not find experiment with name %s", name))
}

func (s *Store) getExperiment(ctx context.Context, db queryer, where string, arg any, notFound string) (*tracking.Experiment, error) {
	e, err := scanExperiment(db.QueryRowContext(ctx, s.q(`SELECT `+experimentCols+` FROM experiments WHERE `+where), arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tracking.NotFoundf("%s", notFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get experiment: %w", err)
	}
	if e.Tags, err = s.experimentTags(ctx, db, e.ExperimentID); err != nil {
		return nil, err
	}
	return &e, nil
}

// SearchExperiments filters, orders and pages experiments.
func (s *Store) SearchExperiments(ctx context.Context, q tracking.SearchQuery) ([]tracking.Experiment, string, error) {
	offset, err := tracking.DecodePageToken(q.PageToken)
	if err != nil {
		return nil, "", err
	}
	stages := stagesFor(q.View)
	where := []string{"e.lifecycle_stage IN (" + placeholders(len(stages)) + ")"}
	var args []any
	for _, st := range stages {
		args = append(args, st)
	}
	var tagClauses []tracking.Clause
	for _, c := range q.Filter {
		switch c.Entity {
		case tracking.EntityTag:
			tagClauses = append(tagClauses, c)
		default:
			col := "e." + c.Key
			if c.Key == "experiment_id" && (c.Op == "IN" || c.Op == "NOT IN") {
				where = append(where, col+" "+c.Op+" ("+placeholders(len(c.List))+")")
				for _, v := range c.List {
					args = append(args, v)
				}
				continue
			}
			where = append(where, likeCond(col, c.Op))
			if c.IsNum {
				args = append(args, int64(c.Num))
			} else {
				args = append(args, c.Str)
			}
		}
	}
	if cond, cargs := keyedCond("experiment_tags", "k.experiment_id = e.experiment_id", tagClauses); cond != "" {
		where = append(where, cond)
		args = append(args, cargs...)
	}
	var order []string
	hasID := false
	for _, o := range q.OrderBy {
		order = append(order, orderSQL("e."+o.Key, o.Desc))
		hasID = hasID || o.Key == "experiment_id"
	}
	if len(order) == 0 {
		order = append(order, "e.creation_time DESC")
	}
	if !hasID {
		order = append(order, "e.experiment_id ASC")
	}
	query := `SELECT ` + prefixCols("e.", experimentCols) + ` FROM experiments e WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + strings.Join(order, ", ") + ` LIMIT ? OFFSET ?`
	args = append(args, q.MaxResults+1, offset)
	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, "", fmt.Errorf("sqlstore: search experiments: %w", err)
	}
	var out []tracking.Experiment
	for rows.Next() {
		e, err := scanExperiment(rows)
		if err != nil {
			rows.Close()
			return nil, "", fmt.Errorf("sqlstore: search experiments: %w", err)
		}
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("sqlstore: search experiments: %w", err)
	}
	next := ""
	if len(out) > q.MaxResults {
		out = out[:q.MaxResults]
		next = tracking.EncodePageToken(offset + q.MaxResults)
	}
	for i := range out {
		if out[i].Tags, err = s.experimentTags(ctx, s.r, out[i].ExperimentID); err != nil {
			return nil, "", err
		}
	}
	return out, next, nil
}

func prefixCols(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

func (s *Store) mustExperiment(ctx context.Context, tx queryer, id string) (int64, string, error) {
	n, err := parseExperimentID(id)
	if err != nil {
		return 0, "", err
	}
	var stage string
	err = tx.QueryRowContext(ctx, s.q(`SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?`), n).Scan(&stage)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", tracking.NotFoundf("No Experiment with id=%s exists", id)
	}
	if err != nil {
		return 0, "", fmt.Errorf("sqlstore: experiment %s: %w", id, err)
	}
	return n, stage, nil
}

// RenameExperiment changes an experiment's name.
func (s *Store) RenameExperiment(ctx context.Context, id, newName string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		n, stage, err := s.mustExperiment(ctx, tx, id)
		if err != nil {
			return err
		}
		if stage != tracking.StageActive {
			return tracking.InvalidParameterf("Cannot rename a non-active experiment.")
		}
		var dup int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM experiments WHERE name = ? AND experiment_id <> ?`), newName, n).Scan(&dup); err != nil {
			return fmt.Errorf("sqlstore: rename experiment %s: %w", id, err)
		}
		if dup > 0 {
			return tracking.AlreadyExistsf("Experiment(name=%s) already exists.", newName)
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?`), newName, nowMillis(), n)
		if isUnique(err) {
			return tracking.AlreadyExistsf("Experiment(name=%s) already exists.", newName)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: rename experiment %s: %w", id, err)
		}
		return nil
	})
}

// SetExperimentStage deletes or restores an experiment and its runs.
func (s *Store) SetExperimentStage(ctx context.Context, id, stage string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		n, cur, err := s.mustExperiment(ctx, tx, id)
		if err != nil {
			return err
		}
		if stage == tracking.StageDeleted && n == 0 {
			return tracking.InvalidParameterf("Cannot delete the default experiment '0'. This is an internally reserved experiment.")
		}
		if stage == tracking.StageDeleted && cur == tracking.StageDeleted {
			return tracking.InvalidParameterf("Cannot delete an already deleted experiment.")
		}
		if stage == tracking.StageActive && cur == tracking.StageActive {
			return tracking.InvalidParameterf("Cannot restore an active experiment.")
		}
		now := nowMillis()
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? WHERE experiment_id = ?`), stage, now, n); err != nil {
			return fmt.Errorf("sqlstore: experiment %s stage: %w", id, err)
		}
		var del any
		if stage == tracking.StageDeleted {
			del = now
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE experiment_id = ? AND lifecycle_stage <> ?`), stage, del, n, stage); err != nil {
			return fmt.Errorf("sqlstore: experiment %s runs stage: %w", id, err)
		}
		return nil
	})
}

// SetExperimentTag sets one experiment tag.
func (s *Store) SetExperimentTag(ctx context.Context, id string, t tracking.Tag) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		n, stage, err := s.mustExperiment(ctx, tx, id)
		if err != nil {
			return err
		}
		if stage != tracking.StageActive {
			return tracking.InvalidParameterf("The experiment %s must be in the 'active' state. Current state is %s.", id, stage)
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?)
			ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value`), n, t.Key, t.Value)
		if err != nil {
			return fmt.Errorf("sqlstore: experiment %s tag %q: %w", id, t.Key, err)
		}
		return nil
	})
}

// DeleteExperimentTag removes one experiment tag.
func (s *Store) DeleteExperimentTag(ctx context.Context, id, key string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		n, _, err := s.mustExperiment(ctx, tx, id)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?`), n, key)
		if err != nil {
			return fmt.Errorf("sqlstore: experiment %s delete tag %q: %w", id, key, err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return tracking.NotFoundf("No tag with name: %s in experiment with id %s", key, id)
		}
		return nil
	})
}
