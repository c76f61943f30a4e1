package video

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/dawn-ml/dawn/cascade"
	"github.com/dawn-ml/dawn/video/haar"
)

// HTTPReference is any detector behind an HTTP endpoint speaking dawn's
// scoring protocol (POST /invocations, MLflow's dataframe_split), through
// the project's one scoring client, cascade.Client. Each call sends one row
// with the columns frame (the index), width, height and pixels (the full
// gray frame, row-major, base64); the prediction must be the object count
// (a number or a numeric label).
type HTTPReference struct {
	Client *cascade.Client

	mu    sync.Mutex
	spent time.Duration
	ran   int
}

// NewHTTPReference is a reference at url (its base or /invocations URL).
// The client's answer cache is off: frames are large and the query keeps
// its own answers.
func NewHTTPReference(url string) *HTTPReference {
	return &HTTPReference{Client: &cascade.Client{URL: url, CacheSize: -1, BatchRows: 1, Concurrency: 1}}
}

func (r *HTTPReference) Count(ctx context.Context, i int, f *haar.Gray) (int, error) {
	if f == nil {
		return 0, fmt.Errorf("video: HTTP reference: frame %d has no pixels", i)
	}
	rec := frameBatch(i, f)
	defer rec.Release()
	t0 := time.Now()
	p, err := r.Client.Predict(ctx, rec)
	if err != nil {
		return 0, fmt.Errorf("video: HTTP reference, frame %d: %w", i, err)
	}
	d := time.Since(t0)
	r.mu.Lock()
	r.spent += d
	r.ran++
	r.mu.Unlock()
	if len(p.Labels) != 1 || p.Labels[0] < 0 || p.Labels[0] >= len(p.Classes) {
		return 0, fmt.Errorf("video: HTTP reference, frame %d: no count in the answer", i)
	}
	s := p.Classes[p.Labels[0]]
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v < 0 || v != float64(int(v)) || v > 1e6 {
		return 0, fmt.Errorf("video: HTTP reference, frame %d: prediction %q is not a whole count from 0 to 1,000,000", i, s)
	}
	return int(v), nil
}

func (r *HTTPReference) NeedsFrames() bool { return true }
func (r *HTTPReference) Describe() string  { return "http:" + r.Client.URL }

// Cost is the measured seconds per call.
func (r *HTTPReference) Cost() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ran == 0 {
		return 0
	}
	return r.spent.Seconds() / float64(r.ran)
}

func frameBatch(i int, f *haar.Gray) arrow.RecordBatch {
	mem := memory.DefaultAllocator
	ib := array.NewInt64Builder(mem)
	defer ib.Release()
	sb := array.NewStringBuilder(mem)
	defer sb.Release()
	var cols []arrow.Array
	for _, v := range []int64{int64(i), int64(f.W), int64(f.H)} {
		ib.Append(v)
		cols = append(cols, ib.NewArray())
	}
	sb.Append(base64.StdEncoding.EncodeToString(f.Pix))
	cols = append(cols, sb.NewArray())
	sch := arrow.NewSchema([]arrow.Field{{Name: "frame", Type: arrow.PrimitiveTypes.Int64}, {Name: "width", Type: arrow.PrimitiveTypes.Int64},
		{Name: "height", Type: arrow.PrimitiveTypes.Int64}, {Name: "pixels", Type: arrow.BinaryTypes.String}}, nil)
	rec := array.NewRecordBatch(sch, cols, 1)
	for _, c := range cols {
		c.Release()
	}
	return rec
}
