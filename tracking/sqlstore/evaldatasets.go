package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/dawn-ml/dawn/tracking"
)

const evalDatasetCols = `dataset_id, name, schema_json, profile, digest, created_time, last_update_time, created_by, last_updated_by`

const evalRecordCols = `record_id, dataset_id, inputs, outputs, expectations, tags, source, source_id, source_type, created_time, last_update_time, created_by, last_updated_by`

func linkNotFound(id string) error {
	return tracking.NotFoundf("Dataset '%s' not found", id)
}

// CreateEvalDataset adds a dataset linked to experiments that must exist.
func (s *Store) CreateEvalDataset(ctx context.Context, nd tracking.NewEvalDataset) (*tracking.EvalDataset, error) {
	exps, err := s.experimentNumbers(ctx, s.r, nd.ExperimentIDs)
	if err != nil {
		return nil, err
	}
	id := tracking.EvalDatasetIDPrefix + newID()
	now := nowMillis()
	user := ""
	for _, t := range nd.Tags {
		if t.Key == tracking.UserTagKey {
			user = t.Value
		}
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO eval_datasets (`+evalDatasetCols+`) VALUES (?, ?, '', '', ?, ?, ?, ?, ?)`),
			id, nd.Name, tracking.EvalDigest(nd.Name, now), now, now, user, user); err != nil {
			return fmt.Errorf("sqlstore: create dataset: %w", err)
		}
		if err := s.upsertEvalTags(ctx, tx, id, nd.Tags); err != nil {
			return err
		}
		return s.linkExperiments(ctx, tx, id, exps, now)
	})
	if err != nil {
		return nil, err
	}
	d, err := s.getEvalDataset(ctx, s.w, id)
	if err != nil {
		return nil, err
	}
	if d.ExperimentIDs, err = s.evalExperimentIDs(ctx, s.w, id); err != nil {
		return nil, err
	}
	if d.ExperimentIDs == nil {
		d.ExperimentIDs = []string{}
	}
	return d, nil
}

// experimentNumbers checks experiment ids exist, returning them as stored.
func (s *Store) experimentNumbers(ctx context.Context, db queryer, ids []string) ([]int64, error) {
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || !tracking.CanonicalID(id) {
			return nil, tracking.NotFoundf("No Experiment with id=%s", id)
		}
		var one int
		err = db.QueryRowContext(ctx, s.q(`SELECT 1 FROM experiments WHERE experiment_id = ?`), n).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, tracking.NotFoundf("No Experiment with id=%s", id)
		}
		if err != nil {
			return nil, fmt.Errorf("sqlstore: experiment %s: %w", id, err)
		}
		out = append(out, n)
	}
	return out, nil
}

func (s *Store) linkExperiments(ctx context.Context, tx *sql.Tx, id string, exps []int64, now int64) error {
	for _, e := range exps {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO eval_dataset_experiments (dataset_id, experiment_id, created_time) VALUES (?, ?, ?)
			ON CONFLICT (dataset_id, experiment_id) DO NOTHING`), id, e, now); err != nil {
			return fmt.Errorf("sqlstore: link dataset %s to experiment %d: %w", id, e, err)
		}
	}
	return nil
}

func (s *Store) upsertEvalTags(ctx context.Context, tx *sql.Tx, id string, tags []tracking.Tag) error {
	for _, t := range tags {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO eval_dataset_tags (dataset_id, key, value) VALUES (?, ?, ?)
			ON CONFLICT (dataset_id, key) DO UPDATE SET value = excluded.value`), id, t.Key, t.Value); err != nil {
			return fmt.Errorf("sqlstore: dataset %s tag %q: %w", id, t.Key, err)
		}
	}
	return nil
}

// GetEvalDataset returns a dataset without its experiment ids.
func (s *Store) GetEvalDataset(ctx context.Context, id string) (*tracking.EvalDataset, error) {
	return s.getEvalDataset(ctx, s.r, id)
}

func (s *Store) getEvalDataset(ctx context.Context, db queryer, id string) (*tracking.EvalDataset, error) {
	ds, err := s.queryEvalDatasets(ctx, db, `SELECT `+evalDatasetCols+` FROM eval_datasets WHERE dataset_id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, tracking.EvalDatasetNotFound(id)
	}
	return &ds[0], nil
}

// queryEvalDatasets runs a query for evalDatasetCols and loads the tags.
func (s *Store) queryEvalDatasets(ctx context.Context, db queryer, query string, args ...any) ([]tracking.EvalDataset, error) {
	rows, err := db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: datasets: %w", err)
	}
	var out []tracking.EvalDataset
	for rows.Next() {
		var d tracking.EvalDataset
		if err := rows.Scan(&d.DatasetID, &d.Name, &d.Schema, &d.Profile, &d.Digest, &d.CreatedTime, &d.LastUpdateTime, &d.CreatedBy, &d.LastUpdatedBy); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlstore: datasets: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, fmt.Errorf("sqlstore: datasets: %w", err)
	}
	rows.Close()
	if len(out) == 0 {
		return out, nil
	}
	idx := make(map[string]int, len(out))
	ids := make([]any, 0, len(out))
	for i, d := range out {
		idx[d.DatasetID] = i
		ids = append(ids, d.DatasetID)
	}
	trows, err := db.QueryContext(ctx, s.q(`SELECT dataset_id, key, value FROM eval_dataset_tags WHERE dataset_id IN (`+placeholders(len(ids))+`) ORDER BY dataset_id, key`), ids...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: dataset tags: %w", err)
	}
	defer trows.Close()
	for trows.Next() {
		var id string
		var t tracking.Tag
		if err := trows.Scan(&id, &t.Key, &t.Value); err != nil {
			return nil, fmt.Errorf("sqlstore: dataset tags: %w", err)
		}
		out[idx[id]].Tags = append(out[idx[id]].Tags, t)
	}
	if err := trows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: dataset tags: %w", err)
	}
	return out, nil
}

// DeleteEvalDataset removes a dataset with its tags, records and links.
func (s *Store) DeleteEvalDataset(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"eval_dataset_records", "eval_dataset_tags", "eval_dataset_experiments", "eval_datasets"} {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM `+table+` WHERE dataset_id = ?`), id); err != nil {
				return fmt.Errorf("sqlstore: delete dataset %s: %s: %w", id, table, err)
			}
		}
		return nil
	})
}

// SearchEvalDatasets pages through datasets matching q.
func (s *Store) SearchEvalDatasets(ctx context.Context, q tracking.EvalDatasetQuery) ([]tracking.EvalDataset, string, error) {
	offset, err := tracking.DecodePageToken(q.PageToken)
	if err != nil {
		return nil, "", err
	}
	where := []string{"1 = 1"}
	var args []any
	if len(q.ExperimentIDs) > 0 {
		exps := make([]any, 0, len(q.ExperimentIDs))
		for _, e := range q.ExperimentIDs {
			if n, err := strconv.ParseInt(e, 10, 64); err == nil && tracking.CanonicalID(e) {
				exps = append(exps, n)
			}
		}
		if len(exps) == 0 {
			return nil, "", nil
		}
		where = append(where, `d.dataset_id IN (SELECT x.dataset_id FROM eval_dataset_experiments x WHERE x.experiment_id IN (`+placeholders(len(exps))+`))`)
		args = append(args, exps...)
	}
	for _, c := range q.Filter {
		switch c.Entity {
		case tracking.EntityAttribute:
			col := "d." + c.Key
			if c.IsNum {
				where = append(where, col+" "+c.Op+" ?")
				args = append(args, c.Num)
				continue
			}
			where = append(where, likeCond(col, c.Op))
			args = append(args, c.Str)
		case tracking.EntityTag:
			where = append(where, `EXISTS (SELECT 1 FROM eval_dataset_tags x WHERE x.dataset_id = d.dataset_id AND x.key = ? AND `+likeCond("x.value", c.Op)+`)`)
			args = append(args, c.Key, c.Str)
		default:
			return nil, "", tracking.InvalidParameterf("Invalid filter entity %s for evaluation datasets", c.Entity)
		}
	}
	var order []string
	for _, o := range q.OrderBy {
		dir := " ASC"
		if o.Desc {
			dir = " DESC"
		}
		order = append(order, "d."+o.Key+dir)
	}
	if len(order) == 0 {
		order = append(order, "d.created_time DESC")
	}
	// MLflow's tie-breaker.
	order = append(order, "d.dataset_id DESC")
	query := `SELECT ` + prefixCols("d.", evalDatasetCols) + ` FROM eval_datasets d WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + strings.Join(order, ", ") + ` LIMIT ? OFFSET ?`
	args = append(args, q.MaxResults+1, offset)
	ds, err := s.queryEvalDatasets(ctx, s.r, query, args...)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(ds) > q.MaxResults {
		ds = ds[:q.MaxResults]
		next = tracking.EncodePageToken(offset + q.MaxResults)
	}
	return ds, next, nil
}

// evalDatasetExists reports a missing dataset with notFound.
func (s *Store) evalDatasetExists(ctx context.Context, db queryer, id string, notFound func(string) error) error {
	var one int
	err := db.QueryRowContext(ctx, s.q(`SELECT 1 FROM eval_datasets WHERE dataset_id = ?`), id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(id)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: dataset %s: %w", id, err)
	}
	return nil
}

func recordsNotFound(id string) error {
	return tracking.NotFoundf("Could not find evaluation dataset with ID %s", id)
}

// SetEvalDatasetTags upserts tags on an existing dataset.
func (s *Store) SetEvalDatasetTags(ctx context.Context, id string, tags []tracking.Tag) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.evalDatasetExists(ctx, tx, id, recordsNotFound); err != nil {
			return err
		}
		return s.upsertEvalTags(ctx, tx, id, tags)
	})
}

// DeleteEvalDatasetTag removes a tag; nothing to remove is no error.
func (s *Store) DeleteEvalDatasetTag(ctx context.Context, id, key string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM eval_dataset_tags WHERE dataset_id = ? AND key = ?`), id, key); err != nil {
			return fmt.Errorf("sqlstore: dataset %s tag %q: %w", id, key, err)
		}
		return nil
	})
}

// nullJSON is a nullable JSON column.
func nullJSON(raw json.RawMessage) any {
	if raw == nil {
		return nil
	}
	return string(raw)
}

func rawOf(ns sql.NullString) json.RawMessage {
	if !ns.Valid {
		return nil
	}
	return json.RawMessage(ns.String)
}

// UpsertEvalRecords inserts or merges records and updates the dataset's
// schema, profile, digest and last update in one transaction.
func (s *Store) UpsertEvalRecords(ctx context.Context, id string, recs []tracking.EvalRecordInput) (inserted, updated int, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var name, schema string
		err := tx.QueryRowContext(ctx, s.q(`SELECT name, schema_json FROM eval_datasets WHERE dataset_id = ?`), id).Scan(&name, &schema)
		if errors.Is(err, sql.ErrNoRows) {
			return recordsNotFound(id)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: dataset %s: %w", id, err)
		}
		now := nowMillis()
		for _, in := range recs {
			recs, err := s.scanEvalRecords(ctx, tx, `SELECT `+evalRecordCols+` FROM eval_dataset_records WHERE dataset_id = ? AND input_hash = ?`, id, in.InputHash)
			if err != nil {
				return err
			}
			if len(recs) > 0 {
				r := recs[0]
				tracking.MergeEvalRecord(&r, in, now)
				if _, err := tx.ExecContext(ctx, s.q(`UPDATE eval_dataset_records SET outputs = ?, expectations = ?, tags = ?, last_update_time = ?, last_updated_by = ? WHERE record_id = ?`),
					nullJSON(r.Outputs), nullJSON(r.Expectations), nullJSON(r.Tags), r.LastUpdateTime, r.LastUpdatedBy, r.RecordID); err != nil {
					return fmt.Errorf("sqlstore: dataset %s: update record %s: %w", id, r.RecordID, err)
				}
				updated++
				continue
			}
			r := tracking.NewEvalRecord(tracking.EvalRecordIDPrefix+newID(), id, in, now)
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO eval_dataset_records (`+evalRecordCols+`, input_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				r.RecordID, id, string(r.Inputs), nullJSON(r.Outputs), nullJSON(r.Expectations), nullJSON(r.Tags), nullJSON(r.Source), r.SourceID, r.SourceType,
				r.CreatedTime, r.LastUpdateTime, r.CreatedBy, r.LastUpdatedBy, in.InputHash); err != nil {
				return fmt.Errorf("sqlstore: dataset %s: insert record: %w", id, err)
			}
			inserted++
		}
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM eval_dataset_records WHERE dataset_id = ?`), id).Scan(&n); err != nil {
			return fmt.Errorf("sqlstore: dataset %s: count records: %w", id, err)
		}
		set := `last_update_time = ?, last_updated_by = ?, digest = ?`
		args := []any{now, tracking.UpsertAuthor(recs), tracking.EvalDigest(name, now)}
		if sc := tracking.UpdateEvalSchema(schema, recs); sc != "" {
			set += `, schema_json = ?`
			args = append(args, sc)
		}
		if p := tracking.EvalProfile(n); p != "" {
			set += `, profile = ?`
			args = append(args, p)
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE eval_datasets SET `+set+` WHERE dataset_id = ?`), append(args, id)...); err != nil {
			return fmt.Errorf("sqlstore: dataset %s: update: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return inserted, updated, nil
}

func (s *Store) scanEvalRecords(ctx context.Context, db queryer, query string, args ...any) ([]tracking.EvalRecord, error) {
	rows, err := db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: dataset records: %w", err)
	}
	defer rows.Close()
	var out []tracking.EvalRecord
	for rows.Next() {
		var r tracking.EvalRecord
		var inputs string
		var outputs, expectations, tags, source sql.NullString
		if err := rows.Scan(&r.RecordID, &r.DatasetID, &inputs, &outputs, &expectations, &tags, &source, &r.SourceID, &r.SourceType,
			&r.CreatedTime, &r.LastUpdateTime, &r.CreatedBy, &r.LastUpdatedBy); err != nil {
			return nil, fmt.Errorf("sqlstore: dataset records: %w", err)
		}
		r.Inputs, r.Outputs, r.Expectations, r.Tags, r.Source = json.RawMessage(inputs), rawOf(outputs), rawOf(expectations), rawOf(tags), rawOf(source)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: dataset records: %w", err)
	}
	return out, nil
}

// EvalRecords pages through a dataset's records in (created_time,
// record_id) order.
func (s *Store) EvalRecords(ctx context.Context, id, pageToken string, max int) ([]tracking.EvalRecord, string, error) {
	if err := s.evalDatasetExists(ctx, s.r, id, recordsNotFound); err != nil {
		return nil, "", err
	}
	query := `SELECT ` + evalRecordCols + ` FROM eval_dataset_records WHERE dataset_id = ?`
	args := []any{id}
	if pageToken != "" {
		ts, rid, err := tracking.DecodeRecordToken(pageToken)
		if err != nil {
			return nil, "", err
		}
		query += ` AND (created_time > ? OR (created_time = ? AND record_id > ?))`
		args = append(args, ts, ts, rid)
	}
	query += ` ORDER BY created_time, record_id LIMIT ?`
	args = append(args, max+1)
	recs, err := s.scanEvalRecords(ctx, s.r, query, args...)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(recs) > max {
		recs = recs[:max]
		last := recs[len(recs)-1]
		next = tracking.EncodeRecordToken(last.CreatedTime, last.RecordID)
	}
	return recs, next, nil
}

// EvalDatasetExperimentIDs lists the experiments a dataset is linked to.
func (s *Store) EvalDatasetExperimentIDs(ctx context.Context, id string) ([]string, error) {
	if err := s.evalDatasetExists(ctx, s.r, id, tracking.EvalDatasetNotFound); err != nil {
		return nil, err
	}
	return s.evalExperimentIDs(ctx, s.r, id)
}

func (s *Store) evalExperimentIDs(ctx context.Context, db queryer, id string) ([]string, error) {
	rows, err := db.QueryContext(ctx, s.q(`SELECT experiment_id FROM eval_dataset_experiments WHERE dataset_id = ? ORDER BY created_time, experiment_id`), id)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: dataset %s experiments: %w", id, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("sqlstore: dataset %s experiments: %w", id, err)
		}
		out = append(out, strconv.FormatInt(n, 10))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: dataset %s experiments: %w", id, err)
	}
	return out, nil
}

// AddEvalDatasetExperiments links a dataset to more experiments.
func (s *Store) AddEvalDatasetExperiments(ctx context.Context, id string, experimentIDs []string) (*tracking.EvalDataset, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.evalDatasetExists(ctx, tx, id, linkNotFound); err != nil {
			return err
		}
		exps, err := s.experimentNumbers(ctx, tx, experimentIDs)
		if err != nil {
			return err
		}
		now := nowMillis()
		if err := s.linkExperiments(ctx, tx, id, exps, now); err != nil {
			return err
		}
		return s.touchEvalDataset(ctx, tx, id, now)
	})
	if err != nil {
		return nil, err
	}
	return s.getEvalDataset(ctx, s.w, id)
}

// RemoveEvalDatasetExperiments unlinks a dataset from experiments.
func (s *Store) RemoveEvalDatasetExperiments(ctx context.Context, id string, experimentIDs []string) (*tracking.EvalDataset, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.evalDatasetExists(ctx, tx, id, linkNotFound); err != nil {
			return err
		}
		removed := int64(0)
		for _, e := range experimentIDs {
			n, err := strconv.ParseInt(e, 10, 64)
			if err != nil || !tracking.CanonicalID(e) {
				continue // never linked
			}
			res, err := tx.ExecContext(ctx, s.q(`DELETE FROM eval_dataset_experiments WHERE dataset_id = ? AND experiment_id = ?`), id, n)
			if err != nil {
				return fmt.Errorf("sqlstore: unlink dataset %s from experiment %s: %w", id, e, err)
			}
			k, _ := res.RowsAffected()
			removed += k
		}
		if removed == 0 {
			return nil
		}
		return s.touchEvalDataset(ctx, tx, id, nowMillis())
	})
	if err != nil {
		return nil, err
	}
	return s.getEvalDataset(ctx, s.w, id)
}

func (s *Store) touchEvalDataset(ctx context.Context, tx *sql.Tx, id string, now int64) error {
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE eval_datasets SET last_update_time = ? WHERE dataset_id = ?`), now, id); err != nil {
		return fmt.Errorf("sqlstore: dataset %s: %w", id, err)
	}
	return nil
}
