package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/dawn-ml/dawn/tracking"
)

const loggedModelCols = `model_id, experiment_id, name, artifact_location, creation_timestamp_ms, last_updated_timestamp_ms, status, model_type, source_run_id, status_message`

func loggedModelNotFound(id string) error {
	return tracking.NotFoundf("Logged model with ID '%s' not found.", id)
}

// CreateLoggedModel adds a PENDING logged model whose artifacts live under
// the experiment's artifact location, at models/<id>/artifacts (MLflow's
// layout, so clients upload through the same proxy paths).
func (s *Store) CreateLoggedModel(ctx context.Context, nm tracking.NewLoggedModel) (*tracking.LoggedModel, error) {
	exp, err := s.GetExperiment(ctx, nm.ExperimentID)
	if err != nil {
		return nil, err
	}
	if exp.LifecycleStage != tracking.StageActive {
		return nil, tracking.InvalidParameterf("The experiment %s must be in the 'active' state. Current state is %s.", exp.ExperimentID, exp.LifecycleStage)
	}
	hex := newID()
	id := tracking.LoggedModelIDPrefix + hex
	name := nm.Name
	if name == "" {
		name = generatedName(hex)
	}
	loc := strings.TrimRight(exp.ArtifactLocation, "/") + "/models/" + id + "/artifacts"
	now := nowMillis()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO logged_models (`+loggedModelCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '')`),
			id, mustInt(exp.ExperimentID), name, loc, now, now, tracking.LoggedModelPending, nm.ModelType, nm.SourceRunID); err != nil {
			return fmt.Errorf("sqlstore: create logged model: %w", err)
		}
		if err := s.insertModelParams(ctx, tx, id, nm.Params); err != nil {
			return err
		}
		return s.upsertModelTags(ctx, tx, id, nm.Tags)
	})
	if err != nil {
		return nil, err
	}
	return s.getLoggedModel(ctx, s.w, id)
}

func (s *Store) upsertModelTags(ctx context.Context, tx *sql.Tx, id string, tags []tracking.Tag) error {
	for _, t := range tags {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO logged_model_tags (model_id, key, value) VALUES (?, ?, ?)
			ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value`), id, t.Key, t.Value); err != nil {
			return fmt.Errorf("sqlstore: logged model %s tag %q: %w", id, t.Key, err)
		}
	}
	return nil
}

// insertModelParams adds params; as for runs, a param may be logged again
// with the same value but not changed.
func (s *Store) insertModelParams(ctx context.Context, tx *sql.Tx, id string, params []tracking.Param) error {
	for _, p := range params {
		var old string
		err := tx.QueryRowContext(ctx, s.q(`SELECT value FROM logged_model_params WHERE model_id = ? AND key = ?`), id, p.Key).Scan(&old)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO logged_model_params (model_id, key, value) VALUES (?, ?, ?)`), id, p.Key, p.Value); err != nil {
				return fmt.Errorf("sqlstore: logged model %s param %q: %w", id, p.Key, err)
			}
		case err != nil:
			return fmt.Errorf("sqlstore: logged model %s param %q: %w", id, p.Key, err)
		case old != p.Value:
			return tracking.InvalidParameterf("Changing param values is not allowed. Param with key='%s' was already logged with value='%s' for logged model ID='%s'. Attempted logging new value '%s'.", p.Key, old, id, p.Value)
		}
	}
	return nil
}

// activeModel checks inside tx that the model exists and is not deleted.
func (s *Store) activeModel(ctx context.Context, db queryer, id string) error {
	var stage string
	err := db.QueryRowContext(ctx, s.q(`SELECT lifecycle_stage FROM logged_models WHERE model_id = ?`), id).Scan(&stage)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && stage != tracking.StageActive) {
		return loggedModelNotFound(id)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: logged model %s: %w", id, err)
	}
	return nil
}

func (s *Store) touchLoggedModel(ctx context.Context, tx *sql.Tx, id string) error {
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE logged_models SET last_updated_timestamp_ms = ? WHERE model_id = ?`), nowMillis(), id); err != nil {
		return fmt.Errorf("sqlstore: logged model %s: %w", id, err)
	}
	return nil
}

// GetLoggedModel returns a logged model that is not deleted.
func (s *Store) GetLoggedModel(ctx context.Context, id string) (*tracking.LoggedModel, error) {
	return s.getLoggedModel(ctx, s.r, id)
}

func (s *Store) getLoggedModel(ctx context.Context, db queryer, id string) (*tracking.LoggedModel, error) {
	ms, err := s.queryLoggedModels(ctx, db, `SELECT `+loggedModelCols+` FROM logged_models WHERE model_id = ? AND lifecycle_stage = 'active'`, id)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, loggedModelNotFound(id)
	}
	return &ms[0], nil
}

// FinalizeLoggedModel sets the status (READY or UPLOAD_FAILED).
func (s *Store) FinalizeLoggedModel(ctx context.Context, id, status string) (*tracking.LoggedModel, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.activeModel(ctx, tx, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE logged_models SET status = ?, last_updated_timestamp_ms = ? WHERE model_id = ?`), status, nowMillis(), id); err != nil {
			return fmt.Errorf("sqlstore: finalize logged model %s: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.getLoggedModel(ctx, s.w, id)
}

// DeleteLoggedModel marks the model deleted; its artifacts stay until GC.
func (s *Store) DeleteLoggedModel(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.activeModel(ctx, tx, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE logged_models SET lifecycle_stage = 'deleted', last_updated_timestamp_ms = ? WHERE model_id = ?`), nowMillis(), id); err != nil {
			return fmt.Errorf("sqlstore: delete logged model %s: %w", id, err)
		}
		return nil
	})
}

// SetLoggedModelTags sets (overwrites) tags.
func (s *Store) SetLoggedModelTags(ctx context.Context, id string, tags []tracking.Tag) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.activeModel(ctx, tx, id); err != nil {
			return err
		}
		if err := s.upsertModelTags(ctx, tx, id, tags); err != nil {
			return err
		}
		return s.touchLoggedModel(ctx, tx, id)
	})
}

// DeleteLoggedModelTag removes a tag; a missing tag is not found.
func (s *Store) DeleteLoggedModelTag(ctx context.Context, id, key string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.activeModel(ctx, tx, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM logged_model_tags WHERE model_id = ? AND key = ?`), id, key)
		if err != nil {
			return fmt.Errorf("sqlstore: logged model %s tag %q: %w", id, key, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return tracking.NotFoundf("No tag with key '%s' found for model with ID '%s'.", key, id)
		}
		return s.touchLoggedModel(ctx, tx, id)
	})
}

// LogLoggedModelParams adds params to a model.
func (s *Store) LogLoggedModelParams(ctx context.Context, id string, params []tracking.Param) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.activeModel(ctx, tx, id); err != nil {
			return err
		}
		return s.insertModelParams(ctx, tx, id, params)
	})
}

// insertModelMetrics links the metrics that carry a model_id to their
// logged models, inside LogBatch's transaction. Every named model must
// exist and not be deleted.
func (s *Store) insertModelMetrics(ctx context.Context, tx *sql.Tx, runID string, metrics []tracking.Metric) error {
	checked := map[string]bool{}
	for _, m := range metrics {
		if m.ModelID == "" {
			continue
		}
		if !checked[m.ModelID] {
			if err := s.activeModel(ctx, tx, m.ModelID); err != nil {
				return err
			}
			checked[m.ModelID] = true
		}
		v, nan := splitNaN(float64(m.Value))
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO logged_model_metrics (model_id, key, timestamp, step, value, is_nan, run_id, dataset_name, dataset_digest)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
			m.ModelID, m.Key, int64(m.Timestamp), int64(m.Step), v, nan, runID, m.DatasetName, m.DatasetDigest); err != nil {
			return fmt.Errorf("sqlstore: logged model %s metric %q: %w", m.ModelID, m.Key, err)
		}
	}
	return nil
}

// LogOutputs records the logged models a run produced.
func (s *Store) LogOutputs(ctx context.Context, runID string, models []tracking.ModelOutput) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.activeRun(ctx, tx, runID); err != nil {
			return err
		}
		for _, m := range models {
			if err := s.activeModel(ctx, tx, m.ModelID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO run_model_outputs (run_uuid, model_id, step) VALUES (?, ?, ?)
				ON CONFLICT (run_uuid, model_id) DO UPDATE SET step = excluded.step`), runID, m.ModelID, int64(m.Step)); err != nil {
				return fmt.Errorf("sqlstore: run %s outputs: %w", runID, err)
			}
		}
		return nil
	})
}

// LogModelInputs records the logged models a run used.
func (s *Store) LogModelInputs(ctx context.Context, runID string, models []tracking.ModelInput) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.activeRun(ctx, tx, runID); err != nil {
			return err
		}
		for _, m := range models {
			if err := s.activeModel(ctx, tx, m.ModelID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO run_model_inputs (run_uuid, model_id) VALUES (?, ?) ON CONFLICT DO NOTHING`), runID, m.ModelID); err != nil {
				return fmt.Errorf("sqlstore: run %s model inputs: %w", runID, err)
			}
		}
		return nil
	})
}

// queryLoggedModels runs a SELECT of loggedModelCols and fills each
// model's tags, params, metrics and registrations with one query each per
// chunk of models.
func (s *Store) queryLoggedModels(ctx context.Context, db queryer, query string, args ...any) ([]tracking.LoggedModel, error) {
	rows, err := db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: logged models: %w", err)
	}
	var out []tracking.LoggedModel
	for rows.Next() {
		var m tracking.LoggedModel
		i := &m.Info
		var exp, ct, ut int64
		if err := rows.Scan(&i.ModelID, &exp, &i.Name, &i.ArtifactURI, &ct, &ut, &i.Status, &i.ModelType, &i.SourceRunID, &i.StatusMessage); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlstore: logged models: %w", err)
		}
		i.ExperimentID = fmt.Sprint(exp)
		i.CreationTimestampMs, i.LastUpdatedTimestampMs = tracking.Int64(ct), tracking.Int64(ut)
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: logged models: %w", err)
	}
	for start := 0; start < len(out); start += loadChunk {
		if err := s.fillLoggedModels(ctx, db, out[start:min(start+loadChunk, len(out))]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) fillLoggedModels(ctx context.Context, db queryer, ms []tracking.LoggedModel) error {
	idx := make(map[string]*tracking.LoggedModel, len(ms))
	ids := make([]any, len(ms))
	for i := range ms {
		idx[ms[i].Info.ModelID] = &ms[i]
		ids[i] = ms[i].Info.ModelID
	}
	in := "(" + placeholders(len(ids)) + ")"
	each := func(what, query string, args []any, scan func(*sql.Rows) error) error {
		rows, err := db.QueryContext(ctx, s.q(query), args...)
		if err != nil {
			return fmt.Errorf("sqlstore: logged model %s: %w", what, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return fmt.Errorf("sqlstore: logged model %s: %w", what, err)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlstore: logged model %s: %w", what, err)
		}
		return nil
	}
	for _, table := range []string{"logged_model_tags", "logged_model_params"} {
		err := each(table, `SELECT model_id, key, value FROM `+table+` WHERE model_id IN `+in+` ORDER BY key`, ids, func(rows *sql.Rows) error {
			var id, k, v string
			if err := rows.Scan(&id, &k, &v); err != nil {
				return err
			}
			if table == "logged_model_tags" {
				idx[id].Info.Tags = append(idx[id].Info.Tags, tracking.Tag{Key: k, Value: v})
			} else {
				idx[id].Data.Params = append(idx[id].Data.Params, tracking.Param{Key: k, Value: v})
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	err := each("metrics", `SELECT model_id, key, timestamp, step, value, is_nan, run_id, dataset_name, dataset_digest FROM logged_model_metrics
		WHERE model_id IN `+in+` ORDER BY key, timestamp, step, run_id, dataset_name, dataset_digest`, ids, func(rows *sql.Rows) error {
		var m tracking.Metric
		var ts, step int64
		var v float64
		var nan int
		if err := rows.Scan(&m.ModelID, &m.Key, &ts, &step, &v, &nan, &m.RunID, &m.DatasetName, &m.DatasetDigest); err != nil {
			return err
		}
		if nan != 0 {
			v = math.NaN()
		}
		m.Timestamp, m.Step, m.Value = tracking.Int64(ts), tracking.Int64(step), tracking.Float(v)
		lm := idx[m.ModelID]
		lm.Data.Metrics = append(lm.Data.Metrics, m)
		return nil
	})
	if err != nil {
		return err
	}
	return each("registrations", `SELECT model_id, name, version FROM model_versions WHERE model_id IN `+in+` AND current_stage <> ? ORDER BY name, version`,
		append(ids, deletedStage), func(rows *sql.Rows) error {
			var id, name string
			var v int64
			if err := rows.Scan(&id, &name, &v); err != nil {
				return err
			}
			idx[id].Info.Registrations = append(idx[id].Info.Registrations, tracking.LoggedModelRegistration{Name: name, Version: fmt.Sprint(v)})
			return nil
		})
}

// SearchLoggedModels filters and orders logged models of the experiments.
func (s *Store) SearchLoggedModels(ctx context.Context, q tracking.LoggedModelQuery) ([]tracking.LoggedModel, string, error) {
	offset, err := tracking.DecodePageToken(q.PageToken)
	if err != nil {
		return nil, "", err
	}
	if len(q.ExperimentIDs) == 0 {
		return nil, "", nil
	}
	var where []string
	var args []any
	exps := make([]any, 0, len(q.ExperimentIDs))
	for _, e := range q.ExperimentIDs {
		n, err := parseExperimentID(e)
		if err != nil {
			return nil, "", tracking.InvalidParameterf("Invalid experiment ID %q", e)
		}
		exps = append(exps, n)
	}
	where = append(where, `m.lifecycle_stage = 'active'`, `m.experiment_id IN (`+placeholders(len(exps))+`)`)
	args = append(args, exps...)
	dsCond, dsArgs := datasetRefsCond("x.", q.Datasets)
	metricFilters := 0
	for _, c := range q.Filter {
		switch c.Entity {
		case tracking.EntityAttribute:
			col := "m." + c.Key
			switch {
			case c.IsNum:
				where = append(where, col+" "+c.Op+" ?")
				args = append(args, c.Num)
			case c.Op == "IN" || c.Op == "NOT IN":
				where = append(where, col+" "+c.Op+" ("+placeholders(len(c.List))+")")
				for _, v := range c.List {
					args = append(args, v)
				}
			default:
				where = append(where, likeCond(col, c.Op))
				args = append(args, c.Str)
			}
		case tracking.EntityMetric:
			metricFilters++
			cond := `EXISTS (SELECT 1 FROM logged_model_metrics x WHERE x.model_id = m.model_id AND x.key = ? AND x.is_nan = 0 AND x.value ` + c.Op + ` ?`
			args = append(args, c.Key, c.Num)
			if dsCond != "" {
				cond += " AND " + dsCond
				args = append(args, dsArgs...)
			}
			where = append(where, cond+")")
		case tracking.EntityParam, tracking.EntityTag:
			table := "logged_model_params"
			if c.Entity == tracking.EntityTag {
				table = "logged_model_tags"
			}
			if c.Op == "IN" || c.Op == "NOT IN" {
				where = append(where, `EXISTS (SELECT 1 FROM `+table+` x WHERE x.model_id = m.model_id AND x.key = ? AND x.value `+c.Op+` (`+placeholders(len(c.List))+`))`)
				args = append(args, c.Key)
				for _, v := range c.List {
					args = append(args, v)
				}
				continue
			}
			where = append(where, `EXISTS (SELECT 1 FROM `+table+` x WHERE x.model_id = m.model_id AND x.key = ? AND `+likeCond("x.value", c.Op)+`)`)
			args = append(args, c.Key, c.Str)
		default:
			return nil, "", tracking.InvalidParameterf("Invalid filter entity %s for logged models", c.Entity)
		}
	}
	if dsCond != "" && metricFilters == 0 {
		where = append(where, `EXISTS (SELECT 1 FROM logged_model_metrics x WHERE x.model_id = m.model_id AND `+dsCond+`)`)
		args = append(args, dsArgs...)
	}
	var order []string
	var orderArgs []any
	byCreation := false
	for _, o := range q.OrderBy {
		if !o.Metric {
			if o.Key == "creation_timestamp_ms" {
				byCreation = true
			}
			order = append(order, orderSQL("m."+o.Key, o.Desc))
			continue
		}
		// The latest point of the metric (by timestamp, then step), on
		// the dataset when one is named.
		sub := `(SELECT CASE WHEN x.is_nan = 1 THEN NULL ELSE x.value END FROM logged_model_metrics x WHERE x.model_id = m.model_id AND x.key = ?`
		subArgs := []any{o.Key}
		if o.DatasetName != "" {
			sub += ` AND x.dataset_name = ?`
			subArgs = append(subArgs, o.DatasetName)
		}
		if o.DatasetDigest != "" {
			sub += ` AND x.dataset_digest = ?`
			subArgs = append(subArgs, o.DatasetDigest)
		}
		sub += ` ORDER BY x.timestamp DESC, x.step DESC LIMIT 1)`
		order = append(order, orderSQL(sub, o.Desc))
		// orderSQL names the expression twice.
		orderArgs = append(orderArgs, subArgs...)
		orderArgs = append(orderArgs, subArgs...)
	}
	if !byCreation {
		order = append(order, "m.creation_timestamp_ms DESC")
	}
	order = append(order, "m.model_id")
	query := `SELECT ` + prefixCols("m.", loggedModelCols) + ` FROM logged_models m WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + strings.Join(order, ", ") + ` LIMIT ? OFFSET ?`
	args = append(args, orderArgs...)
	args = append(args, q.MaxResults+1, offset)
	ms, err := s.queryLoggedModels(ctx, s.r, query, args...)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(ms) > q.MaxResults {
		ms = ms[:q.MaxResults]
		next = tracking.EncodePageToken(offset + q.MaxResults)
	}
	return ms, next, nil
}

// datasetRefsCond matches a metric row (columns prefixed by p) on any of
// the datasets.
func datasetRefsCond(p string, ds []tracking.DatasetRef) (string, []any) {
	if len(ds) == 0 {
		return "", nil
	}
	var ors []string
	var args []any
	for _, d := range ds {
		if d.Digest != "" {
			ors = append(ors, "("+p+"dataset_name = ? AND "+p+"dataset_digest = ?)")
			args = append(args, d.Name, d.Digest)
		} else {
			ors = append(ors, p+"dataset_name = ?")
			args = append(args, d.Name)
		}
	}
	return "(" + strings.Join(ors, " OR ") + ")", args
}
