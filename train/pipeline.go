package train

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/featurize"
	"github.com/dawn-ml/dawn/model"
)

// Spec is one training job, as `dawn train` describes it.
type Spec struct {
	Data     string           // training file
	Read     data.Options     // how Data and Valid are read (--format, --type, --delimiter)
	Features featurize.Config // feature columns
	Target   string           // hard-label (or, for linreg, numeric) column
	ProbCols []string         // probabilistic label columns, one per class
	Weight   string           // optional per-row weight column
	// KeepAbstain keeps rows where every LF abstained, which are dropped
	// by default. A row is all-abstain when VotesCol (the vote count `dawn
	// label run` writes, "votes") is present in the data and 0; in data
	// without it, when its probabilities are uniform or its label is empty
	// or -1.
	KeepAbstain bool
	VotesCol    string
	// RequireVotes makes a missing VotesCol an error (it was named by the
	// user) instead of falling back to the uniform/empty rule.
	RequireVotes bool
	Valid        string  // optional validation file (gold labels in Gold)
	Gold         string  // gold label column of Valid
	ValidFrac    float64 // without Valid: hold out this fraction of the training rows
	Options      Options
	// Search, when it asks for anything, chooses the text featurization
	// and/or the L2 penalty by validation (see Search).
	Search Search
	Out    string // model directory
	RunID  string
	// ProbTolerance is how far a row's probabilities may sum from 1 (default 1e-3).
	ProbTolerance float64
}

// Report summarizes a training job.
type Report struct {
	Model      string      `json:"model"`
	Out        string      `json:"out"`
	Classes    []string    `json:"classes,omitempty"`
	Features   int         `json:"features"`
	Rows       int         `json:"rows"`
	Dropped    int         `json:"dropped_abstain"`
	ValidRows  int         `json:"valid_rows,omitempty"`
	Epochs     int         `json:"epochs"`
	BestEpoch  int         `json:"best_epoch"`
	Objective  float64     `json:"objective"`
	ValidLoss  *float64    `json:"valid_loss,omitempty"`
	ValidAcc   *float64    `json:"valid_accuracy,omitempty"`
	Seconds    float64     `json:"seconds"`
	RowsPerSec float64     `json:"rows_per_second"`
	History    []EpochStat `json:"history,omitempty"`
	// Params are the hyperparameters used, after defaults: what a tracking
	// run should record (not the raw flags).
	Params map[string]string `json:"params"`
	RunID  string            `json:"run_id,omitempty"`
	// Search is what the search tried and chose (nil without one).
	Search *SearchReport `json:"search,omitempty"`
}

// ErrProbSum reports probabilistic labels that do not sum to 1.
var ErrProbSum = errors.New("probabilities do not sum to 1")

// Run reads the data, fits the featurizer and the model, and saves it.
func Run(ctx context.Context, s Spec) (*Report, error) {
	if s.Target == "" && len(s.ProbCols) == 0 {
		return nil, errors.New("train: name the labels: a target column or probability columns")
	}
	if s.Target != "" && len(s.ProbCols) > 0 {
		return nil, errors.New("train: give a target column or probability columns, not both")
	}
	kind := s.Options.Model
	auto := kind == ""
	if auto {
		kind = LogReg // a classifier; softmax once the classes are known to be > 2
	}
	if _, err := ParseKind(string(kind)); err != nil {
		return nil, err
	}
	if kind == LinReg && len(s.ProbCols) > 0 {
		return nil, errors.New("train: linreg needs a numeric --target, not probability columns")
	}
	_, recs, err := data.ReadAll(s.Data, s.Read)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer release(recs)
	tg, err := readTargets(s, recs, kind)
	if err != nil {
		return nil, err
	}
	if auto && tg.c > 2 {
		kind = Softmax
	}
	s.Options.Model = kind
	var valid *validData
	if s.Valid != "" {
		if s.Gold == "" {
			return nil, errors.New("train: --valid needs --gold, the validation file's label column")
		}
		if valid, err = readValidData(s, tg.classes, kind); err != nil {
			return nil, err
		}
		defer release(valid.recs)
	}
	var srep *SearchReport
	if s.Search.Features || s.Search.L2 {
		cfg, o, r, err := search(ctx, s, recs, tg, s.Options, valid)
		if err != nil {
			return nil, err
		}
		s.Features, s.Options, srep = cfg, o, r
		if r != nil && s.Valid == "" && s.ValidFrac == 0 && s.Options.Epochs <= 0 {
			// No validation rows in the final fit, which sees all the
			// training rows: run the epochs that were best in the search.
			s.Options.Epochs = max(r.Chosen.Epochs, 1)
		}
	}
	feat, err := featurize.Fit(s.Features, recs)
	if err != nil {
		return nil, fmt.Errorf("train: %s: %w", s.Data, err)
	}
	X, err := transform(feat, recs, s.Data)
	if err != nil {
		return nil, err
	}
	all := &Dataset{X: X, Y: tg.y, C: tg.c, Weight: tg.w}
	ds := all.Subset(tg.keep)
	rep := &Report{Model: string(kind), Out: s.Out, Classes: tg.classes, Features: feat.Dim(), Dropped: tg.dropped, Search: srep}
	opt := s.Options
	if valid != nil {
		vX, err := transform(feat, valid.recs, s.Valid)
		if err != nil {
			return nil, err
		}
		opt.Valid = &Dataset{X: vX, Y: valid.y, C: valid.c}
		rep.ValidRows = vX.Rows()
	} else if s.ValidFrac > 0 {
		if s.ValidFrac >= 1 {
			return nil, fmt.Errorf("train: validation fraction %v must be below 1", s.ValidFrac)
		}
		n := ds.X.Rows()
		perm := rand.New(rand.NewPCG(opt.Seed, 77)).Perm(n)
		nv := int(math.Round(s.ValidFrac * float64(n)))
		opt.Valid = ds.Subset(perm[:nv])
		ds = ds.Subset(perm[nv:])
		rep.ValidRows = nv
	}
	rep.Rows = ds.X.Rows()
	if err := opt.defaults(ds); err != nil { // so the MLmodel records the values used
		return nil, err
	}
	res, err := Fit(ctx, ds, opt)
	if err != nil {
		return nil, err
	}
	rep.Epochs, rep.BestEpoch, rep.Objective = res.Epochs, res.BestEpoch, res.Objective
	rep.Seconds, rep.RowsPerSec, rep.History = res.Seconds, res.RowsPerS, res.History
	if opt.Valid != nil {
		vl := res.ValidLoss
		rep.ValidLoss = &vl
		if kind.Classifier() {
			acc := accuracy(res.Params, opt.Valid)
			rep.ValidAcc = &acc
		}
	}
	rep.Params = usedParams(opt)
	maps.Copy(rep.Params, featureParams(s.Features))
	m := &Model{Kind: kind, Classes: tg.classes, Feat: feat, Params: res.Params, Hyper: hyper(s, opt)}
	if err := m.Save(s.Out, s.RunID, example(recs[0], feat, 3)); err != nil {
		return nil, err
	}
	return rep, nil
}

func release(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// usedParams lists the hyperparameters a fit used, after defaults, only
// those that apply to its model and optimizer.
func usedParams(o Options) map[string]string {
	p := map[string]string{
		"model": string(o.Model), "optimizer": o.Optimizer, "epochs": strconv.Itoa(o.Epochs),
		"l2": fmt.Sprint(o.L2), "l1": fmt.Sprint(o.L1), "seed": strconv.FormatUint(o.Seed, 10),
	}
	if o.Optimizer != "lbfgs" {
		p["lr"], p["schedule"], p["threads"] = fmt.Sprint(o.LR), o.Schedule, strconv.Itoa(o.Threads)
		if o.Schedule == "inverse" {
			p["decay"] = fmt.Sprint(o.Decay)
		}
	}
	if o.Model == MLP {
		p["hidden"] = strconv.Itoa(o.Hidden)
	}
	if o.Precision != "" {
		p["precision"] = o.Precision
	}
	if o.Valid != nil {
		p["patience"] = strconv.Itoa(o.Patience)
	}
	return p
}

func hyper(s Spec, o Options) map[string]string {
	h := map[string]string{
		"optimizer": o.Optimizer, "epochs": strconv.Itoa(o.Epochs), "lr": fmt.Sprint(o.LR),
		"l2": fmt.Sprint(o.L2), "l1": fmt.Sprint(o.L1), "seed": strconv.FormatUint(o.Seed, 10),
	}
	if h["optimizer"] == "" {
		h["optimizer"] = "sgd"
	}
	if o.Precision != "" {
		h["precision"] = o.Precision
	}
	if len(s.ProbCols) > 0 {
		h["labels"] = "probabilistic:" + strings.Join(s.ProbCols, ",")
	} else {
		h["labels"] = "column:" + s.Target
	}
	return h
}

// accuracy of a classifier against the argmax of each row's target.
func accuracy(p *Params, ds *Dataset) float64 {
	w := newWork(p)
	out := make([]float64, max(p.Outputs(), 2))
	right := 0
	for i := 0; i < ds.X.Rows(); i++ {
		idx, val := ds.X.Row(i)
		p.logits(idx, val, w)
		p.probs(w.z, out)
		if argmax(out[:ds.C]) == argmax(ds.target(i)) {
			right++
		}
	}
	return float64(right) / float64(max(ds.X.Rows(), 1))
}

func argmax(v []float64) int {
	b := 0
	for k := range v {
		if v[k] > v[b] {
			b = k
		}
	}
	return b
}

// example returns the first rows of the featurizer's input columns.
func example(rec arrow.RecordBatch, f *featurize.Featurizer, n int) *model.Example {
	ex := &model.Example{}
	var cols []arrow.Array
	for _, c := range f.Inputs() {
		idx := rec.Schema().FieldIndices(c[0])
		if len(idx) == 0 {
			return nil
		}
		ex.Columns = append(ex.Columns, c[0])
		cols = append(cols, rec.Column(idx[0]))
	}
	for r := 0; r < n && r < int(rec.NumRows()); r++ {
		row := make([]any, len(cols))
		for i, a := range cols {
			if a.IsNull(r) {
				continue
			}
			switch c := a.(type) {
			case *array.String:
				row[i] = c.Value(r)
			case *array.Float64:
				row[i] = c.Value(r)
			case *array.Int64:
				row[i] = c.Value(r)
			case *array.Boolean:
				row[i] = c.Value(r)
			default:
				row[i] = c.ValueStr(r)
			}
		}
		ex.Data = append(ex.Data, row)
	}
	return ex
}

type targets struct {
	classes []string
	c       int
	y, w    []float64
	keep    []int
	dropped int
}

func column(recs []arrow.RecordBatch, file, name, role string) ([]arrow.Array, error) {
	sch := recs[0].Schema()
	idx := sch.FieldIndices(name)
	if len(idx) == 0 {
		names := make([]string, sch.NumFields())
		for i := range names {
			names[i] = sch.Field(i).Name
		}
		return nil, fmt.Errorf("train: %s: no %s column %q (columns: %s)", file, role, name, strings.Join(names, ", "))
	}
	out := make([]arrow.Array, len(recs))
	for i, r := range recs {
		out[i] = r.Column(idx[0])
	}
	return out, nil
}

// cell returns a column value as text ("" for null) and as a number when it
// is numeric.
func cell(a arrow.Array, r int) (string, float64, bool) {
	if a.IsNull(r) {
		return "", math.NaN(), false
	}
	switch c := a.(type) {
	case *array.String:
		s := strings.TrimSpace(c.Value(r))
		v, err := strconv.ParseFloat(s, 64)
		return s, v, err == nil
	case *array.Int64:
		return strconv.FormatInt(c.Value(r), 10), float64(c.Value(r)), true
	case *array.Float64:
		return strconv.FormatFloat(c.Value(r), 'g', -1, 64), c.Value(r), true
	case *array.Boolean:
		if c.Value(r) {
			return "true", 1, true
		}
		return "false", 0, true
	}
	return a.ValueStr(r), math.NaN(), false
}

// isAbstainLabel: an empty label, or -1 (Snorkel's abstain).
func isAbstainLabel(s string) bool { return s == "" || s == "-1" }

func readTargets(s Spec, recs []arrow.RecordBatch, kind Kind) (*targets, error) {
	if len(recs) == 0 {
		return nil, fmt.Errorf("train: %s has no rows", s.Data)
	}
	t := &targets{}
	n := 0
	for _, r := range recs {
		n += int(r.NumRows())
	}
	if s.Weight != "" {
		cols, err := column(recs, s.Data, s.Weight, "weight")
		if err != nil {
			return nil, err
		}
		row := 0
		for _, a := range cols {
			for r := 0; r < a.Len(); r++ {
				row++
				txt, v, ok := cell(a, r)
				if !ok || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
					return nil, fmt.Errorf("train: %s: row %d, column %q: weight %q is not a finite number ≥ 0", s.Data, row, s.Weight, txt)
				}
				t.w = append(t.w, v)
			}
		}
	}
	var noVotes []bool // nil: no vote-count column
	if s.VotesCol != "" && len(recs[0].Schema().FieldIndices(s.VotesCol)) == 0 && s.RequireVotes {
		_, err := column(recs, s.Data, s.VotesCol, "vote-count")
		return nil, err
	}
	if s.VotesCol != "" && len(recs[0].Schema().FieldIndices(s.VotesCol)) > 0 {
		cols, _ := column(recs, s.Data, s.VotesCol, "vote-count")
		row := 0
		for _, a := range cols {
			for r := 0; r < a.Len(); r++ {
				row++
				txt, v, ok := cell(a, r)
				if !ok || v < 0 || v != math.Trunc(v) {
					return nil, fmt.Errorf("train: %s: row %d, column %q: vote count %q is not a whole number ≥ 0", s.Data, row, s.VotesCol, txt)
				}
				noVotes = append(noVotes, v == 0)
			}
		}
	}
	// abstain applies the all-abstain rule to a row whose labels look
	// like an abstain (uniform probabilities, an empty label) or not.
	abstain := func(row int, looks bool) bool {
		if s.KeepAbstain {
			return false
		}
		if noVotes != nil {
			return noVotes[row]
		}
		return looks
	}
	switch {
	case len(s.ProbCols) > 0:
		if len(s.ProbCols) < 2 {
			return nil, errors.New("train: give at least two probability columns, one per class")
		}
		t.c = len(s.ProbCols)
		cols := make([][]arrow.Array, t.c)
		for k, name := range s.ProbCols {
			c, err := column(recs, s.Data, name, "probability")
			if err != nil {
				return nil, err
			}
			cols[k] = c
			t.classes = append(t.classes, strings.TrimPrefix(name, "prob_"))
		}
		tol := s.ProbTolerance
		if tol <= 0 {
			tol = 1e-3
		}
		row := 0
		p := make([]float64, t.c)
		for bi := range recs {
			for r := 0; r < int(recs[bi].NumRows()); r++ {
				var sum float64
				for k := range p {
					txt, v, ok := cell(cols[k][bi], r)
					if !ok || math.IsNaN(v) || v < 0 || v > 1 {
						return nil, fmt.Errorf("train: %s: row %d, column %q: %q is not a probability in [0, 1]", s.Data, row+1, s.ProbCols[k], txt)
					}
					p[k] = v
					sum += v
				}
				if math.Abs(sum-1) > tol {
					return nil, fmt.Errorf("train: %s: row %d: columns %s sum to %.6g: %w", s.Data, row+1, strings.Join(s.ProbCols, "+"), sum, ErrProbSum)
				}
				uniform := true
				for k := range p {
					p[k] /= sum
					if math.Abs(p[k]-1/float64(t.c)) > 1e-9 {
						uniform = false
					}
				}
				t.y = append(t.y, p...)
				if abstain(row, uniform) {
					t.dropped++
				} else {
					t.keep = append(t.keep, row)
				}
				row++
			}
		}
	case kind == LinReg:
		cols, err := column(recs, s.Data, s.Target, "target")
		if err != nil {
			return nil, err
		}
		t.c = 1
		row := 0
		for _, a := range cols {
			for r := 0; r < a.Len(); r++ {
				txt, v, ok := cell(a, r)
				switch {
				case txt == "":
					t.dropped++
					t.y = append(t.y, 0)
				case !ok || math.IsNaN(v) || math.IsInf(v, 0):
					return nil, fmt.Errorf("train: %s: row %d, column %q: target %q is not a finite number", s.Data, row+1, s.Target, txt)
				default:
					t.y = append(t.y, v)
					t.keep = append(t.keep, row)
				}
				row++
			}
		}
	default:
		cols, err := column(recs, s.Data, s.Target, "target")
		if err != nil {
			return nil, err
		}
		var labels []string
		seen := map[string]bool{}
		for _, a := range cols {
			for r := 0; r < a.Len(); r++ {
				txt, _, _ := cell(a, r)
				labels = append(labels, txt)
				if !isAbstainLabel(txt) {
					seen[txt] = true
				}
			}
		}
		t.classes = sortClasses(seen)
		if len(t.classes) < 2 {
			return nil, fmt.Errorf("train: %s: column %q has %d distinct labels (%s); a classifier needs at least 2", s.Data, s.Target, len(t.classes), strings.Join(t.classes, ", "))
		}
		t.c = len(t.classes)
		id := map[string]int{}
		for i, c := range t.classes {
			id[c] = i
		}
		for row, l := range labels {
			y := make([]float64, t.c)
			var drop bool
			if isAbstainLabel(l) {
				// No label to learn from: dropped unless kept, whatever
				// the vote count says.
				for k := range y {
					y[k] = 1 / float64(t.c)
				}
				drop = !s.KeepAbstain
			} else {
				y[id[l]] = 1
				drop = abstain(row, false)
			}
			if drop {
				t.dropped++
			} else {
				t.keep = append(t.keep, row)
			}
			t.y = append(t.y, y...)
		}
	}
	if t.w != nil && len(t.w) != n {
		return nil, fmt.Errorf("train: %s: %d weights for %d rows", s.Data, len(t.w), n)
	}
	return t, nil
}

// sortClasses orders class names numerically when they are all integers,
// else lexically.
func sortClasses(seen map[string]bool) []string {
	out := make([]string, 0, len(seen))
	numeric := true
	for c := range seen {
		out = append(out, c)
		if _, err := strconv.ParseInt(c, 10, 64); err != nil {
			numeric = false
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if numeric {
			a, _ := strconv.ParseInt(out[i], 10, 64)
			b, _ := strconv.ParseInt(out[j], 10, 64)
			return a < b
		}
		return out[i] < out[j]
	})
	return out
}

// readValidData reads the validation file with one-hot gold targets (the
// caller releases its records).
func readValidData(s Spec, classes []string, kind Kind) (*validData, error) {
	_, recs, err := data.ReadAll(s.Valid, s.Read)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("train: validation file %s has no rows", s.Valid)
	}
	cols, err := column(recs, s.Valid, s.Gold, "gold")
	if err != nil {
		release(recs)
		return nil, err
	}
	v := &validData{recs: recs, c: max(len(classes), 1)}
	id := map[string]int{}
	for i, c := range classes {
		id[c] = i
	}
	row := 0
	for _, a := range cols {
		for r := 0; r < a.Len(); r++ {
			txt, x, ok := cell(a, r)
			if kind == LinReg {
				if !ok || math.IsNaN(x) {
					release(recs)
					return nil, fmt.Errorf("train: %s: row %d, column %q: %q is not a number", s.Valid, row+1, s.Gold, txt)
				}
				v.y = append(v.y, x)
			} else {
				k, found := model.ClassID(txt, id, len(classes))
				if !found {
					release(recs)
					return nil, fmt.Errorf("train: %s: row %d, column %q: gold label %q is neither one of the classes %s nor a class id 0..%d", s.Valid, row+1, s.Gold, txt, strings.Join(classes, ", "), len(classes)-1)
				}
				y := make([]float64, len(classes))
				y[k] = 1
				v.y = append(v.y, y...)
			}
			row++
		}
	}
	return v, nil
}
