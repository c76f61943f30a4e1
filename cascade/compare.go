package cascade

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/dawn-ml/dawn/model"
)

// Comparison is a cascade measured against its reference on the same rows.
type Comparison struct {
	Rows              int     `json:"rows"`
	BatchRows         int     `json:"batch_rows"`
	Agreement         float64 `json:"agreement"`
	ReferenceFraction float64 `json:"reference_fraction"`
	ReuseFraction     float64 `json:"reuse_fraction"`
	CascadeSeconds    float64 `json:"cascade_seconds"`
	ReferenceSeconds  float64 `json:"reference_seconds"`
	Speedup           float64 `json:"speedup"` // reference seconds / cascade seconds
}

// Compare runs the cascade and, separately, the reference alone over rows,
// batch rows per call (1: every input on its own, as single requests
// arrive), and reports their agreement, the fraction of rows the cascade
// sent to the reference and the measured end-to-end speedup. Give the
// reference alone as its own instance (a fresh Client), so neither run is
// answered from the other's cache.
func Compare(ctx context.Context, c model.Model, ref model.Model, rows arrow.RecordBatch, batch int) (*Comparison, error) {
	n := int(rows.NumRows())
	if batch <= 0 {
		batch = 1
	}
	run := func(m model.Model) ([]int, []string, time.Duration, error) {
		labels := make([]int, 0, n)
		var stages []string
		start := time.Now()
		for off := 0; off < n; off += batch {
			sl := rows.NewSlice(int64(off), int64(min(off+batch, n)))
			p, err := m.Predict(ctx, sl)
			sl.Release()
			if err != nil {
				return nil, nil, 0, err
			}
			labels = append(labels, p.Labels...)
			stages = append(stages, p.Stage...)
		}
		return labels, stages, time.Since(start), nil
	}
	refLabels, _, refTime, err := run(ref)
	if err != nil {
		return nil, fmt.Errorf("cascade: compare: reference: %w", err)
	}
	refClasses := ref.Info().Classes
	labels, stages, cTime, err := run(c)
	if err != nil {
		return nil, fmt.Errorf("cascade: compare: cascade: %w", err)
	}
	classes := c.Info().Classes
	r := &Comparison{Rows: n, BatchRows: batch, CascadeSeconds: cTime.Seconds(), ReferenceSeconds: refTime.Seconds()}
	agree, toRef, reuse := 0, 0, 0
	for i := 0; i < n; i++ {
		rl := refLabels[i]
		if rl >= 0 && rl < len(refClasses) && labels[i] >= 0 && labels[i] < len(classes) && refClasses[rl] == classes[labels[i]] {
			agree++
		}
		if i < len(stages) {
			switch stages[i] {
			case StageReference:
				toRef++
			case StageReuse:
				reuse++
			}
		}
	}
	if n > 0 {
		r.Agreement = float64(agree) / float64(n)
		r.ReferenceFraction = float64(toRef) / float64(n)
		r.ReuseFraction = float64(reuse) / float64(n)
	}
	if cTime > 0 {
		r.Speedup = refTime.Seconds() / cTime.Seconds()
	}
	return r, nil
}
