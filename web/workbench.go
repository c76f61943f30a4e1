package web

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/label"
	"github.com/dawn-ml/dawn/labeling"
	"github.com/dawn-ml/dawn/labelmodel"
	"github.com/dawn-ml/dawn/tracking"
)

// Bounds of the labeling workbench.
const (
	maxWorkbenchData     = 64 << 20 // bytes of the data sample artifact
	maxWorkbenchLFs      = 256 << 10
	maxWorkbenchExamples = 10 // example rows per LF and kind
	maxUncoveredShown    = 20
	maxUncertainShown    = 20
	maxCellChars         = 200
)

// defaultLFArtifact is where `dawn label run` logs its LF file (inside the
// model directory it registers).
const defaultLFArtifact = "model/lfs.yaml"

// lfExamples are example rows of one LF.
type lfExamples struct {
	label.LFSummary
	Before       *label.LFSummary // the saved file's figures, when the LFs were edited
	Fires        []int
	Abstains     []int
	ConflictRows []int
	// Wrong are rows where the LF votes against the gold label (with a
	// gold column chosen).
	Wrong []int
	// RunLearned and RunEmpirical are the accuracies the run logged for this
	// LF (lf.NAME.learned_accuracy, lf.NAME.empirical_accuracy), "" if none.
	RunLearned, RunEmpirical string
}

// uncertainRow is a row of the label model's least confident ones.
type uncertainRow struct {
	Row   int
	Top   float64
	Probs []float64 // per class
}

// workbench is the page's data.
type workbench struct {
	Run       *tracking.Run
	DataPath  string
	LFPath    string
	Gold      string // the gold-label column of the data, "" for none
	LFText    string
	Edited    bool
	Rows      int
	Columns   []string
	LFs       []lfExamples
	Uncovered []int
	LowAgree  []int
	// Uncertain are the rows the label model is least sure of, least
	// sure first; ModelSource says which label model that is.
	Uncertain   []uncertainRow
	ModelSource string
	Classes     []string
	Coverage    float64
	BeforeCov   float64
	HasBefore   bool
	Cells       map[int][]string
	Error       string
	DataFiles   []string
	CanSave     bool
}

// labelPage is the labeling workbench for a `dawn label run` run: it
// applies the run's LF file (or an edited one, lfs_text) with package
// label to a data artifact of the run and shows the LF analysis, the rows
// where each LF fires, abstains and conflicts, and the rows no LF covers.
func (c *console) labelPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	run, err := c.Store.GetRun(ctx, r.PathValue("run"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	wb := &workbench{Run: run, DataPath: q.Get("data"), LFPath: q.Get("lfs"), Gold: q.Get("gold"), Cells: map[int][]string{},
		CanSave: c.can(r, KindExperiment, run.Info.ExperimentID, Edit)}
	if wb.LFPath == "" {
		wb.LFPath = defaultLFArtifact
	}
	entries, _ := c.listArtifacts(r, run, "")
	for _, e := range entries {
		if !e.IsDir && (previewKind(e.Path) == "table" || previewKind(e.Path) == "parquet") {
			wb.DataFiles = append(wb.DataFiles, e.Path)
		}
	}
	if wb.DataPath == "" && contains(wb.DataFiles, "sample.csv") {
		wb.DataPath = "sample.csv" // what `dawn label run` logs
	}
	saved, err := c.readArtifact(r, run, wb.LFPath, maxWorkbenchLFs)
	if err != nil {
		wb.Error = err.Error()
		c.render(w, r, "label", "Labeling · "+runTitle(run), wb, 0)
		return nil
	}
	wb.LFText = string(saved)
	if t := q.Get("lfs_text"); t != "" && t != wb.LFText {
		if len(t) > maxWorkbenchLFs {
			return badRequest("Edited LF file of %d bytes is over the limit of %d", len(t), maxWorkbenchLFs)
		}
		wb.LFText, wb.Edited = t, true
	}
	if wb.DataPath == "" {
		c.render(w, r, "label", "Labeling · "+runTitle(run), wb, 0)
		return nil
	}
	status := 0
	if err := c.applyWorkbench(r, run, wb, saved); err != nil {
		wb.Error = err.Error()
		status = http.StatusBadRequest
	}
	c.render(w, r, "label", "Labeling · "+runTitle(run), wb, status)
	return nil
}

// readArtifact reads a small artifact of run into memory.
func (c *console) readArtifact(r *http.Request, run *tracking.Run, p string, limit int64) ([]byte, error) {
	clean, err := artifact.CleanPath(p)
	if err != nil || clean == "" {
		return nil, badRequest("Invalid artifact path %q", p)
	}
	repo, base, err := c.artifactRepo(run)
	if err != nil {
		return nil, err
	}
	rc, size, err := repo.Open(r.Context(), path.Join(base, clean))
	if err != nil {
		return nil, tracking.NotFoundf("No artifact %s in run %s", clean, run.Info.RunID)
	}
	defer rc.Close()
	if size > limit {
		return nil, badRequest("Artifact %s is %d bytes, over the limit of %d", clean, size, limit)
	}
	return io.ReadAll(io.LimitReader(rc, limit))
}

// compileLFs parses an LF file for the workbench. Lookups are refused:
// they name files on the server's disk.
func compileLFs(text string, schema *arrow.Schema) (*label.Set, *label.File, error) {
	f, err := label.ParseFile([]byte(text), "lfs.yaml")
	if err != nil {
		return nil, nil, err
	}
	for _, s := range f.LFs {
		if s.Lookup != "" {
			return nil, nil, badRequest("LF %s: lookup files are not available in the workbench", s.Name)
		}
	}
	set, err := label.Compile(f, schema)
	return set, f, err
}

func (c *console) applyWorkbench(r *http.Request, run *tracking.Run, wb *workbench, saved []byte) error {
	b, err := c.readArtifact(r, run, wb.DataPath, maxWorkbenchData)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "dawn-workbench-*")
	if err != nil {
		return serverErr{err}
	}
	defer os.RemoveAll(tmp)
	local := filepath.Join(tmp, "sample"+path.Ext(wb.DataPath))
	if err := os.WriteFile(local, b, 0o600); err != nil {
		return serverErr{err}
	}
	rec, err := data.ReadRecord(local, data.Options{})
	if err != nil {
		return err
	}
	defer rec.Release()
	apply := func(text string) (*label.Matrix, error) {
		set, _, err := compileLFs(text, rec.Schema())
		if err != nil {
			return nil, err
		}
		rd, err := data.Open(local, data.Options{Schema: rec.Schema()})
		if err != nil {
			return nil, err
		}
		defer rd.Close()
		return label.Apply(r.Context(), set, rd, label.ApplyOptions{})
	}
	x, err := apply(wb.LFText)
	if err != nil {
		return err
	}
	sum := label.Analyze(x)
	var before map[string]label.LFSummary
	if wb.Edited {
		if bx, err := apply(string(saved)); err == nil {
			before = map[string]label.LFSummary{}
			for _, s := range label.Analyze(bx) {
				before[s.Name] = s
			}
			wb.BeforeCov, wb.HasBefore = coverage(bx), true
		}
	}
	wb.Rows = int(rec.NumRows())
	for _, f := range rec.Schema().Fields() {
		wb.Columns = append(wb.Columns, f.Name)
	}
	wb.Coverage = coverage(x)
	wb.LFs = make([]lfExamples, len(sum))
	for j := range sum {
		wb.LFs[j].LFSummary = sum[j]
		if b, ok := before[sum[j].Name]; ok {
			wb.LFs[j].Before = &b
		}
		for _, m := range run.Data.Metrics {
			switch m.Key {
			case "lf." + sum[j].Name + ".learned_accuracy":
				wb.LFs[j].RunLearned = fmtMetric(float64(m.Value))
			case "lf." + sum[j].Name + ".empirical_accuracy":
				wb.LFs[j].RunEmpirical = fmtMetric(float64(m.Value))
			}
		}
	}
	show := map[int]bool{}
	if wb.Gold != "" {
		gold, err := goldLabels(rec, wb.DataPath, wb.Gold, x.Classes)
		if err != nil {
			return err
		}
		if err := label.AddGold(sum, x, gold); err != nil {
			return err
		}
		for j := range wb.LFs {
			wb.LFs[j].LFSummary = sum[j]
			rows, err := label.Inspect(x, label.InspectSpec{Show: label.ShowWrong, LF: j, Gold: gold})
			if err != nil {
				return err
			}
			wb.LFs[j].Wrong = rows[:min(len(rows), maxWorkbenchExamples)]
			for _, i := range wb.LFs[j].Wrong {
				show[i] = true
			}
		}
	}
	for i := 0; i < wb.Rows; i++ {
		lfs, votes := x.Row(i)
		if len(lfs) == 0 {
			if len(wb.Uncovered) < maxUncoveredShown {
				wb.Uncovered = append(wb.Uncovered, i)
				show[i] = true
			}
		}
		conflict := false
		for k := 1; k < len(votes); k++ {
			if votes[k] != votes[0] {
				conflict = true
			}
		}
		voted := map[int32]bool{}
		for k, j := range lfs {
			voted[j] = true
			ex := &wb.LFs[j]
			if len(ex.Fires) < maxWorkbenchExamples {
				ex.Fires = append(ex.Fires, i)
				show[i] = true
			}
			if conflict && len(ex.ConflictRows) < maxWorkbenchExamples {
				for _, v := range votes {
					if v != votes[k] {
						ex.ConflictRows = append(ex.ConflictRows, i)
						show[i] = true
						break
					}
				}
			}
		}
		for j := range wb.LFs {
			if !voted[int32(j)] && len(wb.LFs[j].Abstains) < maxWorkbenchExamples {
				wb.LFs[j].Abstains = append(wb.LFs[j].Abstains, i)
				show[i] = true
			}
		}
		// Rows whose votes split most evenly: the least agreement.
		if conflict && len(wb.LowAgree) < maxUncoveredShown {
			wb.LowAgree = append(wb.LowAgree, i)
			show[i] = true
		}
	}
	if err := c.uncertainRows(r, run, wb, x); err != nil {
		return err
	}
	for _, u := range wb.Uncertain {
		show[u.Row] = true
	}
	for i := range show {
		row := make([]string, rec.NumCols())
		for j := range row {
			v := data.FormatValue(rec.Column(j), i)
			if len(v) > maxCellChars {
				v = v[:maxCellChars] + "…"
			}
			row[j] = v
		}
		wb.Cells[i] = row
	}
	return nil
}

// modelArtifact is the label model `dawn label run` saves next to the LF
// file in its model directory.
const modelArtifact = "labelmodel.json"

// maxModelBytes bounds the label model artifact read (its size is a few
// numbers per LF and class).
const maxModelBytes = 4 << 20

// uncertainRows fills wb.Uncertain with the rows the run's label model
// (labelmodel.json beside the LF file) is least sure of; when the LFs were
// edited, or the run has no label model for exactly these LFs and classes,
// the default label model fitted on the sample instead, as
// `dawn label inspect --show uncertain` does without --model.
func (c *console) uncertainRows(r *http.Request, run *tracking.Run, wb *workbench, x *label.Matrix) error {
	var lm labelmodel.Model
	wb.ModelSource = "snorkel label model fitted on this sample"
	if !wb.Edited {
		mp := path.Join(path.Dir(wb.LFPath), modelArtifact)
		if b, err := c.readArtifact(r, run, mp, maxModelBytes); err == nil {
			if saved, err := labelmodel.Load(bytes.NewReader(b)); err == nil && slices.Equal(saved.LFs(), x.LFs) && slices.Equal(saved.Classes(), x.Classes) {
				lm, wb.ModelSource = saved, saved.Method()+" label model saved with the run ("+mp+")"
			}
		}
	}
	probs, lm, err := labeling.Probabilities(r.Context(), x, lm)
	if err != nil {
		return err
	}
	rows, err := label.Inspect(x, label.InspectSpec{Show: label.ShowUncertain, LF: -1, Probs: probs})
	if err != nil {
		return err
	}
	k := x.K()
	wb.Classes = x.Classes
	for _, i := range rows[:min(len(rows), maxUncertainShown)] {
		p := probs[i*k : (i+1)*k]
		wb.Uncertain = append(wb.Uncertain, uncertainRow{Row: i, Top: slices.Max(p), Probs: p})
	}
	return nil
}

// goldLabels reads the gold column of the sample as class ids: a class
// name or a class id; an empty cell is -1 (no gold label).
func goldLabels(rec arrow.RecordBatch, file, column string, classes []string) ([]int, error) {
	idx := rec.Schema().FieldIndices(column)
	if len(idx) == 0 {
		return nil, badRequest("%s: no gold column %q", file, column)
	}
	col := rec.Column(idx[0])
	gold := make([]int, rec.NumRows())
	for i := range gold {
		v := strings.TrimSpace(data.FormatValue(col, i))
		gold[i] = -1
		if v == "" || col.IsNull(i) {
			continue
		}
		if k := slices.Index(classes, v); k >= 0 {
			gold[i] = k
			continue
		}
		k, err := strconv.Atoi(v)
		if err != nil || k < 0 || k >= len(classes) {
			return nil, badRequest("%s: row %d, column %s: gold label %q is not a class (%s) or class id", file, i+1, column, v, strings.Join(classes, ", "))
		}
		gold[i] = k
	}
	return gold, nil
}

// coverage is the share of rows with at least one vote.
func coverage(x *label.Matrix) float64 {
	n := x.N
	if n == 0 {
		return 0
	}
	covered := 0
	for i := 0; i < n; i++ {
		if lfs, _ := x.Row(i); len(lfs) > 0 {
			covered++
		}
	}
	return float64(covered) / float64(n)
}

// saveLFs stores an edited LF file as lfs.yaml of a new run in the same
// experiment, tagged with the run it came from; the original is left as
// it was.
func (c *console) saveLFs(w http.ResponseWriter, r *http.Request) error {
	if err := form(w, r); err != nil {
		return err
	}
	ctx := r.Context()
	src, err := c.Store.GetRun(ctx, r.PathValue("run"))
	if err != nil {
		return err
	}
	text := r.PostForm.Get("lfs_text")
	if text == "" || len(text) > maxWorkbenchLFs {
		return badRequest("lfs_text: want an LF file of 1..%d bytes", maxWorkbenchLFs)
	}
	if _, err := label.ParseFile([]byte(text), "lfs.yaml"); err != nil {
		return badRequest("%v", err)
	}
	run, err := c.Store.CreateRun(ctx, tracking.NewRun{ExperimentID: src.Info.ExperimentID, RunName: "lfs edited from " + runTitle(src),
		StartTime: nowMillis(), Tags: []tracking.Tag{{Key: "dawn.label.source_run", Value: src.Info.RunID}, {Key: "mlflow.source.name", Value: "dawn console workbench"}}})
	if err != nil {
		return err
	}
	repo, base, err := c.artifactRepo(run)
	if err != nil {
		return err
	}
	if err := repo.Put(ctx, path.Join(base, "lfs.yaml"), bytes.NewReader([]byte(text))); err != nil {
		return fmt.Errorf("web: save LF file: %w", err)
	}
	end := nowMillis()
	if _, err := c.Store.UpdateRun(ctx, run.Info.RunID, tracking.RunUpdate{Status: tracking.StatusFinished, EndTime: &end}); err != nil {
		return err
	}
	c.redirect(w, r, "/runs/"+run.Info.RunID)
	return nil
}

func nowMillis() int64 { return time.Now().UnixMilli() }
