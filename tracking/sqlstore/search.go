package sqlstore

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/dawn-ml/dawn/tracking"
)

var runAttrCol = map[string]string{
	"start_time": "r.start_time", "end_time": "r.end_time", "run_id": "r.run_uuid", "run_name": "r.name",
	"status": "r.status", "user_id": "r.user_id", "artifact_uri": "r.artifact_uri", "lifecycle_stage": "r.lifecycle_stage",
}

// query is a SELECT under construction: joins and their arguments come
// before the WHERE conditions and theirs.
type query struct {
	joins, where, order []string
	jargs, wargs        []any
	// runsFirst makes SQLite walk runs (in start_time order) and probe
	// the filter's metrics, instead of starting from the metric index.
	runsFirst bool
}

func (q *query) args(tail ...any) []any {
	return append(append(append([]any{}, q.jargs...), q.wargs...), tail...)
}

func (q *query) sql(from string) string {
	s := `SELECT ` + prefixCols("r.", runCols) + ` FROM ` + from + ` ` + strings.Join(q.joins, " ") + ` WHERE ` + strings.Join(q.where, " AND ")
	if len(q.order) > 0 {
		s += ` ORDER BY ` + strings.Join(q.order, ", ")
	}
	return s
}

// scope restricts to the experiments and the view type.
func (q *query) scope(rq tracking.RunQuery) {
	if len(rq.ExperimentIDs) == 1 {
		q.where = append(q.where, "r.experiment_id = ?")
		q.wargs = append(q.wargs, mustInt(rq.ExperimentIDs[0]))
	} else {
		q.where = append(q.where, "r.experiment_id IN ("+placeholders(len(rq.ExperimentIDs))+")")
		for _, id := range rq.ExperimentIDs {
			q.wargs = append(q.wargs, mustInt(id))
		}
	}
	stages := stagesFor(rq.View)
	q.where = append(q.where, "r.lifecycle_stage IN ("+placeholders(len(stages))+")")
	for _, st := range stages {
		q.wargs = append(q.wargs, st)
	}
}

// joinedClauses is how many metric, param and tag clauses of a filter
// become joins; the rest are checked by one correlated subquery per table
// (keyedCheck). Joins let the planner start from a selective clause's
// index, but each one adds to the planning: 120 joins took PostgreSQL
// 17-20 s to plan, and SQLite refuses more than 64 tables in a join.
const joinedClauses = 8

// filter adds the filter clauses; metric clauses on onKey are applied to
// the already joined alias m0 instead of a join of their own.
func (q *query) filter(clauses []tracking.Clause, onKey string) {
	joined := 0
	var rest [3][]tracking.Clause // metric, param, tag clauses past joinedClauses
	for i, c := range clauses {
		a := fmt.Sprintf("f%d", i)
		if c.Entity == tracking.EntityMetric || c.Entity == tracking.EntityParam || c.Entity == tracking.EntityTag {
			if !(c.Entity == tracking.EntityMetric && onKey != "" && c.Key == onKey) {
				if joined++; joined > joinedClauses {
					k := map[tracking.Entity]int{tracking.EntityMetric: 0, tracking.EntityParam: 1, tracking.EntityTag: 2}[c.Entity]
					rest[k] = append(rest[k], c)
					continue
				}
			}
		}
		switch c.Entity {
		case tracking.EntityMetric:
			if onKey != "" && c.Key == onKey {
				q.where = append(q.where, fmt.Sprintf("m0.value %s ?", c.Op))
				q.wargs = append(q.wargs, c.Num)
				continue
			}
			join := "JOIN"
			if q.runsFirst {
				join = "CROSS JOIN"
			}
			q.joins = append(q.joins, fmt.Sprintf("%s latest_metrics %s ON %s.run_key = r.run_key AND %s.key = ?", join, a, a, a))
			q.jargs = append(q.jargs, c.Key)
			q.where = append(q.where, fmt.Sprintf("%s.is_nan = 0 AND %s.value %s ?", a, a, c.Op))
			q.wargs = append(q.wargs, c.Num)
		case tracking.EntityParam, tracking.EntityTag:
			table := "params"
			if c.Entity == tracking.EntityTag {
				table = "tags"
			}
			q.joins = append(q.joins, fmt.Sprintf("JOIN %s %s ON %s.run_uuid = r.run_uuid AND %s.key = ?", table, a, a, a))
			q.jargs = append(q.jargs, c.Key)
			q.where = append(q.where, likeCond(a+".value", c.Op))
			q.wargs = append(q.wargs, c.Str)
		case tracking.EntityAttribute:
			col := runAttrCol[c.Key]
			switch {
			case c.Op == "IN" || c.Op == "NOT IN":
				q.where = append(q.where, col+" "+c.Op+" ("+placeholders(len(c.List))+")")
				for _, v := range c.List {
					q.wargs = append(q.wargs, v)
				}
			case c.IsNum && c.Num == math.Trunc(c.Num) && math.Abs(c.Num) < 1<<62:
				q.where = append(q.where, col+" "+c.Op+" ?")
				q.wargs = append(q.wargs, int64(c.Num))
			case c.IsNum:
				q.where = append(q.where, "CAST("+col+" AS DOUBLE PRECISION) "+c.Op+" ?")
				q.wargs = append(q.wargs, c.Num)
			default:
				q.where = append(q.where, likeCond(col, c.Op))
				q.wargs = append(q.wargs, c.Str)
			}
		case tracking.EntityDataset:
			var cond string
			var args []any
			if joined++; joined > joinedClauses {
				// As a scalar subquery, which PostgreSQL does not flatten
				// into a semi-join (see keyedCond).
				if c.Key == "context" {
					cond, args = datasetCond("(SELECT COUNT(*) FROM input_tags it WHERE it.run_uuid = r.run_uuid AND it.key = 'mlflow.data.context' AND ", "it.value", c)
				} else {
					cond, args = datasetCond("(SELECT COUNT(*) FROM run_inputs ri JOIN datasets d ON d.dataset_uuid = ri.dataset_uuid WHERE ri.run_uuid = r.run_uuid AND ", "d."+c.Key, c)
				}
				q.where = append(q.where, cond+" > 0")
				q.wargs = append(q.wargs, args...)
				continue
			}
			if c.Key == "context" {
				cond, args = datasetCond("EXISTS (SELECT 1 FROM input_tags it WHERE it.run_uuid = r.run_uuid AND it.key = 'mlflow.data.context' AND ", "it.value", c)
			} else {
				cond, args = datasetCond("EXISTS (SELECT 1 FROM run_inputs ri JOIN datasets d ON d.dataset_uuid = ri.dataset_uuid WHERE ri.run_uuid = r.run_uuid AND ", "d."+c.Key, c)
			}
			q.where = append(q.where, cond)
			q.wargs = append(q.wargs, args...)
		}
	}
	q.keyedCheck("latest_metrics", "k.run_key = r.run_key", rest[0])
	q.keyedCheck("params", "k.run_uuid = r.run_uuid", rest[1])
	q.keyedCheck("tags", "k.run_uuid = r.run_uuid", rest[2])
}

// keyedCheck adds keyedCond(table, on, cs) to the WHERE conditions.
func (q *query) keyedCheck(table, on string, cs []tracking.Clause) {
	if cond, args := keyedCond(table, on, cs); cond != "" {
		q.where = append(q.where, cond)
		q.wargs = append(q.wargs, args...)
	}
}

// keyedCond is one condition that every clause of cs holds, in a single
// correlated subquery over table (alias k, joined to the outer row by on),
// whose rows are unique by (owner, key): each clause is met by at most one
// row, so the clauses all hold exactly when the rows of their keys meet
// len(cs) of them. An aggregate subquery is not flattened into the join
// the way EXISTS is, so planning stays linear in the clauses (200 EXISTS
// clauses took PostgreSQL past the 60 s deadline; this takes milliseconds).
// It is "" when cs is empty.
func keyedCond(table, on string, cs []tracking.Clause) (string, []any) {
	if len(cs) == 0 {
		return "", nil
	}
	var sum, keys []string
	var sargs, kargs []any
	seen := map[string]bool{}
	for _, c := range cs {
		if c.Entity == tracking.EntityMetric {
			sum = append(sum, "CASE WHEN k.key = ? AND k.is_nan = 0 AND k.value "+c.Op+" ? THEN 1 ELSE 0 END")
			sargs = append(sargs, c.Key, c.Num)
		} else {
			sum = append(sum, "CASE WHEN k.key = ? AND "+likeCond("k.value", c.Op)+" THEN 1 ELSE 0 END")
			sargs = append(sargs, c.Key, c.Str)
		}
		if !seen[c.Key] {
			seen[c.Key] = true
			keys = append(keys, "?")
			kargs = append(kargs, c.Key)
		}
	}
	cond := "(SELECT COALESCE(SUM(" + strings.Join(sum, " + ") + "), 0) FROM " + table + " k WHERE " + on +
		" AND k.key IN (" + strings.Join(keys, ", ") + ")) = ?"
	return cond, append(append(sargs, kargs...), len(cs))
}

// orderBy adds ordering keys (missing keys last), then MLflow's default
// tie-breakers start_time DESC and run_id.
func (q *query) orderBy(orders []tracking.OrderBy) {
	hasStart := false
	for i, o := range orders {
		a := fmt.Sprintf("o%d", i)
		switch o.Entity {
		case tracking.EntityMetric:
			q.joins = append(q.joins, fmt.Sprintf("LEFT JOIN latest_metrics %s ON %s.run_key = r.run_key AND %s.key = ?", a, a, a))
			q.jargs = append(q.jargs, o.Key)
			q.order = append(q.order, fmt.Sprintf("(%s.value IS NULL), %s.is_nan", a, a), a+".value "+dir(o.Desc))
		case tracking.EntityParam, tracking.EntityTag:
			table := "params"
			if o.Entity == tracking.EntityTag {
				table = "tags"
			}
			q.joins = append(q.joins, fmt.Sprintf("LEFT JOIN %s %s ON %s.run_uuid = r.run_uuid AND %s.key = ?", table, a, a, a))
			q.jargs = append(q.jargs, o.Key)
			q.order = append(q.order, orderSQL(a+".value", o.Desc))
		default:
			col := runAttrCol[o.Key]
			hasStart = hasStart || col == "r.start_time"
			q.order = append(q.order, orderSQL(col, o.Desc))
		}
	}
	if !hasStart {
		q.order = append(q.order, "r.start_time DESC")
	}
	q.order = append(q.order, "r.run_uuid ASC")
}

func (s *Store) queryRuns(ctx context.Context, query string, args ...any) ([]tracking.Run, error) {
	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: search runs: %w", err)
	}
	defer rows.Close()
	var runs []tracking.Run
	for rows.Next() {
		ri, err := scanRunInfo(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: search runs: %w", err)
		}
		runs = append(runs, tracking.Run{Info: ri})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: search runs: %w", err)
	}
	return runs, nil
}

// SearchRuns filters, orders and pages runs of the given experiments. The
// filter becomes joins on latest_metrics, params and tags, so one query
// returns the page; the page's data is loaded with one query per table.
func (s *Store) SearchRuns(ctx context.Context, rq tracking.RunQuery) ([]tracking.Run, string, error) {
	offset, err := tracking.DecodePageToken(rq.PageToken)
	if err != nil {
		return nil, "", err
	}
	if len(rq.ExperimentIDs) == 0 {
		return nil, "", nil
	}
	if p := rq.Project; p != nil {
		if n := len(p.Params) + len(p.Metrics) + len(p.Tags); n > tracking.MaxProjectionKeys {
			return nil, "", tracking.InvalidParameterf("Projection of %d keys is over the limit of %d", n, tracking.MaxProjectionKeys)
		}
	}
	var runs []tracking.Run
	if len(rq.OrderBy) > 0 && rq.OrderBy[0].Entity == tracking.EntityMetric {
		runs, err = s.searchByMetric(ctx, rq, offset)
	} else {
		var q query
		q.runsFirst = s.preferRunsFirst(ctx, rq)
		q.scope(rq)
		q.filter(rq.Filter, "")
		q.orderBy(rq.OrderBy)
		runs, err = s.queryRuns(ctx, q.sql("runs r")+` LIMIT ? OFFSET ?`, q.args(rq.MaxResults+1, offset)...)
	}
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(runs) > rq.MaxResults {
		runs = runs[:rq.MaxResults]
		next = tracking.EncodePageToken(offset + rq.MaxResults)
	}
	if err := s.loadRunData(ctx, runs, rq.Project); err != nil {
		return nil, "", err
	}
	return runs, next, nil
}

// runsFirstThreshold: a metric filter matching at least this many runs is
// cheaper to check run by run in start_time order (a page needs about
// 100/selectivity probes) than to collect and sort all its matches.
const runsFirstThreshold = 2000

// preferRunsFirst decides the SQLite join order for a search in the
// default order (start_time DESC) of one experiment with a metric filter,
// by counting the filter's matches in the (key, value) index up to the
// threshold.
func (s *Store) preferRunsFirst(ctx context.Context, rq tracking.RunQuery) bool {
	if s.dialect != SQLite || len(rq.ExperimentIDs) != 1 {
		return false
	}
	if len(rq.OrderBy) > 0 && !(rq.OrderBy[0].Entity == tracking.EntityAttribute && rq.OrderBy[0].Key == "start_time" && rq.OrderBy[0].Desc) {
		return false
	}
	for _, c := range rq.Filter {
		if c.Entity != tracking.EntityMetric {
			continue
		}
		var n int
		err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM latest_metrics WHERE key = ? AND value `+c.Op+` ? LIMIT ?)`,
			c.Key, c.Num, runsFirstThreshold).Scan(&n)
		if err != nil || n < runsFirstThreshold {
			return false // a selective clause: start from its index
		}
	}
	for _, c := range rq.Filter {
		if c.Entity == tracking.EntityMetric {
			return true
		}
	}
	return false
}

// searchByMetric answers a search whose first ordering key is a metric by
// walking the (key, value) index in order, so the first page of "order by
// metrics.acc DESC" reads about a page of rows instead of sorting every
// run. Runs whose value is NaN, then runs without the metric, follow from a
// second query when the first runs out.
func (s *Store) searchByMetric(ctx context.Context, rq tracking.RunQuery, offset int) ([]tracking.Run, error) {
	o := rq.OrderBy[0]
	need := rq.MaxResults + 1
	// CROSS JOIN pins the join order in SQLite: the metric index drives.
	from := "latest_metrics m0 CROSS JOIN runs r ON r.run_key = m0.run_key"
	if s.dialect == Postgres {
		from = "latest_metrics m0 JOIN runs r ON r.run_key = m0.run_key"
	}
	var a query
	a.where = append(a.where, "m0.key = ?", "m0.is_nan = 0")
	a.wargs = append(a.wargs, o.Key)
	a.scope(rq)
	a.filter(rq.Filter, o.Key)
	a.order = append(a.order, "m0.value "+dir(o.Desc))
	a.orderBy(rq.OrderBy[1:])
	runs, err := s.queryRuns(ctx, a.sql(from)+` LIMIT ? OFFSET ?`, a.args(need, offset)...)
	if err != nil || len(runs) == need {
		return runs, err
	}
	for _, c := range rq.Filter {
		if c.Entity == tracking.EntityMetric && c.Key == o.Key {
			return runs, nil // the filter needs a value: no NaN or missing runs
		}
	}
	countA := offset + len(runs)
	if len(runs) == 0 && offset > 0 {
		var n int
		cq := `SELECT COUNT(*) FROM ` + from + ` ` + strings.Join(a.joins, " ") + ` WHERE ` + strings.Join(a.where, " AND ")
		if err := s.r.QueryRowContext(ctx, s.q(cq), a.args()...).Scan(&n); err != nil {
			return nil, fmt.Errorf("sqlstore: search runs: count: %w", err)
		}
		countA = n
	}
	var b query
	b.joins = append(b.joins, "LEFT JOIN latest_metrics m0 ON m0.run_key = r.run_key AND m0.key = ?")
	b.jargs = append(b.jargs, o.Key)
	b.where = append(b.where, "(m0.run_key IS NULL OR m0.is_nan = 1)")
	b.scope(rq)
	b.filter(rq.Filter, "")
	b.order = append(b.order, "(m0.run_key IS NULL)")
	b.orderBy(rq.OrderBy[1:])
	more, err := s.queryRuns(ctx, b.sql("runs r")+` LIMIT ? OFFSET ?`, b.args(need-len(runs), max(0, offset-countA))...)
	return append(runs, more...), err
}

func dir(desc bool) string {
	if desc {
		return "DESC"
	}
	return "ASC"
}

func datasetCond(prefix, col string, c tracking.Clause) (string, []any) {
	if c.Op == "IN" || c.Op == "NOT IN" {
		args := make([]any, len(c.List))
		for i, v := range c.List {
			args[i] = v
		}
		return prefix + col + " " + c.Op + " (" + placeholders(len(c.List)) + "))", args
	}
	return prefix + likeCond(col, c.Op) + ")", []any{c.Str}
}

// loadChunk bounds IN lists under the bound-variable limits.
const loadChunk = 500

// keyIn is the condition on col and its arguments that keeps the keys of
// a projection (nil: every key); skip says the projection wants none.
func keyIn(col string, keys []string, all bool) (cond string, args []any, skip bool) {
	if all {
		return "", nil, false
	}
	if len(keys) == 0 {
		return "", nil, true
	}
	args = make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	return " AND " + col + " IN (" + placeholders(len(keys)) + ")", args, false
}

// loadRunData fills Data and Inputs of runs, whose Info is set; with a
// projection, Data holds only its keys.
func (s *Store) loadRunData(ctx context.Context, runs []tracking.Run, proj *tracking.Projection) error {
	all := proj == nil
	if all {
		proj = &tracking.Projection{}
	}
	for start := 0; start < len(runs); start += loadChunk {
		chunk := runs[start:min(start+loadChunk, len(runs))]
		idx := make(map[string]*tracking.Run, len(chunk))
		ids := make([]any, len(chunk))
		for i := range chunk {
			idx[chunk[i].Info.RunID] = &chunk[i]
			ids[i] = chunk[i].Info.RunID
		}
		in := "(" + placeholders(len(ids)) + ")"
		if err := s.loadLatestMetrics(ctx, idx, ids, in, proj.Metrics, all); err != nil {
			return err
		}
		for _, table := range []string{"params", "tags"} {
			keys := proj.Params
			if table == "tags" {
				keys = proj.Tags
			}
			cond, kargs, skip := keyIn("key", keys, all)
			if skip {
				continue
			}
			rows, err := s.r.QueryContext(ctx, s.q(`SELECT run_uuid, key, value FROM `+table+` WHERE run_uuid IN `+in+cond+` ORDER BY key`), append(ids[:len(ids):len(ids)], kargs...)...)
			if err != nil {
				return fmt.Errorf("sqlstore: load %s: %w", table, err)
			}
			for rows.Next() {
				var id, k, v string
				if err := rows.Scan(&id, &k, &v); err != nil {
					rows.Close()
					return fmt.Errorf("sqlstore: load %s: %w", table, err)
				}
				r := idx[id]
				if table == "params" {
					r.Data.Params = append(r.Data.Params, tracking.Param{Key: k, Value: v})
				} else {
					r.Data.Tags = append(r.Data.Tags, tracking.Tag{Key: k, Value: v})
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("sqlstore: load %s: %w", table, err)
			}
		}
		rows, err := s.r.QueryContext(ctx, s.q(`SELECT ri.run_uuid, d.dataset_uuid, d.name, d.digest, d.source_type, d.source, d.schema, d.profile
			FROM run_inputs ri JOIN datasets d ON d.dataset_uuid = ri.dataset_uuid WHERE ri.run_uuid IN `+in+` ORDER BY d.name, d.digest`), ids...)
		if err != nil {
			return fmt.Errorf("sqlstore: load inputs: %w", err)
		}
		type key struct{ run, ds string }
		pos := map[key]int{}
		for rows.Next() {
			var id, dsID string
			d := &tracking.Dataset{}
			if err := rows.Scan(&id, &dsID, &d.Name, &d.Digest, &d.SourceType, &d.Source, &d.Schema, &d.Profile); err != nil {
				rows.Close()
				return fmt.Errorf("sqlstore: load inputs: %w", err)
			}
			r := idx[id]
			pos[key{id, dsID}] = len(r.Inputs.DatasetInputs)
			r.Inputs.DatasetInputs = append(r.Inputs.DatasetInputs, tracking.DatasetInput{Dataset: d})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlstore: load inputs: %w", err)
		}
		if len(pos) > 0 {
			rows, err = s.r.QueryContext(ctx, s.q(`SELECT run_uuid, dataset_uuid, key, value FROM input_tags WHERE run_uuid IN `+in+` ORDER BY key`), ids...)
			if err != nil {
				return fmt.Errorf("sqlstore: load input tags: %w", err)
			}
			for rows.Next() {
				var id, dsID, k, v string
				if err := rows.Scan(&id, &dsID, &k, &v); err != nil {
					rows.Close()
					return fmt.Errorf("sqlstore: load input tags: %w", err)
				}
				if p, ok := pos[key{id, dsID}]; ok {
					di := &idx[id].Inputs.DatasetInputs[p]
					di.Tags = append(di.Tags, tracking.Tag{Key: k, Value: v})
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("sqlstore: load input tags: %w", err)
			}
		}
		rows, err = s.r.QueryContext(ctx, s.q(`SELECT run_uuid, model_id FROM run_model_inputs WHERE run_uuid IN `+in+` ORDER BY model_id`), ids...)
		if err != nil {
			return fmt.Errorf("sqlstore: load model inputs: %w", err)
		}
		for rows.Next() {
			var id string
			var mi tracking.ModelInput
			if err := rows.Scan(&id, &mi.ModelID); err != nil {
				rows.Close()
				return fmt.Errorf("sqlstore: load model inputs: %w", err)
			}
			r := idx[id]
			r.Inputs.ModelInputs = append(r.Inputs.ModelInputs, mi)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlstore: load model inputs: %w", err)
		}
		rows, err = s.r.QueryContext(ctx, s.q(`SELECT run_uuid, model_id, step FROM run_model_outputs WHERE run_uuid IN `+in+` ORDER BY step, model_id`), ids...)
		if err != nil {
			return fmt.Errorf("sqlstore: load outputs: %w", err)
		}
		for rows.Next() {
			var id string
			var o tracking.ModelOutput
			var step int64
			if err := rows.Scan(&id, &o.ModelID, &step); err != nil {
				rows.Close()
				return fmt.Errorf("sqlstore: load outputs: %w", err)
			}
			o.Step = tracking.Int64(step)
			r := idx[id]
			if r.Outputs == nil {
				r.Outputs = &tracking.RunOutputs{}
			}
			r.Outputs.ModelOutputs = append(r.Outputs.ModelOutputs, o)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlstore: load outputs: %w", err)
		}
	}
	return nil
}
