package tracking

import "context"

// MetricBucket summarises the points of a metric history whose steps fall
// in one bucket of equal width: the step and time of its first and last
// point (in step order), the smallest
// and largest finite value and how many points (NaN included) it holds.
type MetricBucket struct {
	FirstStep, LastStep int64
	FirstTime, LastTime int64
	Min, Max            float64
	Count               int64
}

// MetricSampler is implemented by stores that can summarise a long metric
// history in the database (one aggregate scan) instead of returning every
// point: the web console draws a 1,000,000-point history from about
// 2 × buckets values this way. Buckets split [min step, max step] into
// equal widths; empty buckets are left out; NaN points are counted but
// take no part in Min and Max.
type MetricSampler interface {
	MetricHistoryBuckets(ctx context.Context, runID, key string, buckets int) ([]MetricBucket, error)
}
