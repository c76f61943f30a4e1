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

// SearchRuns filters, orders and pages runs of the given experiments. The
// filter becomes joins on latest_metrics, params and tags, so one query
// returns the page; the page's data is loaded with one query per table.
func (s *Store) SearchRuns(ctx context.Context, q tracking.RunQuery) ([]tracking.Run, string, error) {
	offset, err := tracking.DecodePageToken(q.PageToken)
	if err != nil {
		return nil, "", err
	}
	if len(q.ExperimentIDs) == 0 {
		return nil, "", nil
	}
	var joins, where []string
	var jargs, wargs []any
	var exps []any
	for _, id := range q.ExperimentIDs {
		exps = append(exps, mustInt(id))
	}
	where = append(where, "r.experiment_id IN ("+placeholders(len(exps))+")")
	wargs = append(wargs, exps...)
	stages := stagesFor(q.View)
	where = append(where, "r.lifecycle_stage IN ("+placeholders(len(stages))+")")
	for _, st := range stages {
		wargs = append(wargs, st)
	}
	for i, c := range q.Filter {
		a := fmt.Sprintf("f%d", i)
		switch c.Entity {
		case tracking.EntityMetric:
			joins = append(joins, fmt.Sprintf("JOIN latest_metrics %s ON %s.run_uuid = r.run_uuid AND %s.key = ?", a, a, a))
			jargs = append(jargs, c.Key)
			where = append(where, fmt.Sprintf("%s.is_nan = 0 AND %s.value %s ?", a, a, c.Op))
			wargs = append(wargs, c.Num)
		case tracking.EntityParam, tracking.EntityTag:
			table := "params"
			if c.Entity == tracking.EntityTag {
				table = "tags"
			}
			joins = append(joins, fmt.Sprintf("JOIN %s %s ON %s.run_uuid = r.run_uuid AND %s.key = ?", table, a, a, a))
			jargs = append(jargs, c.Key)
			where = append(where, likeCond(a+".value", c.Op))
			wargs = append(wargs, c.Str)
		case tracking.EntityAttribute:
			col := runAttrCol[c.Key]
			switch {
			case c.Op == "IN" || c.Op == "NOT IN":
				where = append(where, col+" "+c.Op+" ("+placeholders(len(c.List))+")")
				for _, v := range c.List {
					wargs = append(wargs, v)
				}
			case c.IsNum && c.Num == math.Trunc(c.Num) && math.Abs(c.Num) < 1<<62:
				where = append(where, col+" "+c.Op+" ?")
				wargs = append(wargs, int64(c.Num))
			case c.IsNum:
				where = append(where, "CAST("+col+" AS DOUBLE PRECISION) "+c.Op+" ?")
				wargs = append(wargs, c.Num)
			default:
				where = append(where, likeCond(col, c.Op))
				wargs = append(wargs, c.Str)
			}
		case tracking.EntityDataset:
			var cond string
			var args []any
			if c.Key == "context" {
				cond = "EXISTS (SELECT 1 FROM input_tags it WHERE it.run_uuid = r.run_uuid AND it.key = 'mlflow.data.context' AND "
				col := "it.value"
				cond, args = datasetCond(cond, col, c)
				where = append(where, cond)
				wargs = append(wargs, args...)
				continue
			}
			cond = "EXISTS (SELECT 1 FROM run_inputs ri JOIN datasets d ON d.dataset_uuid = ri.dataset_uuid WHERE ri.run_uuid = r.run_uuid AND "
			cond, args = datasetCond(cond, "d."+c.Key, c)
			where = append(where, cond)
			wargs = append(wargs, args...)
		}
	}
	var order []string
	var oargs []any
	hasStart := false
	for i, o := range q.OrderBy {
		a := fmt.Sprintf("o%d", i)
		switch o.Entity {
		case tracking.EntityMetric:
			joins = append(joins, fmt.Sprintf("LEFT JOIN latest_metrics %s ON %s.run_uuid = r.run_uuid AND %s.key = ?", a, a, a))
			jargs = append(jargs, o.Key)
			order = append(order, fmt.Sprintf("(%s.value IS NULL), %s.is_nan", a, a), a+".value "+dir(o.Desc))
		case tracking.EntityParam, tracking.EntityTag:
			table := "params"
			if o.Entity == tracking.EntityTag {
				table = "tags"
			}
			joins = append(joins, fmt.Sprintf("LEFT JOIN %s %s ON %s.run_uuid = r.run_uuid AND %s.key = ?", table, a, a, a))
			jargs = append(jargs, o.Key)
			order = append(order, orderSQL(a+".value", o.Desc))
		default:
			col := runAttrCol[o.Key]
			hasStart = hasStart || col == "r.start_time"
			order = append(order, orderSQL(col, o.Desc))
		}
	}
	if !hasStart {
		order = append(order, "r.start_time DESC")
	}
	order = append(order, "r.run_uuid ASC")
	query := `SELECT ` + prefixCols("r.", runCols) + ` FROM runs r ` + strings.Join(joins, " ") +
		` WHERE ` + strings.Join(where, " AND ") + ` ORDER BY ` + strings.Join(order, ", ") + ` LIMIT ? OFFSET ?`
	args := append(append(append(jargs, wargs...), oargs...), q.MaxResults+1, offset)
	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, "", fmt.Errorf("sqlstore: search runs: %w", err)
	}
	var runs []tracking.Run
	for rows.Next() {
		ri, err := scanRunInfo(rows)
		if err != nil {
			rows.Close()
			return nil, "", fmt.Errorf("sqlstore: search runs: %w", err)
		}
		runs = append(runs, tracking.Run{Info: ri})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("sqlstore: search runs: %w", err)
	}
	next := ""
	if len(runs) > q.MaxResults {
		runs = runs[:q.MaxResults]
		next = tracking.EncodePageToken(offset + q.MaxResults)
	}
	if err := s.loadRunData(ctx, runs); err != nil {
		return nil, "", err
	}
	return runs, next, nil
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

// loadRunData fills Data and Inputs of runs, whose Info is set.
func (s *Store) loadRunData(ctx context.Context, runs []tracking.Run) error {
	for start := 0; start < len(runs); start += loadChunk {
		chunk := runs[start:min(start+loadChunk, len(runs))]
		idx := make(map[string]*tracking.Run, len(chunk))
		ids := make([]any, len(chunk))
		for i := range chunk {
			idx[chunk[i].Info.RunID] = &chunk[i]
			ids[i] = chunk[i].Info.RunID
		}
		in := "(" + placeholders(len(ids)) + ")"
		rows, err := s.r.QueryContext(ctx, s.q(`SELECT run_uuid, key, step, timestamp, value, is_nan FROM latest_metrics WHERE run_uuid IN `+in+` ORDER BY key`), ids...)
		if err != nil {
			return fmt.Errorf("sqlstore: load metrics: %w", err)
		}
		for rows.Next() {
			var id string
			var m tracking.Metric
			var step, ts int64
			var v float64
			var nan int
			if err := rows.Scan(&id, &m.Key, &step, &ts, &v, &nan); err != nil {
				rows.Close()
				return fmt.Errorf("sqlstore: load metrics: %w", err)
			}
			if nan != 0 {
				v = math.NaN()
			}
			m.Step, m.Timestamp, m.Value = tracking.Int64(step), tracking.Int64(ts), tracking.Float(v)
			r := idx[id]
			r.Data.Metrics = append(r.Data.Metrics, m)
		}
		rows.Close()
		for _, table := range []string{"params", "tags"} {
			rows, err := s.r.QueryContext(ctx, s.q(`SELECT run_uuid, key, value FROM `+table+` WHERE run_uuid IN `+in+` ORDER BY key`), ids...)
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
		}
		rows, err = s.r.QueryContext(ctx, s.q(`SELECT ri.run_uuid, d.dataset_uuid, d.name, d.digest, d.source_type, d.source, d.schema, d.profile
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
		}
	}
	return nil
}
