package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"

	"github.com/dawn-ml/dawn/tracking"
)

var _ tracking.MetricSampler = (*Store)(nil)

// MetricHistoryBuckets summarises one metric's history per step bucket
// with one GROUP BY over the primary key's range (run_key, key, step, ...),
// so a long history costs one aggregate scan in the database and
// 2 × buckets values on the wire.
func (s *Store) MetricHistoryBuckets(ctx context.Context, runID, key string, buckets int) ([]tracking.MetricBucket, error) {
	if buckets < 1 {
		return nil, fmt.Errorf("sqlstore: metric history buckets: want at least 1 bucket, got %d", buckets)
	}
	var runKey int64
	err := s.r.QueryRowContext(ctx, s.q(`SELECT run_key FROM runs WHERE run_uuid = ?`), runID).Scan(&runKey)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tracking.NotFoundf("Run with id=%s not found", runID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: metric history buckets %s: %w", runID, err)
	}
	var lo, hi sql.NullInt64
	if err := s.r.QueryRowContext(ctx, s.q(`SELECT MIN(step), MAX(step) FROM metrics WHERE run_key = ? AND key = ?`), runKey, key).Scan(&lo, &hi); err != nil {
		return nil, fmt.Errorf("sqlstore: metric history buckets %s %q: %w", runID, key, err)
	}
	if !lo.Valid {
		return nil, nil
	}
	width := (hi.Int64-lo.Int64)/int64(buckets) + 1
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT (step - ?) / ? AS b, MIN(step), MAX(step), MIN(timestamp), MAX(timestamp),
		MIN(CASE WHEN is_nan = 0 THEN value END), MAX(CASE WHEN is_nan = 0 THEN value END), COUNT(*)
		FROM metrics WHERE run_key = ? AND key = ? GROUP BY b ORDER BY b`), lo.Int64, width, runKey, key)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: metric history buckets %s %q: %w", runID, key, err)
	}
	defer rows.Close()
	var out []tracking.MetricBucket
	for rows.Next() {
		var b int64
		var mb tracking.MetricBucket
		var mn, mx sql.NullFloat64
		if err := rows.Scan(&b, &mb.FirstStep, &mb.LastStep, &mb.FirstTime, &mb.LastTime, &mn, &mx, &mb.Count); err != nil {
			return nil, fmt.Errorf("sqlstore: metric history buckets %s %q: %w", runID, key, err)
		}
		mb.Min, mb.Max = math.NaN(), math.NaN()
		if mn.Valid {
			mb.Min, mb.Max = mn.Float64, mx.Float64
		}
		out = append(out, mb)
	}
	return out, rows.Err()
}
