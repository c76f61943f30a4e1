package web

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dawn-ml/dawn/tracking"
)

// Bounds of the chart data endpoint.
const (
	defaultChartPoints = 2000
	maxChartPoints     = 20000
	// maxHistoryPoints bounds the points of one metric read for a chart
	// (24 bytes each in memory: 2,000,000 is 48 MB); longer histories are
	// cut there and the answer says so.
	maxHistoryPoints = 2_000_000
	maxChartRuns     = 100
)

// history is one metric history held for downsampling; x is the other
// metric's value per point when the x axis is a metric.
type history struct {
	step, time, value, x []float64
	total                int
	cut                  bool
}

// errHistoryCut stops reading a history at maxHistoryPoints.
var errHistoryCut = errors.New("web: history cut")

// readHistory reads one metric's history in one ordered scan (paging with
// offsets would rescan the skipped rows), stopping at maxHistoryPoints.
func (c *console) readHistory(ctx context.Context, runID, key string) (*history, error) {
	h := &history{}
	_, err := c.Store.MetricHistory(ctx, runID, key, "", 0, func(m tracking.Metric) error {
		if len(h.step) == maxHistoryPoints {
			h.cut = true
			return errHistoryCut
		}
		h.total++
		h.step = append(h.step, float64(m.Step))
		h.time = append(h.time, float64(m.Timestamp))
		h.value = append(h.value, float64(m.Value))
		return nil
	})
	if err != nil && !errors.Is(err, errHistoryCut) {
		return nil, err
	}
	return h, nil
}

// sampledHistory is the history to draw: when the store can summarise it
// in the database (tracking.MetricSampler) and it is longer than twice
// points, the min and max of each of points/2 step buckets (an envelope
// that keeps every peak, in one aggregate scan); otherwise every point.
func (c *console) sampledHistory(ctx context.Context, runID, key string, points int) (*history, error) {
	sampler, ok := c.Store.(tracking.MetricSampler)
	if !ok {
		return c.readHistory(ctx, runID, key)
	}
	bs, err := sampler.MetricHistoryBuckets(ctx, runID, key, points/2)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, b := range bs {
		total += int(b.Count)
	}
	if total <= 2*points {
		return c.readHistory(ctx, runID, key)
	}
	h := &history{total: total}
	for _, b := range bs {
		h.step = append(h.step, float64(b.FirstStep), float64(b.LastStep))
		h.time = append(h.time, float64(b.FirstTime), float64(b.LastTime))
		h.value = append(h.value, b.Min, b.Max)
	}
	return h, nil
}

// alignedHistory is key's history drawn against metric xKey: the two
// histories are joined on step. The rule: at a step logged more than once,
// the last point of each metric (in timestamp order) counts; a step
// either metric lacks is left out, as is a point whose x is NaN or ±Inf;
// the joined points are then sorted by x (then step), which LTTB needs.
// Both histories are read whole (at most maxHistoryPoints each), not
// summarised, since the pairing needs every point.
func (c *console) alignedHistory(ctx context.Context, runID, key, xKey string) (*history, error) {
	y, err := c.readHistory(ctx, runID, key)
	if err != nil {
		return nil, err
	}
	xh, err := c.readHistory(ctx, runID, xKey)
	if err != nil {
		return nil, err
	}
	return alignByStep(y, xh), nil
}

// alignByStep joins y and x (both in step, timestamp order) on step as
// alignedHistory describes.
func alignByStep(y, x *history) *history {
	out := &history{cut: y.cut || x.cut}
	i, j := 0, 0
	for i < len(y.step) && j < len(x.step) {
		// The last point of each at this step.
		for i+1 < len(y.step) && y.step[i+1] == y.step[i] {
			i++
		}
		for j+1 < len(x.step) && x.step[j+1] == x.step[j] {
			j++
		}
		switch {
		case y.step[i] < x.step[j]:
			i++
		case y.step[i] > x.step[j]:
			j++
		default:
			if isFinite(x.value[j]) {
				out.step = append(out.step, y.step[i])
				out.time = append(out.time, y.time[i])
				out.value = append(out.value, y.value[i])
				out.x = append(out.x, x.value[j])
			}
			i++
			j++
		}
	}
	out.total = len(out.step)
	p := make([]int, len(out.x))
	for k := range p {
		p[k] = k
	}
	sort.SliceStable(p, func(a, b int) bool { return out.x[p[a]] < out.x[p[b]] })
	permute := func(v []float64) []float64 {
		w := make([]float64, len(v))
		for k, pk := range p {
			w[k] = v[pk]
		}
		return w
	}
	out.step, out.time, out.value, out.x = permute(out.step), permute(out.time), permute(out.value), permute(out.x)
	return out
}

// historyJSON answers GET /data/history?runs=ID,ID&key=K&points=N with each
// run's history of K downsampled to at most N points with LTTB over the
// step axis (wall-time stamps travel with the points kept). With x=M (a
// metric key) each series also carries "x", M's value at the point's step
// (alignedHistory's rule), and LTTB runs over that axis.
func (c *console) historyJSON(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	q := r.URL.Query()
	key := q.Get("key")
	if key == "" {
		return badRequest("Missing metric key: key=NAME")
	}
	ids := splitIDs(strings.Join(q["runs"], ","))
	if len(ids) == 0 || len(ids) > maxChartRuns {
		return badRequest("runs=ID,ID...: want 1..%d run ids, got %d", maxChartRuns, len(ids))
	}
	points := defaultChartPoints
	if s := q.Get("points"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 3 || n > maxChartPoints {
			return badRequest("Invalid points=%q: want 3..%d", s, maxChartPoints)
		}
		points = n
	}
	xKey := q.Get("x")
	if xKey == key {
		return badRequest("x=%q: the x axis must be another metric than key", xKey)
	}
	w.Header().Set("Content-Type", "application/json")
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(`{"key":`)
	writeJSONString(bw, key)
	if xKey != "" {
		bw.WriteString(`,"x":`)
		writeJSONString(bw, xKey)
	}
	bw.WriteString(`,"series":[`)
	var readMs float64
	for i, id := range ids {
		run, err := c.Store.GetRun(r.Context(), id)
		if err != nil {
			return err
		}
		t0 := time.Now()
		var h *history
		if xKey != "" {
			h, err = c.alignedHistory(r.Context(), id, key, xKey)
		} else {
			h, err = c.sampledHistory(r.Context(), id, key, points)
		}
		if err != nil {
			return err
		}
		readMs += float64(time.Since(t0).Microseconds()) / 1000
		xs := h.step
		if xKey != "" {
			xs = h.x
		}
		idx := LTTB(xs, h.value, points)
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(`{"run_id":`)
		writeJSONString(bw, id)
		bw.WriteString(`,"name":`)
		writeJSONString(bw, runTitle(run))
		bw.WriteString(`,"total":` + strconv.Itoa(h.total) + `,"cut":` + strconv.FormatBool(h.cut) + `,"start_time":` + strconv.FormatInt(int64(run.Info.StartTime), 10))
		cols := []struct {
			name string
			v    []float64
		}{{"step", h.step}, {"time", h.time}, {"value", h.value}}
		if xKey != "" {
			cols = append(cols, struct {
				name string
				v    []float64
			}{"x", h.x})
		}
		for _, col := range cols {
			bw.WriteString(`,"` + col.name + `":[`)
			for j, k := range idx {
				if j > 0 {
					bw.WriteByte(',')
				}
				if v := col.v[k]; isFinite(v) {
					bw.Write(strconv.AppendFloat(nil, v, 'g', -1, 64))
				} else {
					bw.WriteString("null")
				}
			}
			bw.WriteByte(']')
		}
		bw.WriteByte('}')
	}
	bw.WriteString(`],"server_ms":` + strconv.FormatFloat(float64(time.Since(start).Microseconds())/1000, 'f', 2, 64) +
		`,"read_ms":` + strconv.FormatFloat(readMs, 'f', 2, 64) + `}`)
	return bw.Flush()
}

func splitIDs(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

func writeJSONString(w *bufio.Writer, s string) {
	b, _ := json.Marshal(s)
	w.Write(b)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (c *console) chartPage(w http.ResponseWriter, r *http.Request) error {
	run, err := c.Store.GetRun(r.Context(), r.PathValue("run"))
	if err != nil {
		return err
	}
	key := r.URL.Query().Get("key")
	var keys []string
	for _, m := range run.Data.Metrics {
		keys = append(keys, m.Key)
		if key == "" {
			key = m.Key
		}
	}
	sort.Strings(keys)
	c.render(w, r, "chart", key+" · "+runTitle(run), map[string]any{"Run": run, "Key": key, "Keys": keys, "Runs": run.Info.RunID}, 0)
	return nil
}
