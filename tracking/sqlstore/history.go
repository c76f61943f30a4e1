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
	// One range query per bucket over the primary key: a GROUP BY on a
	// computed bucket would sort every point (a temporary B-tree), which
	// costs several times the scan itself. The first and last point of a
	// bucket are index seeks.
	agg, err := s.r.PrepareContext(ctx, s.q(`SELECT MIN(value), MAX(value), COUNT(*), SUM(is_nan) FROM metrics
		WHERE run_key = ? AND key = ? AND step >= ? AND step < ?`))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: metric history buckets: %w", err)
	}
	defer agg.Close()
	finite, err := s.r.PrepareContext(ctx, s.q(`SELECT MIN(value), MAX(value) FROM metrics
		WHERE run_key = ? AND key = ? AND step >= ? AND step < ? AND is_nan = 0`))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: metric history buckets: %w", err)
	}
	defer finite.Close()
	first, err := s.r.PrepareContext(ctx, s.q(`SELECT step, timestamp FROM metrics
		WHERE run_key = ? AND key = ? AND step >= ? ORDER BY step, timestamp LIMIT 1`))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: metric history buckets: %w", err)
	}
	defer first.Close()
	last, err := s.r.PrepareContext(ctx, s.q(`SELECT step, timestamp FROM metrics
		WHERE run_key = ? AND key = ? AND step < ? ORDER BY step DESC, timestamp DESC LIMIT 1`))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: metric history buckets: %w", err)
	}
	defer last.Close()
	var out []tracking.MetricBucket
	for b := lo.Int64; b <= hi.Int64; b += width {
		var mb tracking.MetricBucket
		var mn, mx sql.NullFloat64
		var nans sql.NullInt64
		if err := agg.QueryRowContext(ctx, runKey, key, b, b+width).Scan(&mn, &mx, &mb.Count, &nans); err != nil {
			return nil, fmt.Errorf("sqlstore: metric history buckets %s %q: %w", runID, key, err)
		}
		if mb.Count == 0 {
			continue
		}
		if nans.Int64 > 0 { // NaN rows store a placeholder value: take min and max without them
			if err := finite.QueryRowContext(ctx, runKey, key, b, b+width).Scan(&mn, &mx); err != nil {
				return nil, fmt.Errorf("sqlstore: metric history buckets %s %q: %w", runID, key, err)
			}
		}
		mb.Min, mb.Max = math.NaN(), math.NaN()
		if mn.Valid {
			mb.Min, mb.Max = mn.Float64, mx.Float64
		}
		if err := first.QueryRowContext(ctx, runKey, key, b).Scan(&mb.FirstStep, &mb.FirstTime); err != nil {
			return nil, fmt.Errorf("sqlstore: metric history buckets %s %q: %w", runID, key, err)
		}
		if err := last.QueryRowContext(ctx, runKey, key, b+width).Scan(&mb.LastStep, &mb.LastTime); err != nil {
			return nil, fmt.Errorf("sqlstore: metric history buckets %s %q: %w", runID, key, err)
		}
		out = append(out, mb)
	}
	return out, nil
}
