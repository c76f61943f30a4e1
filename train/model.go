package train

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/dawn-ml/dawn/featurize"
	"github.com/dawn-ml/dawn/model"
)

// Files inside a saved model directory.
const (
	FeaturizerFile = "featurizer.json"
	WeightsFile    = "weights.bin"
	weightsMagic   = "DAWNPRM1"
)

func init() {
	for _, k := range Kinds {
		model.Register(string(k), Load)
	}
}

// Model is a trained end model: a featurizer and weights. It implements
// model.Model and is safe for concurrent use.
type Model struct {
	Kind    Kind
	Classes []string // nil for regression
	Feat    *featurize.Featurizer
	Params  *Params
	// Hyper are the training settings recorded in the MLmodel params.
	Hyper map[string]string

	pool sync.Pool // *scorer
}

var _ model.Model = (*Model)(nil)

type scorer struct {
	x   *featurize.Matrix
	w   *work
	out []float64
}

// Info describes the model.
func (m *Model) Info() *model.Info {
	return &model.Info{Type: string(m.Kind), Classes: append([]string(nil), m.Classes...), Inputs: m.inputs()}
}

func (m *Model) inputs() []model.Column {
	var cols []model.Column
	for _, c := range m.Feat.Inputs() {
		cols = append(cols, model.Column{Name: c[0], Type: c[1]})
	}
	return cols
}

// Predict scores a batch.
func (m *Model) Predict(ctx context.Context, rows arrow.RecordBatch) (*model.Prediction, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, _ := m.pool.Get().(*scorer)
	if s == nil {
		s = &scorer{x: featurize.NewMatrix(m.Feat.Dim()), w: newWork(m.Params), out: make([]float64, max(m.Params.Outputs(), 2))}
	}
	defer m.pool.Put(s)
	s.x.Reset()
	if err := m.Feat.Transform(rows, s.x); err != nil {
		return nil, fmt.Errorf("train: predict: %w", err)
	}
	n := s.x.Rows()
	pred := &model.Prediction{}
	if m.Kind == LinReg {
		pred.Values = make([]float64, n)
		for i := 0; i < n; i++ {
			idx, val := s.x.Row(i)
			m.Params.logits(idx, val, s.w)
			pred.Values[i] = s.w.z[0]
		}
		return pred, nil
	}
	C := len(m.Classes)
	pred.Classes = append([]string(nil), m.Classes...)
	pred.Probs = make([]float64, n*C)
	pred.Labels = make([]int, n)
	for i := 0; i < n; i++ {
		idx, val := s.x.Row(i)
		m.Params.logits(idx, val, s.w)
		out := pred.Probs[i*C : i*C+C]
		m.Params.probs(s.w.z, out)
		best := 0
		for k := range out {
			if out[k] > out[best] {
				best = k
			}
		}
		pred.Labels[i] = best
	}
	return pred, nil
}

// Save writes the model directory. example, when non-nil, is saved as the
// input example; runID is recorded in the MLmodel.
func (m *Model) Save(dir, runID string, example *model.Example) error {
	p := m.Params
	params := map[string]string{"d": strconv.Itoa(p.D), "k": strconv.Itoa(p.K), "hidden": strconv.Itoa(p.H)}
	for k, v := range m.Hyper {
		params[k] = v
	}
	return model.Save(dir, &model.Artifact{
		Type:         string(m.Kind),
		Classes:      m.Classes,
		Inputs:       m.inputs(),
		Params:       params,
		RunID:        runID,
		InputExample: example,
		Files: []model.File{
			model.JSONFile("featurizer", FeaturizerFile, m.Feat),
			model.WriterFile("weights", WeightsFile, func(w io.Writer) error { return writeWeights(w, p) }),
		},
	})
}

// Load opens a saved model; it is the model.Loader for every Kind.
func Load(dir string, desc *model.MLmodel) (model.Model, error) {
	kind, err := ParseKind(desc.Flavors.Dawn.ModelType)
	if err != nil {
		return nil, err
	}
	fp, err := desc.Path(dir, "featurizer")
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(fp)
	if err != nil {
		return nil, fmt.Errorf("train: load featurizer: %w", err)
	}
	var feat featurize.Featurizer
	if err := json.Unmarshal(b, &feat); err != nil {
		return nil, fmt.Errorf("train: load featurizer %s: %w", fp, err)
	}
	if err := feat.Ready(); err != nil {
		return nil, fmt.Errorf("train: load featurizer %s: %w", fp, err)
	}
	wp, err := desc.Path(dir, "weights")
	if err != nil {
		return nil, err
	}
	f, err := os.Open(wp)
	if err != nil {
		return nil, fmt.Errorf("train: load weights: %w", err)
	}
	defer f.Close()
	ps := desc.Flavors.Dawn.Params
	atoi := func(k string) int { v, _ := strconv.Atoi(ps[k]); return v }
	classes := desc.Flavors.Dawn.Classes
	d, hidden := atoi("d"), atoi("hidden")
	if d != feat.Dim() {
		return nil, fmt.Errorf("train: load %s: params say %d inputs, the featurizer makes %d", dir, d, feat.Dim())
	}
	if kind == MLP && (hidden < 1 || hidden > 1<<14) {
		return nil, fmt.Errorf("train: load %s: hidden = %d; want 1..%d", dir, hidden, 1<<14)
	}
	p := NewParams(kind, d, max(len(classes), 1), hidden)
	if kind.Classifier() && len(classes) < 2 {
		return nil, fmt.Errorf("train: load %s: a %s model needs at least 2 classes, the MLmodel lists %d", dir, kind, len(classes))
	}
	if err := readWeights(bufio.NewReader(f), p); err != nil {
		return nil, fmt.Errorf("train: load weights %s: %w", wp, err)
	}
	if !kind.Classifier() {
		classes = nil
	}
	return &Model{Kind: kind, Classes: classes, Feat: &feat, Params: p, Hyper: ps}, nil
}

// The weights file: the 8 bytes "DAWNPRM1", a little-endian uint32 count of
// tensors, then per tensor a uint16 name length, the name, uint32 rows,
// uint32 columns and rows·columns little-endian IEEE-754 float64 values,
// row-major. Tensors: "W" (D×K, or D×H for the MLP), "B" (1×K or 1×H) and,
// for the MLP, "W2" (H×K) and "B2" (1×K).
func writeWeights(w io.Writer, p *Params) error {
	type tensor struct {
		name       string
		rows, cols int
		v          []float64
	}
	ts := []tensor{{"W", p.D, p.K, p.W}, {"B", 1, p.K, p.B}}
	if p.Kind == MLP {
		ts = []tensor{{"W", p.D, p.H, p.W}, {"B", 1, p.H, p.B}, {"W2", p.H, p.K, p.W2}, {"B2", 1, p.K, p.B2}}
	}
	if _, err := io.WriteString(w, weightsMagic); err != nil {
		return err
	}
	var buf [8]byte
	binary.LittleEndian.PutUint32(buf[:4], uint32(len(ts)))
	w.Write(buf[:4])
	for _, t := range ts {
		binary.LittleEndian.PutUint16(buf[:2], uint16(len(t.name)))
		w.Write(buf[:2])
		io.WriteString(w, t.name)
		binary.LittleEndian.PutUint32(buf[:4], uint32(t.rows))
		w.Write(buf[:4])
		binary.LittleEndian.PutUint32(buf[:4], uint32(t.cols))
		w.Write(buf[:4])
		for _, v := range t.v {
			binary.LittleEndian.PutUint64(buf[:], math.Float64bits(v))
			if _, err := w.Write(buf[:]); err != nil {
				return err
			}
		}
	}
	return nil
}

var errWeights = errors.New("malformed weights file")

func readWeights(r io.Reader, p *Params) error {
	var magic [8]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil || string(magic[:]) != weightsMagic {
		return fmt.Errorf("%w: no %s header", errWeights, weightsMagic)
	}
	var buf [8]byte
	if _, err := io.ReadFull(r, buf[:4]); err != nil {
		return fmt.Errorf("%w: %v", errWeights, err)
	}
	want := map[string][]float64{"W": p.W, "B": p.B}
	if p.Kind == MLP {
		want["W2"], want["B2"] = p.W2, p.B2
	}
	n := int(binary.LittleEndian.Uint32(buf[:4]))
	if n != len(want) {
		return fmt.Errorf("%w: %d tensors, want %d for %s", errWeights, n, len(want), p.Kind)
	}
	for i := 0; i < n; i++ {
		if _, err := io.ReadFull(r, buf[:2]); err != nil {
			return fmt.Errorf("%w: tensor %d: %v", errWeights, i, err)
		}
		name := make([]byte, binary.LittleEndian.Uint16(buf[:2]))
		if _, err := io.ReadFull(r, name); err != nil {
			return fmt.Errorf("%w: tensor %d: %v", errWeights, i, err)
		}
		dst, ok := want[string(name)]
		if !ok {
			return fmt.Errorf("%w: unexpected tensor %q", errWeights, name)
		}
		delete(want, string(name))
		if _, err := io.ReadFull(r, buf[:8]); err != nil {
			return fmt.Errorf("%w: tensor %s: %v", errWeights, name, err)
		}
		rows, cols := binary.LittleEndian.Uint32(buf[:4]), binary.LittleEndian.Uint32(buf[4:8])
		if uint64(rows)*uint64(cols) != uint64(len(dst)) {
			return fmt.Errorf("%w: tensor %s is %d×%d, want %d values", errWeights, name, rows, cols, len(dst))
		}
		for j := range dst {
			if _, err := io.ReadFull(r, buf[:]); err != nil {
				return fmt.Errorf("%w: tensor %s value %d: %v", errWeights, name, j, err)
			}
			dst[j] = math.Float64frombits(binary.LittleEndian.Uint64(buf[:]))
		}
	}
	return nil
}
