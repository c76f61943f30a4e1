package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/dawn-ml/dawn/tracking"
)

const runNameTag = "mlflow.runName"

const runCols = `run_uuid, name, experiment_id, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage`

func scanRunInfo(sc interface{ Scan(...any) error }) (tracking.RunInfo, error) {
	var ri tracking.RunInfo
	var exp int64
	var start, end sql.NullInt64
	err := sc.Scan(&ri.RunID, &ri.RunName, &exp, &ri.UserID, &ri.Status, &start, &end, &ri.ArtifactURI, &ri.LifecycleStage)
	ri.RunUUID = ri.RunID
	ri.ExperimentID = strconv.FormatInt(exp, 10)
	if start.Valid {
		ri.StartTime = tracking.Int64(start.Int64)
	}
	if end.Valid {
		v := tracking.Int64(end.Int64)
		ri.EndTime = &v
	}
	return ri, err
}

// CreateRun makes a RUNNING run in an active experiment.
func (s *Store) CreateRun(ctx context.Context, nr tracking.NewRun) (*tracking.Run, error) {
	id := newID()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		exp, err := s.getExperiment(ctx, tx, `experiment_id = ?`, mustInt(nr.ExperimentID), fmt.Sprintf("No Experiment with id=%s exists", nr.ExperimentID))
		if err != nil {
			return err
		}
		if _, perr := parseExperimentID(nr.ExperimentID); perr != nil {
			return perr
		}
		if exp.LifecycleStage != tracking.StageActive {
			return tracking.InvalidParameterf("The experiment %s must be in the 'active' state. Current state is %s.", exp.ExperimentID, exp.LifecycleStage)
		}
		name := nr.RunName
		for _, t := range nr.Tags {
			if t.Key == runNameTag && name == "" {
				name = t.Value
			}
		}
		if name == "" {
			name = generatedName(id)
		}
		uri := strings.TrimSuffix(exp.ArtifactLocation, "/") + "/" + id + "/artifacts"
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO runs (`+runCols+`) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, 'active')`),
			id, name, mustInt(exp.ExperimentID), nr.UserID, tracking.StatusRunning, nr.StartTime, uri); err != nil {
			return fmt.Errorf("sqlstore: create run: %w", err)
		}
		tags := append([]tracking.Tag{{Key: runNameTag, Value: name}}, nr.Tags...)
		if nr.UserID != "" {
			tags = append(tags, tracking.Tag{Key: "mlflow.user", Value: nr.UserID})
		}
		return s.upsertTags(ctx, tx, id, tags)
	})
	if err != nil {
		return nil, err
	}
	return s.GetRun(ctx, id)
}

// mustInt is the number a canonical id spells, else -1 (which matches no
// row): "01" is not "1".
func mustInt(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || !tracking.CanonicalID(s) {
		return -1
	}
	return n
}

var adjectives = []string{"amber", "bold", "calm", "clever", "crisp", "eager", "gentle", "keen", "lucid", "merry", "quiet", "rapid", "sunny", "vivid", "wise", "young"}
var nouns = []string{"bear", "crane", "dove", "finch", "fox", "hare", "heron", "lark", "lynx", "moth", "otter", "owl", "seal", "stork", "swan", "wren"}

// generatedName makes a readable run name from the run id, like MLflow's
// "adjective-noun-number" names.
func generatedName(id string) string {
	b := []byte(id)
	return fmt.Sprintf("%s-%s-%d", adjectives[int(b[0])%len(adjectives)], nouns[int(b[1])%len(nouns)], (int(b[2])*256+int(b[3]))%1000)
}

func (s *Store) upsertTags(ctx context.Context, tx *sql.Tx, runID string, tags []tracking.Tag) error {
	for _, t := range tags {
		if _, err := s.exec(ctx, tx, qUpsertTag, runID, t.Key, t.Value); err != nil {
			return fmt.Errorf("sqlstore: run %s tag %q: %w", runID, t.Key, err)
		}
		if t.Key == runNameTag {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE runs SET name = ? WHERE run_uuid = ?`), t.Value, runID); err != nil {
				return fmt.Errorf("sqlstore: run %s name: %w", runID, err)
			}
		}
	}
	return nil
}

// GetRun returns a run with its latest metrics, params, tags and inputs.
func (s *Store) GetRun(ctx context.Context, id string) (*tracking.Run, error) {
	ri, err := scanRunInfo(s.r.QueryRowContext(ctx, s.q(`SELECT `+runCols+` FROM runs WHERE run_uuid = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tracking.NotFoundf("Run with id=%s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get run %s: %w", id, err)
	}
	runs := []tracking.Run{{Info: ri}}
	if err := s.loadRunData(ctx, runs, nil); err != nil {
		return nil, err
	}
	return &runs[0], nil
}

// runState returns a run's lifecycle stage, or a not-found error.
func (s *Store) runState(ctx context.Context, db queryer, id string) (string, error) {
	var stage string
	err := db.QueryRowContext(ctx, s.q(`SELECT lifecycle_stage FROM runs WHERE run_uuid = ?`), id).Scan(&stage)
	if errors.Is(err, sql.ErrNoRows) {
		return "", tracking.NotFoundf("Run with id=%s not found", id)
	}
	if err != nil {
		return "", fmt.Errorf("sqlstore: run %s: %w", id, err)
	}
	return stage, nil
}

// activeRun returns the internal key of an active run.
func (s *Store) activeRun(ctx context.Context, tx *sql.Tx, id string) (int64, error) {
	var stage string
	var key int64
	err := s.queryRow(ctx, tx, qRunStage, id).Scan(&key, &stage)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, tracking.NotFoundf("Run with id=%s not found", id)
	}
	if err != nil {
		return 0, fmt.Errorf("sqlstore: run %s: %w", id, err)
	}
	if stage != tracking.StageActive {
		return 0, tracking.InvalidParameterf("The run %s must be in the 'active' state. Current state is %s.", id, stage)
	}
	return key, nil
}

// UpdateRun sets status, end time and name.
func (s *Store) UpdateRun(ctx context.Context, id string, u tracking.RunUpdate) (*tracking.RunInfo, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.activeRun(ctx, tx, id); err != nil {
			return err
		}
		if u.Status != "" {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE runs SET status = ? WHERE run_uuid = ?`), u.Status, id); err != nil {
				return fmt.Errorf("sqlstore: update run %s: %w", id, err)
			}
		}
		if u.EndTime != nil {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE runs SET end_time = ? WHERE run_uuid = ?`), *u.EndTime, id); err != nil {
				return fmt.Errorf("sqlstore: update run %s: %w", id, err)
			}
		}
		if u.RunName != "" {
			return s.upsertTags(ctx, tx, id, []tracking.Tag{{Key: runNameTag, Value: u.RunName}})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ri, err := scanRunInfo(s.w.QueryRowContext(ctx, s.q(`SELECT `+runCols+` FROM runs WHERE run_uuid = ?`), id))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: update run %s: %w", id, err)
	}
	return &ri, nil
}

// SetRunStage deletes or restores a run.
func (s *Store) SetRunStage(ctx context.Context, id, stage string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.runState(ctx, tx, id); err != nil {
			return err
		}
		var del any
		if stage == tracking.StageDeleted {
			del = nowMillis()
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE run_uuid = ?`), stage, del, id); err != nil {
			return fmt.Errorf("sqlstore: run %s stage: %w", id, err)
		}
		return nil
	})
}

const (
	qRunStage    = `SELECT run_key, lifecycle_stage FROM runs WHERE run_uuid = ?`
	qUpsertTag   = `INSERT INTO tags (run_uuid, key, value) VALUES (?, ?, ?) ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value`
	qInsertParam = `INSERT INTO params (run_uuid, key, value) VALUES (?, ?, ?)`
)

func metricInsertSQL(rows int) string {
	return `INSERT INTO metrics (run_key, key, step, timestamp, value, is_nan) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?),", rows), ",") + ` ON CONFLICT DO NOTHING`
}

// latestUpsertSQL keeps the latest value per key: MLflow orders points by
// step, then timestamp, then value (NaN above numbers).
func latestUpsertSQL(rows int) string {
	return `INSERT INTO latest_metrics AS l (run_key, key, step, timestamp, value, is_nan) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?),", rows), ",") +
		` ON CONFLICT (run_key, key) DO UPDATE SET step = excluded.step, timestamp = excluded.timestamp, value = excluded.value, is_nan = excluded.is_nan
		WHERE excluded.step > l.step OR (excluded.step = l.step AND (excluded.timestamp > l.timestamp
			OR (excluded.timestamp = l.timestamp AND (excluded.is_nan > l.is_nan OR (excluded.is_nan = l.is_nan AND excluded.value > l.value)))))`
}

// metricRowsPerInsert bounds a multi-row INSERT: 6 values per row stays far
// under SQLite's and PostgreSQL's bound-variable limits.
const metricRowsPerInsert = 200

// latestPrepared is the most distinct keys of a batch whose latest-value
// upsert is a prepared statement.
const latestPrepared = 32

// LogBatch appends metrics, adds params (immutable) and sets tags in one
// transaction.
func (s *Store) LogBatch(ctx context.Context, runID string, metrics []tracking.Metric, params []tracking.Param, tags []tracking.Tag) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		key, err := s.activeRun(ctx, tx, runID)
		if err != nil {
			return err
		}
		if err := s.insertParams(ctx, tx, runID, params); err != nil {
			return err
		}
		if err := s.insertMetrics(ctx, tx, runID, key, metrics); err != nil {
			return err
		}
		if err := s.insertModelMetrics(ctx, tx, runID, metrics); err != nil {
			return err
		}
		return s.upsertTags(ctx, tx, runID, tags)
	})
}

func (s *Store) insertParams(ctx context.Context, tx *sql.Tx, runID string, params []tracking.Param) error {
	if len(params) == 0 {
		return nil
	}
	args := []any{runID}
	for _, p := range params {
		args = append(args, p.Key)
	}
	rows, err := tx.QueryContext(ctx, s.q(`SELECT key, value FROM params WHERE run_uuid = ? AND key IN (`+placeholders(len(params))+`)`), args...)
	if err != nil {
		return fmt.Errorf("sqlstore: run %s params: %w", runID, err)
	}
	have := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return fmt.Errorf("sqlstore: run %s params: %w", runID, err)
		}
		have[k] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlstore: run %s params: %w", runID, err)
	}
	var changed []string
	for _, p := range params {
		if v, ok := have[p.Key]; ok && v != p.Value {
			changed = append(changed, fmt.Sprintf("Param(key='%s', old_value='%s', new_value='%s')", p.Key, v, p.Value))
		}
	}
	if len(changed) > 0 {
		return tracking.InvalidParameterf("Changing param values is not allowed. Params were already logged for run ID='%s': %s.", runID, strings.Join(changed, ", "))
	}
	for _, p := range params {
		if _, ok := have[p.Key]; ok {
			continue
		}
		have[p.Key] = p.Value
		if _, err := s.exec(ctx, tx, qInsertParam, runID, p.Key, p.Value); err != nil {
			return fmt.Errorf("sqlstore: run %s param %q: %w", runID, p.Key, err)
		}
	}
	return nil
}

func splitNaN(v float64) (float64, int) {
	if math.IsNaN(v) {
		return 0, 1
	}
	return v, 0
}

// later reports whether a supersedes b as the latest value: MLflow orders by
// step, then timestamp, then value.
func later(a, b tracking.Metric) bool {
	if a.Step != b.Step {
		return a.Step > b.Step
	}
	if a.Timestamp != b.Timestamp {
		return a.Timestamp > b.Timestamp
	}
	av, bv := float64(a.Value), float64(b.Value)
	if math.IsNaN(bv) {
		return false
	}
	return math.IsNaN(av) || av > bv
}

func (s *Store) insertMetrics(ctx context.Context, tx *sql.Tx, runID string, runKey int64, metrics []tracking.Metric) error {
	if len(metrics) == 0 {
		return nil
	}
	latest := map[string]tracking.Metric{}
	args := make([]any, 0, 6*min(len(metrics), metricRowsPerInsert))
	for start := 0; start < len(metrics); start += metricRowsPerInsert {
		chunk := metrics[start:min(start+metricRowsPerInsert, len(metrics))]
		args = args[:0]
		for _, m := range chunk {
			v, nan := splitNaN(float64(m.Value))
			args = append(args, runKey, m.Key, int64(m.Step), int64(m.Timestamp), v, nan)
			if cur, ok := latest[m.Key]; !ok || later(m, cur) {
				latest[m.Key] = m
			}
		}
		if _, err := s.exec(ctx, tx, metricInsertSQL(len(chunk)), args...); err != nil {
			return fmt.Errorf("sqlstore: run %s metrics: %w", runID, err)
		}
	}
	keys := make([]string, 0, len(latest))
	for k := range latest {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for start := 0; start < len(keys); start += metricRowsPerInsert {
		chunk := keys[start:min(start+metricRowsPerInsert, len(keys))]
		args = args[:0]
		for _, k := range chunk {
			m := latest[k]
			v, nan := splitNaN(float64(m.Value))
			args = append(args, runKey, k, int64(m.Step), int64(m.Timestamp), v, nan)
		}
		if _, err := s.exec(ctx, tx, latestUpsertSQL(len(chunk)), args...); err != nil {
			return fmt.Errorf("sqlstore: run %s latest metrics: %w", runID, err)
		}
	}
	return nil
}

// DeleteTag removes a run tag.
func (s *Store) DeleteTag(ctx context.Context, runID, key string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.activeRun(ctx, tx, runID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM tags WHERE run_uuid = ? AND key = ?`), runID, key)
		if err != nil {
			return fmt.Errorf("sqlstore: run %s delete tag %q: %w", runID, key, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return tracking.NotFoundf("No tag with name: %s in run with id %s", key, runID)
		}
		return nil
	})
}

// LogInputs records datasets used by a run; a dataset is shared by all runs
// of the experiment that log the same (name, digest).
func (s *Store) LogInputs(ctx context.Context, runID string, inputs []tracking.DatasetInput) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.activeRun(ctx, tx, runID); err != nil {
			return err
		}
		var exp int64
		if err := tx.QueryRowContext(ctx, s.q(`SELECT experiment_id FROM runs WHERE run_uuid = ?`), runID).Scan(&exp); err != nil {
			return fmt.Errorf("sqlstore: log inputs %s: %w", runID, err)
		}
		for _, in := range inputs {
			d := in.Dataset
			var dsID string
			err := tx.QueryRowContext(ctx, s.q(`SELECT dataset_uuid FROM datasets WHERE experiment_id = ? AND name = ? AND digest = ?`), exp, d.Name, d.Digest).Scan(&dsID)
			if errors.Is(err, sql.ErrNoRows) {
				dsID = newID()
				_, err = tx.ExecContext(ctx, s.q(`INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, source_type, source, schema, profile) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
					dsID, exp, d.Name, d.Digest, d.SourceType, d.Source, d.Schema, d.Profile)
			}
			if err != nil {
				return fmt.Errorf("sqlstore: log inputs %s: dataset %q: %w", runID, d.Name, err)
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO run_inputs (run_uuid, dataset_uuid) VALUES (?, ?) ON CONFLICT DO NOTHING`), runID, dsID); err != nil {
				return fmt.Errorf("sqlstore: log inputs %s: %w", runID, err)
			}
			for _, t := range in.Tags {
				if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO input_tags (run_uuid, dataset_uuid, key, value) VALUES (?, ?, ?, ?)
					ON CONFLICT (run_uuid, dataset_uuid, key) DO UPDATE SET value = excluded.value`), runID, dsID, t.Key, t.Value); err != nil {
					return fmt.Errorf("sqlstore: log inputs %s: tag %q: %w", runID, t.Key, err)
				}
			}
		}
		return nil
	})
}

// MetricHistory streams one metric's points in step, timestamp order.
func (s *Store) MetricHistory(ctx context.Context, runID, key, pageToken string, max int, fn func(tracking.Metric) error) (string, error) {
	var runKey int64
	err := s.r.QueryRowContext(ctx, s.q(`SELECT run_key FROM runs WHERE run_uuid = ?`), runID).Scan(&runKey)
	if errors.Is(err, sql.ErrNoRows) {
		return "", tracking.NotFoundf("Run with id=%s not found", runID)
	}
	if err != nil {
		return "", fmt.Errorf("sqlstore: metric history %s: %w", runID, err)
	}
	offset, err := tracking.DecodePageToken(pageToken)
	if err != nil {
		return "", err
	}
	limit := int64(-1)
	if max > 0 {
		limit = int64(max) + 1
	}
	if s.dialect == Postgres && limit < 0 {
		limit = math.MaxInt64
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT step, timestamp, value, is_nan FROM metrics WHERE run_key = ? AND key = ?
		ORDER BY step, timestamp, is_nan, value LIMIT ? OFFSET ?`), runKey, key, limit, offset)
	if err != nil {
		return "", fmt.Errorf("sqlstore: metric history %s %q: %w", runID, key, err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		if max > 0 && n == max {
			return tracking.EncodePageToken(offset + max), nil
		}
		m := tracking.Metric{Key: key}
		var step, ts int64
		var v float64
		var nan int
		if err := rows.Scan(&step, &ts, &v, &nan); err != nil {
			return "", fmt.Errorf("sqlstore: metric history %s %q: %w", runID, key, err)
		}
		if nan != 0 {
			v = math.NaN()
		}
		m.Step, m.Timestamp, m.Value = tracking.Int64(step), tracking.Int64(ts), tracking.Float(v)
		if err := fn(m); err != nil {
			return "", err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("sqlstore: metric history %s %q: %w", runID, key, err)
	}
	return "", nil
}
