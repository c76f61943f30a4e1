package fuse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/labelmodel"
	"github.com/dawn-ml/dawn/model"

	"github.com/dawn-ml/dawn/internal/logprob"
)

// Type is the dawn flavor's model_type of fusion models.
const Type = "fuse"

func init() { model.Register(Type, load) }

const (
	modeShare     = "share"     // posterior ∝ Σ weights of the sources voting each value
	modeLogLinear = "loglinear" // posterior ∝ exp(Base + Σ W[source, answer])
)

// Table scores new claims with fitted source parameters. Exactly one of
// Weight (share), Acc (one-coin accuracies) or W (log P(answer | truth))
// holds the per-source parameters.
type Table struct {
	Method  string    `json:"method"`
	Mode    string    `json:"mode"`
	K       int       `json:"k"`
	Values  []string  `json:"values"`
	Sources []string  `json:"sources"`
	Base    []float64 `json:"base,omitempty"`   // K: log prior
	Weight  []float64 `json:"weight,omitempty"` // per source (share)
	Acc     []float64 `json:"acc,omitempty"`    // per source (one-coin)
	W       []float64 `json:"w,omitempty"`      // (s·K+a)·K+y
	// Default holds the K×K log table (or K×K share weights) for a source
	// not seen in training: the sources' average.
	Default []float64 `json:"default"`

	// Column names of the claims the model was fitted on.
	ObjectCol string `json:"object_column"`
	SourceCol string `json:"source_column"`
	ValueCol  string `json:"value_column"`

	srcIdx map[string]int32
	valIdx map[string]int32
}

func shareTable(c *Claims, weight []float64) *Table {
	t := &Table{Mode: modeShare, K: c.K(), Values: c.Values, Sources: c.Sources, Weight: weight}
	if weight == nil {
		t.Weight = make([]float64, len(c.Sources))
		for i := range t.Weight {
			t.Weight[i] = 1
		}
	}
	t.setDefault()
	return t
}

func oneCoinTable(c *Claims, acc, prior []float64) *Table {
	t := &Table{Mode: modeLogLinear, K: c.K(), Values: c.Values, Sources: c.Sources, Acc: acc, Base: logs(prior)}
	t.setDefault()
	return t
}

func logs(p []float64) []float64 {
	out := make([]float64, len(p))
	for i, v := range p {
		out[i] = math.Log(max(v, 1e-300))
	}
	return out
}

func dsTable(c *Claims, p *labelmodel.DSParams) *Table {
	k := c.K()
	m := len(c.Sources)
	w := make([]float64, m*k*k)
	for code := 0; code < m*k; code++ {
		copy(w[code*k:(code+1)*k], p.LogDelta(int32(code)))
	}
	t := &Table{Mode: modeLogLinear, K: k, Values: c.Values, Sources: c.Sources, W: w, Base: logs(p.Prior)}
	t.setDefault()
	return t
}

// entry writes source s's contribution to each truth y when it answers a.
func (t *Table) entry(s int32, a int, dst []float64) {
	k := t.K
	switch {
	case s < 0:
		copy(dst, t.Default[a*k:(a+1)*k])
	case t.Mode == modeShare:
		clear(dst)
		dst[a] = t.Weight[s]
	case t.Acc != nil:
		acc := clampProb(t.Acc[s])
		w := math.Log((1 - acc) / float64(k-1))
		for y := range dst {
			dst[y] = w
		}
		dst[a] = math.Log(acc)
	default:
		copy(dst, t.W[(int(s)*k+a)*k:(int(s)*k+a+1)*k])
	}
}

// setDefault makes the unseen-source table the sources' average.
func (t *Table) setDefault() {
	k := t.K
	m := len(t.Sources)
	t.Default = make([]float64, k*k)
	if m == 0 {
		return
	}
	tmp := make([]float64, k)
	for s := 0; s < m; s++ {
		for a := 0; a < k; a++ {
			t.entry(int32(s), a, tmp)
			for y, v := range tmp {
				t.Default[a*k+y] += v / float64(m)
			}
		}
	}
}

func (t *Table) index() {
	t.srcIdx = make(map[string]int32, len(t.Sources))
	for i, s := range t.Sources {
		t.srcIdx[s] = int32(i)
	}
	t.valIdx = make(map[string]int32, len(t.Values))
	for i, v := range t.Values {
		t.valIdx[v] = int32(i)
	}
}

// Posterior fuses one object's claims (source names and values) into dst
// (length K).
func (t *Table) posterior(srcs []int32, vals []int32, dst []float64) {
	k := t.K
	tmp := make([]float64, k)
	if t.Mode == modeShare {
		clear(dst)
		var tot float64
		for i, s := range srcs {
			t.entry(s, int(vals[i]), tmp)
			for y, v := range tmp {
				dst[y] += v
				tot += v
			}
		}
		for y := range dst {
			if tot > 0 {
				dst[y] /= tot
			} else {
				dst[y] = 1 / float64(k)
			}
		}
		return
	}
	if t.Base != nil {
		copy(dst, t.Base)
	} else {
		clear(dst)
	}
	for i, s := range srcs {
		t.entry(s, int(vals[i]), tmp)
		for y, v := range tmp {
			dst[y] += v
		}
	}
	logprob.Normalize(dst)
}

// Save writes r as a model directory servable by `dawn serve`.
// objectCol, sourceCol and valueCol name the claim columns.
func (r *Result) Save(dir, objectCol, sourceCol, valueCol, runID string) error {
	if r.Claims.Numeric {
		return errors.New("fuse: numeric fusions are not saved as models (they keep no per-source table to score new claims with)")
	}
	if r.table == nil {
		return fmt.Errorf("fuse: %s keeps no source table to score new claims with; save a ds, onecoin, glad, mace, slimfast, wawa or majority fit", r.Method)
	}
	t := *r.table
	t.Method, t.ObjectCol, t.SourceCol, t.ValueCol = r.Method, objectCol, sourceCol, valueCol
	return model.Save(dir, &model.Artifact{
		Type:    Type,
		Classes: r.Claims.Values,
		Inputs: []model.Column{{Name: objectCol, Type: "string"}, {Name: sourceCol, Type: "string"},
			{Name: valueCol, Type: "string"}},
		Files: []model.File{model.JSONFile("weights", "fuse.json", &t)},
		Params: map[string]string{"method": r.Method, "sources": strconv.Itoa(len(t.Sources)),
			"values": strconv.Itoa(t.K)},
		RunID: runID,
	})
}

// Model scores claims with a saved Table: every row is a claim, and every
// row gets the posterior of its object over the batch's claims.
type Model struct {
	info  *model.Info
	table *Table
}

func load(dir string, desc *model.MLmodel) (model.Model, error) {
	p, err := desc.Path(dir, "weights")
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("fuse: %w", err)
	}
	var t Table
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("fuse: %s: %w", p, err)
	}
	if t.K < 1 || len(t.Values) != t.K || len(t.Default) != t.K*t.K {
		return nil, fmt.Errorf("fuse: %s: inconsistent table (k=%d, %d values, %d default entries)", p, t.K, len(t.Values), len(t.Default))
	}
	m := len(t.Sources)
	switch {
	case t.Mode == modeShare && len(t.Weight) == m:
	case t.Mode == modeLogLinear && (len(t.Acc) == m || len(t.W) == m*t.K*t.K):
	default:
		return nil, fmt.Errorf("fuse: %s: table mode %q does not match its parameters", p, t.Mode)
	}
	t.index()
	return &Model{info: desc.Info(), table: &t}, nil
}

// Info describes the model.
func (m *Model) Info() *model.Info { return m.info }

// Predict fuses the batch's claims per object.
func (m *Model) Predict(ctx context.Context, rows arrow.RecordBatch) (*model.Prediction, error) {
	t := m.table
	cols := make([]arrow.Array, 3)
	for i, name := range []string{t.ObjectCol, t.SourceCol, t.ValueCol} {
		idx := rows.Schema().FieldIndices(name)
		if len(idx) == 0 {
			return nil, fmt.Errorf("fuse: input has no column %q", name)
		}
		cols[i] = rows.Column(idx[0])
	}
	n := int(rows.NumRows())
	k := t.K
	objOf := make([]int, n)
	objIdx := map[string]int{}
	var srcs, vals [][]int32
	for i := 0; i < n; i++ {
		if cols[0].IsNull(i) || cols[1].IsNull(i) || cols[2].IsNull(i) {
			return nil, fmt.Errorf("fuse: row %d: object, source and value must all be present", i)
		}
		obj := data.FormatValue(cols[0], i)
		v, ok := t.valIdx[data.FormatValue(cols[2], i)]
		if !ok {
			return nil, fmt.Errorf("fuse: row %d: value %q was not seen in training (known values: %v)", i, data.FormatValue(cols[2], i), t.Values)
		}
		s, ok := t.srcIdx[data.FormatValue(cols[1], i)]
		if !ok {
			s = -1
		}
		o, ok := objIdx[obj]
		if !ok {
			o = len(srcs)
			objIdx[obj] = o
			srcs, vals = append(srcs, nil), append(vals, nil)
		}
		objOf[i] = o
		srcs[o] = append(srcs[o], s)
		vals[o] = append(vals[o], v)
	}
	post := make([]float64, len(srcs)*k)
	for o := range srcs {
		t.posterior(srcs[o], vals[o], post[o*k:(o+1)*k])
	}
	p := &model.Prediction{Classes: t.Values, Probs: make([]float64, n*k), Labels: make([]int, n)}
	for i, o := range objOf {
		row := post[o*k : (o+1)*k]
		copy(p.Probs[i*k:(i+1)*k], row)
		p.Labels[i] = argmax(row)
	}
	return p, nil
}
