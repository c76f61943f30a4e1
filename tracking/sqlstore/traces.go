package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/dawn-ml/dawn/tracking"
)

// Traces: trace_info with trace_tags and trace_request_metadata, spans
// (one row per span, content = MLflow's span dictionary), assessments and
// trace_run_links. Child rows are deleted with their trace.

const traceCols = `request_id, experiment_id, timestamp_ms, execution_time_ms, status, client_request_id, request_preview, response_preview`

// traceIDsPerQuery bounds the ids bound into one IN list.
const traceIDsPerQuery = 500

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func traceNotFound(id string) error { return tracking.NotFoundf("Trace with ID '%s' not found.", id) }

// activeExperiment returns the experiment's id and artifact location,
// refusing a deleted experiment as MLflow does (its check before every
// trace and scorer write).
func (s *Store) activeExperiment(ctx context.Context, id string) (int64, string, error) {
	e, err := s.GetExperiment(ctx, id)
	if err != nil {
		return 0, "", err
	}
	if e.LifecycleStage != tracking.StageActive {
		return 0, "", tracking.InvalidParameterf("The experiment %s must be in the 'active' state. Current state is %s.", id, e.LifecycleStage)
	}
	n, _ := parseExperimentID(e.ExperimentID)
	return n, e.ArtifactLocation, nil
}

// qTraceKV upserts one tag or metadata entry of a trace.
func qTraceKV(table string) string {
	return `INSERT INTO ` + table + ` (request_id, key, value) VALUES (?, ?, ?) ON CONFLICT (request_id, key) DO UPDATE SET value = excluded.value`
}

func (s *Store) upsertTraceKV(ctx context.Context, tx *sql.Tx, table, id string, kv map[string]string) error {
	for k, v := range kv {
		if _, err := s.exec(ctx, tx, qTraceKV(table), id, k, v); err != nil {
			return fmt.Errorf("sqlstore: trace %s: %s: %w", id, table, err)
		}
	}
	return nil
}

// traceExperiment returns the experiment of a trace (false when absent).
func (s *Store) traceExperiment(ctx context.Context, db queryer, id string) (int64, bool, error) {
	var exp int64
	err := db.QueryRowContext(ctx, s.q(`SELECT experiment_id FROM trace_info WHERE request_id = ?`), id).Scan(&exp)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("sqlstore: trace %s: %w", id, err)
	}
	return exp, true, nil
}

// mustTrace reports a missing trace as RESOURCE_DOES_NOT_EXIST.
func (s *Store) mustTrace(ctx context.Context, db queryer, id string) error {
	_, ok, err := s.traceExperiment(ctx, db, id)
	if err == nil && !ok {
		err = traceNotFound(id)
	}
	return err
}

func otherExperiment(id string, have, want int64) error {
	return tracking.InvalidParameterf("Trace %s belongs to experiment %d, not %d", id, have, want)
}

// StartTrace records a trace's info (see tracking.Traces).
func (s *Store) StartTrace(ctx context.Context, t tracking.TraceInfo) (*tracking.TraceInfo, error) {
	exp, loc, err := s.activeExperiment(ctx, t.ExperimentID)
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for k, v := range t.Tags {
		tags[k] = v
	}
	tags[tracking.TraceTagArtifactLocation] = tracking.TraceArtifactLocation(loc, t.TraceID)
	var exec any
	if t.ExecutionMs != nil {
		exec = *t.ExecutionMs
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		have, ok, err := s.traceExperiment(ctx, tx, t.TraceID)
		if err != nil {
			return err
		}
		switch {
		case ok && have != exp:
			return otherExperiment(t.TraceID, have, exp)
		case ok:
			// The spans came first: take this info, keep what it lacks.
			_, err = tx.ExecContext(ctx, s.q(`UPDATE trace_info SET timestamp_ms = ?, execution_time_ms = COALESCE(?, execution_time_ms), status = ?,
				client_request_id = COALESCE(?, client_request_id), request_preview = COALESCE(?, request_preview), response_preview = COALESCE(?, response_preview)
				WHERE request_id = ?`), t.RequestTimeMs, exec, t.State, nullStr(t.ClientRequestID), nullStr(t.RequestPreview), nullStr(t.ResponsePreview), t.TraceID)
		default:
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO trace_info (`+traceCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
				t.TraceID, exp, t.RequestTimeMs, exec, t.State, nullStr(t.ClientRequestID), nullStr(t.RequestPreview), nullStr(t.ResponsePreview))
		}
		if err != nil {
			return fmt.Errorf("sqlstore: start trace %s: %w", t.TraceID, err)
		}
		if err := s.upsertTraceKV(ctx, tx, "trace_tags", t.TraceID, tags); err != nil {
			return err
		}
		return s.upsertTraceKV(ctx, tx, "trace_request_metadata", t.TraceID, t.Metadata)
	})
	if err != nil {
		return nil, err
	}
	return s.GetTraceInfo(ctx, t.TraceID)
}

// EndTraceV2 completes a v2 trace.
func (s *Store) EndTraceV2(ctx context.Context, id string, endMs int64, state string, metadata, tags map[string]string) (*tracking.TraceInfo, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var start int64
		err := tx.QueryRowContext(ctx, s.q(`SELECT timestamp_ms FROM trace_info WHERE request_id = ?`), id).Scan(&start)
		if errors.Is(err, sql.ErrNoRows) {
			return traceNotFound(id)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: end trace %s: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE trace_info SET execution_time_ms = ?, status = ? WHERE request_id = ?`), endMs-start, state, id); err != nil {
			return fmt.Errorf("sqlstore: end trace %s: %w", id, err)
		}
		if err := s.upsertTraceKV(ctx, tx, "trace_request_metadata", id, metadata); err != nil {
			return err
		}
		return s.upsertTraceKV(ctx, tx, "trace_tags", id, tags)
	})
	if err != nil {
		return nil, err
	}
	return s.GetTraceInfo(ctx, id)
}

// GetTraceInfo returns a trace's info with its tags, metadata and
// assessments.
func (s *Store) GetTraceInfo(ctx context.Context, id string) (*tracking.TraceInfo, error) {
	infos, err := s.traceInfos(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	if len(infos) == 0 {
		return nil, traceNotFound(id)
	}
	return &infos[0], nil
}

// traceInfos loads the traces of ids (at most traceIDsPerQuery) in the
// order given; missing ones are left out.
func (s *Store) traceInfos(ctx context.Context, ids []string) ([]tracking.TraceInfo, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	in := placeholders(len(ids))
	byID := map[string]*tracking.TraceInfo{}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+traceCols+` FROM trace_info WHERE request_id IN (`+in+`)`), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: trace infos: %w", err)
	}
	for rows.Next() {
		var t tracking.TraceInfo
		var exp int64
		var exec sql.NullInt64
		var crid, reqp, resp sql.NullString
		if err := rows.Scan(&t.TraceID, &exp, &t.RequestTimeMs, &exec, &t.State, &crid, &reqp, &resp); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlstore: trace infos: %w", err)
		}
		t.ExperimentID = fmt.Sprint(exp)
		if exec.Valid {
			v := exec.Int64
			t.ExecutionMs = &v
		}
		t.ClientRequestID, t.RequestPreview, t.ResponsePreview = crid.String, reqp.String, resp.String
		t.Tags, t.Metadata = map[string]string{}, map[string]string{}
		byID[t.TraceID] = &t
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, fmt.Errorf("sqlstore: trace infos: %w", err)
	}
	rows.Close()
	for _, table := range []string{"trace_tags", "trace_request_metadata"} {
		rows, err := s.r.QueryContext(ctx, s.q(`SELECT request_id, key, value FROM `+table+` WHERE request_id IN (`+in+`)`), args...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: trace %s: %w", table, err)
		}
		for rows.Next() {
			var id, k, v string
			if err := rows.Scan(&id, &k, &v); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore: trace %s: %w", table, err)
			}
			if t := byID[id]; t != nil {
				if table == "trace_tags" {
					t.Tags[k] = v
				} else {
					t.Metadata[k] = v
				}
			}
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlstore: trace %s: %w", table, err)
		}
		rows.Close()
	}
	rows, err = s.r.QueryContext(ctx, s.q(`SELECT trace_id, body, valid FROM assessments WHERE trace_id IN (`+in+`) ORDER BY created_ms, assessment_id`), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: trace assessments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, body string
		var valid bool
		if err := rows.Scan(&id, &body, &valid); err != nil {
			return nil, fmt.Errorf("sqlstore: trace assessments: %w", err)
		}
		a, err := decodeAssessment(body, valid)
		if err != nil {
			return nil, err
		}
		if t := byID[id]; t != nil {
			t.Assessments = append(t.Assessments, *a)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: trace assessments: %w", err)
	}
	out := make([]tracking.TraceInfo, 0, len(byID))
	for _, id := range ids {
		if t := byID[id]; t != nil {
			out = append(out, *t)
			delete(byID, id)
		}
	}
	return out, nil
}

// traceFilter renders a trace filter as conditions on trace_info ti.
func traceFilter(cs []tracking.TraceClause) ([]string, []any, error) {
	var where []string
	var args []any
	listCond := func(col, op string, list []string) string {
		for _, v := range list {
			args = append(args, v)
		}
		return col + " " + op + " (" + placeholders(len(list)) + ")"
	}
	strCond := func(col string, c tracking.TraceClause) string {
		if c.Op == "IN" || c.Op == "NOT IN" {
			return listCond(col, c.Op, c.List)
		}
		args = append(args, c.Str)
		return likeCond(col, c.Op)
	}
	for _, c := range cs {
		switch c.Kind {
		case tracking.TraceAttr:
			switch {
			case c.IsNum:
				col := "ti." + c.Key
				if c.Key == "end_time_ms" {
					col = "(ti.timestamp_ms + COALESCE(ti.execution_time_ms, 0))"
				}
				where = append(where, col+" "+c.Op+" ?")
				if c.Num == math.Trunc(c.Num) && math.Abs(c.Num) < 1<<62 {
					args = append(args, int64(c.Num))
				} else {
					args = append(args, c.Num)
				}
			default:
				where = append(where, strCond("ti."+c.Key, c))
			}
		case tracking.TraceTagKey, tracking.TraceMetadataKey:
			table := "trace_tags"
			if c.Kind == tracking.TraceMetadataKey {
				table = "trace_request_metadata"
			}
			args = append(args, c.Key)
			where = append(where, `EXISTS (SELECT 1 FROM `+table+` x WHERE x.request_id = ti.request_id AND x.key = ? AND `+strCond("x.value", c)+`)`)
		case tracking.TraceRunKey:
			// The run's own traces (sourceRun metadata) and those linked to it.
			where = append(where, `(EXISTS (SELECT 1 FROM trace_request_metadata x WHERE x.request_id = ti.request_id AND x.key = ? AND x.value = ?)
				OR EXISTS (SELECT 1 FROM trace_run_links l WHERE l.trace_id = ti.request_id AND l.run_uuid = ?))`)
			args = append(args, tracking.TraceMetaSourceRun, c.Str, c.Str)
		case tracking.TraceSpanKey:
			var cond string
			switch {
			case c.Key == "content":
				args = append(args, c.Str)
				cond = likeCond("x.content", c.Op)
			case strings.HasPrefix(c.Key, "attributes."):
				// As MLflow: the attribute's key and the pattern, within the
				// stored JSON ("<key>": "<JSON text>").
				if c.Op == "IN" || c.Op == "NOT IN" {
					return nil, nil, tracking.InvalidParameterf("span.%s does not support %s", c.Key, c.Op)
				}
				args = append(args, `%"`+strings.TrimPrefix(c.Key, "attributes.")+`"`+c.Str+`%`)
				cond = likeCond("x.content", c.Op)
			default:
				cond = strCond("x."+c.Key, c)
			}
			where = append(where, `EXISTS (SELECT 1 FROM spans x WHERE x.trace_id = ti.request_id AND `+cond+`)`)
		case tracking.TraceFeedbackKey, tracking.TraceExpectationKey:
			kind := "feedback"
			if c.Kind == tracking.TraceExpectationKey {
				kind = "expectation"
			}
			args = append(args, kind, c.Key)
			where = append(where, `EXISTS (SELECT 1 FROM assessments x WHERE x.trace_id = ti.request_id AND x.kind = ? AND x.name = ? AND `+strCond("x.value", c)+`)`)
		}
	}
	return where, args, nil
}

func experimentArgs(ids []string) ([]any, error) {
	out := make([]any, 0, len(ids))
	for _, e := range ids {
		n, err := parseExperimentID(e)
		if err != nil {
			return nil, tracking.InvalidParameterf("Invalid experiment ID %q", e)
		}
		out = append(out, n)
	}
	return out, nil
}

// SearchTraces returns a page of traces of the experiments, by default
// newest first.
func (s *Store) SearchTraces(ctx context.Context, q tracking.TraceQuery) ([]tracking.TraceInfo, string, error) {
	offset, err := tracking.DecodePageToken(q.PageToken)
	if err != nil {
		return nil, "", err
	}
	if len(q.ExperimentIDs) == 0 {
		return nil, "", nil
	}
	exps, err := experimentArgs(q.ExperimentIDs)
	if err != nil {
		return nil, "", err
	}
	where, args, err := traceFilter(q.Filter)
	if err != nil {
		return nil, "", err
	}
	where = append([]string{`ti.experiment_id IN (` + placeholders(len(exps)) + `)`}, where...)
	args = append(exps, args...)
	var order []string
	byTime, byID := false, false
	for _, o := range q.OrderBy {
		var expr string
		switch o.Kind {
		case tracking.TraceAttr:
			expr = "ti." + o.Key
			if o.Key == "end_time_ms" {
				expr = "(ti.timestamp_ms + COALESCE(ti.execution_time_ms, 0))"
			}
			byTime = byTime || o.Key == "timestamp_ms"
			byID = byID || o.Key == "request_id"
		default:
			table := "trace_tags"
			if o.Kind == tracking.TraceMetadataKey {
				table = "trace_request_metadata"
			}
			expr = `(SELECT x.value FROM ` + table + ` x WHERE x.request_id = ti.request_id AND x.key = ?)`
			args = append(args, o.Key, o.Key)
		}
		order = append(order, orderSQL(expr, o.Desc))
	}
	if !byTime {
		order = append(order, "ti.timestamp_ms DESC")
	}
	if !byID {
		order = append(order, "ti.request_id")
	}
	args = append(args, q.MaxResults, offset)
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT ti.request_id FROM trace_info ti WHERE `+strings.Join(where, " AND ")+
		` ORDER BY `+strings.Join(order, ", ")+` LIMIT ? OFFSET ?`), args...)
	if err != nil {
		return nil, "", fmt.Errorf("sqlstore: search traces: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, "", fmt.Errorf("sqlstore: search traces: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, "", fmt.Errorf("sqlstore: search traces: %w", err)
	}
	rows.Close()
	var out []tracking.TraceInfo
	for i := 0; i < len(ids); i += traceIDsPerQuery {
		part, err := s.traceInfos(ctx, ids[i:min(i+traceIDsPerQuery, len(ids))])
		if err != nil {
			return nil, "", err
		}
		out = append(out, part...)
	}
	next := ""
	if len(ids) == q.MaxResults {
		next = tracking.EncodePageToken(offset + len(ids))
	}
	return out, next, nil
}

// CountTraces counts the experiments' traces matching filter.
func (s *Store) CountTraces(ctx context.Context, experimentIDs []string, filter []tracking.TraceClause) (int, error) {
	if len(experimentIDs) == 0 {
		return 0, nil
	}
	exps, err := experimentArgs(experimentIDs)
	if err != nil {
		return 0, err
	}
	where, args, err := traceFilter(filter)
	if err != nil {
		return 0, err
	}
	where = append([]string{`ti.experiment_id IN (` + placeholders(len(exps)) + `)`}, where...)
	var n int
	if err := s.r.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM trace_info ti WHERE `+strings.Join(where, " AND ")), append(exps, args...)...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count traces: %w", err)
	}
	return n, nil
}

// traceTables are the tables holding a trace's rows, by their id column.
var traceTables = []struct{ table, col string }{
	{"trace_tags", "request_id"}, {"trace_request_metadata", "request_id"}, {"spans", "trace_id"},
	{"assessments", "trace_id"}, {"trace_run_links", "trace_id"}, {"trace_info", "request_id"},
}

func (s *Store) deleteTraceRows(ctx context.Context, tx *sql.Tx, ids []string) error {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	for _, t := range traceTables {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM `+t.table+` WHERE `+t.col+` IN (`+placeholders(len(ids))+`)`), args...); err != nil {
			return fmt.Errorf("sqlstore: delete traces: %s: %w", t.table, err)
		}
	}
	return nil
}

// DeleteTraces deletes an experiment's traces (oldest first when
// MaxTraces bounds them), in transactions of at most traceIDsPerQuery
// traces; it returns how many it deleted.
func (s *Store) DeleteTraces(ctx context.Context, d tracking.TraceDeletion) (int, error) {
	exp, err := parseExperimentID(d.ExperimentID)
	if err != nil {
		return 0, err
	}
	deleted := 0
	for {
		limit := traceIDsPerQuery
		if d.MaxTraces != nil && *d.MaxTraces > 0 {
			if deleted >= *d.MaxTraces {
				return deleted, nil
			}
			limit = min(limit, *d.MaxTraces-deleted)
		}
		where, args := []string{"experiment_id = ?"}, []any{exp}
		if d.MaxTimestampMs != nil && *d.MaxTimestampMs != 0 {
			where, args = append(where, "timestamp_ms <= ?"), append(args, *d.MaxTimestampMs)
		}
		if len(d.TraceIDs) > 0 {
			where = append(where, "request_id IN ("+placeholders(len(d.TraceIDs))+")")
			for _, id := range d.TraceIDs {
				args = append(args, id)
			}
		}
		n := 0
		err := s.tx(ctx, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, s.q(`SELECT request_id FROM trace_info WHERE `+strings.Join(where, " AND ")+` ORDER BY timestamp_ms, request_id LIMIT ?`), append(args, limit)...)
			if err != nil {
				return fmt.Errorf("sqlstore: delete traces: %w", err)
			}
			var ids []string
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return fmt.Errorf("sqlstore: delete traces: %w", err)
				}
				ids = append(ids, id)
			}
			if err := rows.Err(); err != nil {
				rows.Close()
				return fmt.Errorf("sqlstore: delete traces: %w", err)
			}
			rows.Close()
			if len(ids) == 0 {
				return nil
			}
			n = len(ids)
			return s.deleteTraceRows(ctx, tx, ids)
		})
		if err != nil {
			return deleted, err
		}
		deleted += n
		if n < limit {
			return deleted, nil
		}
	}
}

// SetTraceTag sets one tag of a trace.
func (s *Store) SetTraceTag(ctx context.Context, id, key, value string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.mustTrace(ctx, tx, id); err != nil {
			return err
		}
		return s.upsertTraceKV(ctx, tx, "trace_tags", id, map[string]string{key: value})
	})
}

// DeleteTraceTag deletes one tag of a trace.
func (s *Store) DeleteTraceTag(ctx context.Context, id, key string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.mustTrace(ctx, tx, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM trace_tags WHERE request_id = ? AND key = ?`), id, key)
		if err != nil {
			return fmt.Errorf("sqlstore: delete trace tag: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return tracking.NotFoundf("No trace tag with key '%s' for trace with ID '%s'", key, id)
		}
		return nil
	})
}

// LinkTracesToRun links existing traces to an existing run.
func (s *Store) LinkTracesToRun(ctx context.Context, ids []string, runID string) error {
	if _, err := s.GetRun(ctx, runID); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			if err := s.mustTrace(ctx, tx, id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO trace_run_links (trace_id, run_uuid) VALUES (?, ?) ON CONFLICT DO NOTHING`), id, runID); err != nil {
				return fmt.Errorf("sqlstore: link trace %s: %w", id, err)
			}
		}
		return nil
	})
}

// spanRowsPerInsert spans go in one prepared multi-row insert (10 bound
// values a row, well under SQLite's limit); the rest one row at a time.
const spanRowsPerInsert = 50

// spanInsertSQL inserts (or replaces) n spans.
func spanInsertSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO spans (trace_id, span_id, experiment_id, parent_span_id, name, type, status, start_time_unix_nano, end_time_unix_nano, content) VALUES `)
	for j := range n {
		if j > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	b.WriteString(` ON CONFLICT (trace_id, span_id) DO UPDATE SET parent_span_id = excluded.parent_span_id, name = excluded.name, type = excluded.type,
		status = excluded.status, start_time_unix_nano = excluded.start_time_unix_nano, end_time_unix_nano = excluded.end_time_unix_nano, content = excluded.content`)
	return b.String()
}

// Span inserts of 1 and spanRowsPerInsert rows.
var qSpanInsert1, qSpanInsertN = spanInsertSQL(1), spanInsertSQL(spanRowsPerInsert)

// The hot statements of LogSpans, prepared once (see prepareHot).
const (
	qTraceForSpans = `SELECT experiment_id, timestamp_ms, execution_time_ms, status, request_preview, response_preview FROM trace_info WHERE request_id = ?`
	qTraceRange    = `UPDATE trace_info SET timestamp_ms = ?, execution_time_ms = ?, status = ?, request_preview = ?, response_preview = ? WHERE request_id = ?`
)

// LogSpans stores spans of one trace (see tracking.Traces).
func (s *Store) LogSpans(ctx context.Context, experimentID, traceID string, spans []tracking.Span) error {
	if len(spans) == 0 {
		return nil
	}
	exp, err := parseExperimentID(experimentID)
	if err != nil {
		return err
	}
	minStart, maxEnd := int64(math.MaxInt64), int64(-1)
	rootState := ""
	var root *tracking.Span
	for i := range spans {
		sp := &spans[i]
		minStart = min(minStart, sp.StartNs/1_000_000)
		if sp.EndNs > 0 {
			maxEnd = max(maxEnd, sp.EndNs/1_000_000)
		}
		if sp.ParentID == "" {
			root = sp
			rootState = tracking.TraceOK
			if sp.Status == "ERROR" {
				rootState = tracking.TraceError
			}
		}
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var (
			have        int64
			ts          int64
			exec        sql.NullInt64
			status      string
			reqP, respP sql.NullString
		)
		err := s.queryRow(ctx, tx, qTraceForSpans, traceID).Scan(&have, &ts, &exec, &status, &reqP, &respP)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			// A new trace: its experiment must exist and be active (an
			// existing trace's was when it was made, as MLflow checks).
			var loc string
			if exp, loc, err = s.activeExperiment(ctx, experimentID); err != nil {
				return err
			}
			st := tracking.TraceInProgress
			if rootState != "" {
				st = rootState
			}
			var ex any
			if maxEnd >= 0 {
				ex = maxEnd - minStart
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO trace_info (`+traceCols+`) VALUES (?, ?, ?, ?, ?, NULL, NULL, NULL)`), traceID, exp, minStart, ex, st); err != nil {
				return fmt.Errorf("sqlstore: log spans: %w", err)
			}
			if err := s.upsertTraceKV(ctx, tx, "trace_tags", traceID, map[string]string{
				tracking.TraceTagSpansLocation:    tracking.SpansInTrackingStore,
				tracking.TraceTagArtifactLocation: tracking.TraceArtifactLocation(loc, traceID),
			}); err != nil {
				return err
			}
			ts, status = minStart, st
			if maxEnd >= 0 {
				exec = sql.NullInt64{Int64: maxEnd - minStart, Valid: true}
			}
		case err != nil:
			return fmt.Errorf("sqlstore: log spans: %w", err)
		case have != exp:
			if _, _, err := s.activeExperiment(ctx, experimentID); err != nil {
				return err
			}
			return otherExperiment(traceID, have, exp)
		}
		// Widen the trace's time range to cover the spans.
		end := int64(-1)
		if exec.Valid {
			end = ts + exec.Int64
		}
		end = max(end, maxEnd)
		newTS := min(ts, minStart)
		var newExec any
		if end >= 0 {
			newExec = end - newTS
		} else if exec.Valid {
			newExec = exec.Int64
		}
		if rootState != "" && (status == tracking.TraceInProgress || status == tracking.TraceUnspecified) {
			status = rootState
		}
		if root != nil && (!reqP.Valid || !respP.Valid) {
			req, resp := tracking.RootSpanPreviews(root.Content)
			if !reqP.Valid && req != "" {
				reqP = sql.NullString{String: req, Valid: true}
			}
			if !respP.Valid && resp != "" {
				respP = sql.NullString{String: resp, Valid: true}
			}
		}
		if _, err := s.exec(ctx, tx, qTraceRange, newTS, newExec, status, reqP, respP, traceID); err != nil {
			return fmt.Errorf("sqlstore: log spans: %w", err)
		}
		args := make([]any, 0, 10*spanRowsPerInsert)
		for i := 0; i < len(spans); {
			n, q := 1, qSpanInsert1
			if len(spans)-i >= spanRowsPerInsert {
				n, q = spanRowsPerInsert, qSpanInsertN
			}
			args = args[:0]
			for _, sp := range spans[i : i+n] {
				var end any
				if sp.EndNs > 0 {
					end = sp.EndNs
				}
				args = append(args, traceID, sp.SpanID, exp, nullStr(sp.ParentID), sp.Name, nullStr(sp.Type), sp.Status, sp.StartNs, end, string(sp.Content))
			}
			if _, err := s.exec(ctx, tx, q, args...); err != nil {
				return fmt.Errorf("sqlstore: log spans: %w", err)
			}
			i += n
		}
		return nil
	})
}

// TraceSpans returns the spans of the traces, root first, then by start
// time; at most tracking.MaxTraceSpans in all.
func (s *Store) TraceSpans(ctx context.Context, ids []string) (map[string][]tracking.Span, error) {
	out := map[string][]tracking.Span{}
	total := 0
	for i := 0; i < len(ids); i += traceIDsPerQuery {
		part := ids[i:min(i+traceIDsPerQuery, len(ids))]
		args := make([]any, 0, len(part)+1)
		for _, id := range part {
			args = append(args, id)
		}
		args = append(args, tracking.MaxTraceSpans+1-total)
		rows, err := s.r.QueryContext(ctx, s.q(`SELECT trace_id, span_id, parent_span_id, name, type, status, start_time_unix_nano, end_time_unix_nano, content
			FROM spans WHERE trace_id IN (`+placeholders(len(part))+`) ORDER BY trace_id, (parent_span_id IS NOT NULL), start_time_unix_nano, span_id LIMIT ?`), args...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: trace spans: %w", err)
		}
		for rows.Next() {
			var sp tracking.Span
			var parent, typ sql.NullString
			var end sql.NullInt64
			var content string
			if err := rows.Scan(&sp.TraceID, &sp.SpanID, &parent, &sp.Name, &typ, &sp.Status, &sp.StartNs, &end, &content); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore: trace spans: %w", err)
			}
			sp.ParentID, sp.Type, sp.EndNs, sp.Content = parent.String, typ.String, end.Int64, []byte(content)
			out[sp.TraceID] = append(out[sp.TraceID], sp)
			if total++; total > tracking.MaxTraceSpans {
				rows.Close()
				return nil, tracking.InvalidParameterf("The traces have more than %d spans", tracking.MaxTraceSpans)
			}
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlstore: trace spans: %w", err)
		}
		rows.Close()
	}
	return out, nil
}

func decodeAssessment(body string, valid bool) (*tracking.Assessment, error) {
	var a tracking.Assessment
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		return nil, fmt.Errorf("sqlstore: stored assessment: %w", err)
	}
	a.Valid = &valid
	return &a, nil
}

func assessmentNotFound(traceID, id string) error {
	return tracking.NotFoundf("Assessment with ID '%s' not found for trace '%s'", id, traceID)
}

// CreateAssessment stores a new assessment; one that overrides another
// makes that one invalid.
func (s *Store) CreateAssessment(ctx context.Context, a tracking.Assessment) (*tracking.Assessment, error) {
	body, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: assessment: %w", err)
	}
	created := int64(0)
	if t, err := tracking.ParseTimestamp(a.CreateTime); err == nil {
		created = t
	}
	valid := a.Valid == nil || *a.Valid
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.mustTrace(ctx, tx, a.TraceID); err != nil {
			return err
		}
		if a.Overrides != "" {
			res, err := tx.ExecContext(ctx, s.q(`UPDATE assessments SET valid = ? WHERE trace_id = ? AND assessment_id = ?`), false, a.TraceID, a.Overrides)
			if err != nil {
				return fmt.Errorf("sqlstore: create assessment: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return assessmentNotFound(a.TraceID, a.Overrides)
			}
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO assessments (assessment_id, trace_id, name, kind, value, valid, overrides, created_ms, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			a.AssessmentID, a.TraceID, a.AssessmentName, a.Kind(), a.ValueJSON(), valid, nullStr(a.Overrides), created, string(body))
		if err != nil {
			return fmt.Errorf("sqlstore: create assessment: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.GetAssessment(ctx, a.TraceID, a.AssessmentID)
}

func (s *Store) getAssessment(ctx context.Context, db queryer, traceID, id string) (*tracking.Assessment, error) {
	var body string
	var valid bool
	err := db.QueryRowContext(ctx, s.q(`SELECT body, valid FROM assessments WHERE trace_id = ? AND assessment_id = ?`), traceID, id).Scan(&body, &valid)
	if errors.Is(err, sql.ErrNoRows) {
		if err := s.mustTrace(ctx, db, traceID); err != nil {
			return nil, err
		}
		return nil, assessmentNotFound(traceID, id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get assessment: %w", err)
	}
	return decodeAssessment(body, valid)
}

// GetAssessment returns one assessment of a trace.
func (s *Store) GetAssessment(ctx context.Context, traceID, id string) (*tracking.Assessment, error) {
	return s.getAssessment(ctx, s.r, traceID, id)
}

// UpdateAssessment applies an update to an assessment.
func (s *Store) UpdateAssessment(ctx context.Context, traceID, id string, u tracking.AssessmentUpdate) (*tracking.Assessment, error) {
	var out *tracking.Assessment
	err := s.tx(ctx, func(tx *sql.Tx) error {
		a, err := s.getAssessment(ctx, tx, traceID, id)
		if err != nil {
			return err
		}
		if err := tracking.ApplyAssessmentUpdate(a, u, nowMillis()); err != nil {
			return err
		}
		body, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("sqlstore: assessment: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE assessments SET name = ?, value = ?, valid = ?, body = ? WHERE trace_id = ? AND assessment_id = ?`),
			a.AssessmentName, a.ValueJSON(), a.Valid == nil || *a.Valid, string(body), traceID, id); err != nil {
			return fmt.Errorf("sqlstore: update assessment: %w", err)
		}
		out = a
		return nil
	})
	return out, err
}

// DeleteAssessment deletes an assessment and revalidates the one it
// overrode.
func (s *Store) DeleteAssessment(ctx context.Context, traceID, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.mustTrace(ctx, tx, traceID); err != nil {
			return err
		}
		var overrides sql.NullString
		err := tx.QueryRowContext(ctx, s.q(`SELECT overrides FROM assessments WHERE trace_id = ? AND assessment_id = ?`), traceID, id).Scan(&overrides)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("sqlstore: delete assessment: %w", err)
		}
		if overrides.Valid && overrides.String != "" {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE assessments SET valid = ? WHERE trace_id = ? AND assessment_id = ?`), true, traceID, overrides.String); err != nil {
				return fmt.Errorf("sqlstore: delete assessment: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM assessments WHERE trace_id = ? AND assessment_id = ?`), traceID, id); err != nil {
			return fmt.Errorf("sqlstore: delete assessment: %w", err)
		}
		return nil
	})
}
