package labeling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/label"
	"github.com/dawn-ml/dawn/labelmodel"
	"github.com/dawn-ml/dawn/lfmodel"
	"github.com/dawn-ml/dawn/monitor"
)

// Tracker is the tracking run a labeling pipeline logs to (the CLI's
// autolog over the MLflow client).
type Tracker interface {
	RunID() string
	LogMetrics(ctx context.Context, m map[string]float64) error
	// LogModel logs the model directory local under path, with metrics m
	// linked to it.
	LogModel(ctx context.Context, local, path string, m map[string]float64) error
	LogArtifact(ctx context.Context, local, path string) error
}

// Progress makes a progress callback for one step (what it does, e.g.
// "applying LFs to train.csv") and the function that ends it.
type Progress func(what string) (update func(read, size int64), done func())

func (p Progress) start(what string) (func(read, size int64), func()) {
	if p == nil {
		return nil, func() {}
	}
	return p(what)
}

// MaxSampleRows bounds RunOptions.SampleRows (the console reads samples up
// to 64 MiB).
const MaxSampleRows = 100_000

// RunOptions configure Run.
type RunOptions struct {
	LFs, Data, Out string // the LF file, the unlabeled data, the labels file
	ModelOut       string // also save the fitted model here (.json or a model directory); "" none
	VotesOut       string // also save the votes here (.parquet); "" none
	Valid, Gold    string // a labeled file and its gold column to score the model on; "" none
	DataOptions    data.Options
	// Model is the unfitted label model (labelmodel.New), so that bad
	// options are refused before any work.
	Model    labelmodel.Model
	TieBreak labelmodel.TieBreak
	Seed     uint64 // for the tie-break
	// Tracker, when set, receives the run's metrics, the LF analysis, the
	// servable model directory and, with SampleRows > 0, the first
	// SampleRows rows of Data as sample.csv.
	Tracker    Tracker
	SampleRows int
	Progress   Progress
}

// RunResult is what Run did.
type RunResult struct {
	Model        labelmodel.Model
	Matrix       *label.Matrix // the training votes
	File         *label.File
	Rows         int // rows written to Out
	Labeled      int // of which with a label
	Columns      label.OutputColumns
	ApplySeconds float64
	FitSeconds   float64
	LFs          []label.LFSummary // the analysis (with Valid, empirical accuracies)
	Eval         *labelmodel.Eval  // nil without Valid
}

// Check refuses options Run would fail on before doing any work: Valid
// without Gold, too large a sample, a Gold column Valid lacks
// (ErrNoGoldColumn). Call it before opening a tracking run, so that such a
// mistake leaves no failed run behind.
func (o RunOptions) Check() error {
	if (o.Valid == "") != (o.Gold == "") {
		return errors.New("labeling: run: Valid and Gold go together")
	}
	if o.SampleRows > MaxSampleRows {
		return fmt.Errorf("labeling: run: a data sample of at most %d rows, got %d", MaxSampleRows, o.SampleRows)
	}
	if o.Model == nil {
		return errors.New("labeling: run: no label model")
	}
	if o.Valid != "" {
		return CheckGoldColumn(o.Valid, o.Gold, o.DataOptions)
	}
	return nil
}

// Run is `dawn label run`: it applies the LFs to Data, fits the label
// model, saves the votes and model when asked, writes the labels file,
// scores the model on Valid and logs the run to Tracker. A Gold column
// Valid lacks stops it before anything is written or logged
// (ErrNoGoldColumn).
func Run(ctx context.Context, o RunOptions) (*RunResult, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	res := &RunResult{Model: o.Model}
	start := time.Now()
	update, done := o.Progress.start("applying LFs to " + o.Data)
	x, f, schema, err := ApplyFile(ctx, o.LFs, o.Data, o.DataOptions, 0, update)
	done()
	if err != nil {
		return nil, err
	}
	res.Matrix, res.File, res.ApplySeconds = x, f, time.Since(start).Seconds()
	if o.VotesOut != "" {
		if err := label.SaveMatrix(o.VotesOut, x); err != nil {
			return nil, err
		}
	}
	start = time.Now()
	if err := o.Model.Fit(ctx, x); err != nil {
		return nil, err
	}
	res.FitSeconds = time.Since(start).Seconds()
	runID := ""
	if o.Tracker != nil {
		runID = o.Tracker.RunID()
	}
	if o.ModelOut != "" {
		// The run id links the model directory to this run, for
		// dawn models register.
		if err := SaveModel(o.ModelOut, o.Model, f, schema, runID); err != nil {
			return nil, err
		}
		if !IsJSONPath(o.ModelOut) {
			// The monitoring reference, as dawn train writes it: the
			// labeled held-out rows when given (for the calibration map),
			// else the data the LFs ran on.
			ref, refGold := o.Data, ""
			if o.Valid != "" {
				ref, refGold = o.Valid, o.Gold
			}
			if err := monitor.WriteProfile(ctx, o.ModelOut, ref, refGold); err != nil {
				return nil, err
			}
		}
	}
	res.LFs = label.Analyze(x)
	label.AddLearned(res.LFs, o.Model.LFAccuracies())
	update, done = o.Progress.start("labeling " + o.Data)
	w, err := WriteLabels(ctx, f, o.LFs, o.Data, o.Out, o.Model, WriteOptions{Data: o.DataOptions, TieBreak: o.TieBreak, Seed: o.Seed, Progress: update})
	done()
	if err != nil {
		return nil, err
	}
	res.Rows, res.Labeled, res.Columns = w.Rows, w.Labeled, w.Columns
	if o.Valid != "" {
		update, done = o.Progress.start("applying LFs to " + o.Valid)
		res.Eval, err = Evaluate(ctx, o.Model, o.LFs, o.Valid, o.Gold, o.DataOptions, o.TieBreak, o.Seed, res.LFs, update)
		done()
		if err != nil {
			return nil, err
		}
	}
	if o.Tracker == nil {
		return res, nil
	}
	if err := logRun(ctx, o.Tracker, res, schema); err != nil {
		return nil, err
	}
	if o.SampleRows > 0 {
		if err := logSample(ctx, o.Tracker, o.Data, o.SampleRows, o.DataOptions); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// logRun records a label run's metrics, its LF analysis and the servable
// model directory (LFs + label model) under "model".
func logRun(ctx context.Context, t Tracker, res *RunResult, schema *arrow.Schema) error {
	x, ev := res.Matrix, res.Eval
	covered := 0
	for i := 0; i < x.N; i++ {
		if x.RowPtr[i+1] > x.RowPtr[i] {
			covered++
		}
	}
	m := map[string]float64{"rows": float64(res.Rows), "labeled": float64(res.Labeled), "train_coverage": float64(covered) / float64(max(x.N, 1))}
	for _, s := range res.LFs {
		m["lf."+s.Name+".coverage"] = s.Coverage
		if s.LearnedAccuracy != nil {
			m["lf."+s.Name+".learned_accuracy"] = *s.LearnedAccuracy
		}
		if s.EmpiricalAccuracy != nil {
			m["lf."+s.Name+".empirical_accuracy"] = *s.EmpiricalAccuracy
		}
	}
	if ev != nil {
		m["eval_accuracy"], m["eval_coverage"], m["eval_covered_accuracy"] = ev.Accuracy, ev.Coverage, ev.CoveredAccuracy
		if x.K() == 2 {
			m["eval_f1"] = ev.F1
		}
	}
	if err := t.LogMetrics(ctx, m); err != nil {
		return fmt.Errorf("tracking: log metrics: %w", err)
	}
	tmp, err := os.MkdirTemp("", "dawn-autolog-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "model")
	if err := lfmodel.Save(dir, res.File, schema, res.Model, t.RunID()); err != nil {
		return err
	}
	if err := t.LogModel(ctx, dir, "model", m); err != nil {
		return fmt.Errorf("tracking: log model: %w", err)
	}
	js := filepath.Join(tmp, "lf_analysis.json")
	b, err := json.MarshalIndent(map[string]any{"lfs": res.LFs}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(js, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return t.LogArtifact(ctx, js, "")
}

// logSample writes the first n rows of path as sample.csv and logs it as
// an artifact of the run (the console's labeling workbench applies LFs to
// it).
func logSample(ctx context.Context, t Tracker, path string, n int, opt data.Options) error {
	rd, err := data.Open(path, opt)
	if err != nil {
		return err
	}
	defer rd.Close()
	tmp, err := os.MkdirTemp("", "dawn-sample-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "sample.csv")
	w, err := data.Create(out, rd.Schema(), data.WriteOptions{})
	if err != nil {
		return err
	}
	for left := int64(n); left > 0; {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			w.Abort()
			return err
		}
		if rec.NumRows() > left {
			part := rec.NewSlice(0, left)
			rec.Release()
			rec = part
		}
		left -= rec.NumRows()
		err = w.Write(rec)
		rec.Release()
		if err != nil {
			w.Abort()
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := t.LogArtifact(ctx, out, ""); err != nil {
		return fmt.Errorf("tracking: log data sample: %w", err)
	}
	return nil
}

// PredictOptions configure Predict.
type PredictOptions struct {
	Model string // a saved label model (.json or model directory)
	// Either LFs and Data (apply the LFs to the data), or Votes (a vote
	// matrix in any format label.ReadVotes reads).
	LFs, Data, Votes string
	Out              string
	DataOptions      data.Options
	TieBreak         labelmodel.TieBreak
	Seed             uint64
	Progress         Progress
}

// Predict is `dawn label predict`: it loads the model and labels Data (its
// rows with the label columns added) or Votes (one line per row: row, the
// label columns).
func Predict(ctx context.Context, o PredictOptions) (Written, error) {
	if (o.Votes != "") == (o.LFs != "" || o.Data != "") || o.Votes == "" && (o.LFs == "" || o.Data == "") {
		return Written{}, errors.New("labeling: predict: give Votes, or LFs with Data")
	}
	lm, err := LoadModel(o.Model)
	if err != nil {
		return Written{}, err
	}
	if o.Votes != "" {
		n, labeled, err := PredictVotes(ctx, lm, o.Votes, o.Out, o.TieBreak, o.Seed)
		return Written{Rows: n, Labeled: labeled}, err
	}
	f, err := label.LoadFile(o.LFs)
	if err != nil {
		return Written{}, err
	}
	update, done := o.Progress.start("labeling " + o.Data)
	defer done()
	return WriteLabels(ctx, f, o.LFs, o.Data, o.Out, lm, WriteOptions{Data: o.DataOptions, TieBreak: o.TieBreak, Seed: o.Seed, Progress: update})
}
