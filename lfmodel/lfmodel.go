// Package lfmodel makes a labeling function file and a fitted label model
// into one servable model: an MLmodel directory (model type "labelmodel")
// that takes raw rows, applies the LFs and returns the label model's
// probabilities. `dawn predict`, `dawn serve` and the model registry treat it
// like any trained model.
package lfmodel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/dawn-ml/dawn/label"
	"github.com/dawn-ml/dawn/labelmodel"
	"github.com/dawn-ml/dawn/model"
)

// Type is the dawn flavor's model_type for these models.
const Type = "labelmodel"

func init() { model.Register(Type, load) }

// Save writes the LF file (with its lookup lists) and the label model as a
// model directory. schema is the data the LFs were applied to; the inputs of
// the signature are the columns the LFs read, typed from it.
func Save(dir string, f *label.File, schema *arrow.Schema, lm labelmodel.Model, runID string) error {
	set, err := label.Compile(f, schema)
	if err != nil {
		return err
	}
	var inputs []model.Column
	for _, c := range set.Columns() {
		fl := schema.Field(c)
		inputs = append(inputs, model.Column{Name: fl.Name, Type: mlflowType(fl.Type)})
	}
	yml, lookups, err := f.Bundle()
	if err != nil {
		return err
	}
	files := []model.File{
		model.WriterFile("lfs", "lfs.yaml", func(w io.Writer) error { _, err := w.Write(yml); return err }),
		model.WriterFile("weights", "labelmodel.json", lm.Save),
	}
	for name, b := range lookups {
		b := b
		files = append(files, model.File{Role: "lookup:" + name, Name: name, Write: func(p string) error {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			return os.WriteFile(p, b, 0o644)
		}})
	}
	return model.Save(dir, &model.Artifact{
		Type:    Type,
		Classes: lm.Classes(),
		Inputs:  inputs,
		Files:   files,
		Params:  map[string]string{"method": lm.Method(), "lfs": fmt.Sprint(len(lm.LFs()))},
		RunID:   runID,
	})
}

func mlflowType(t arrow.DataType) string {
	switch t.ID() {
	case arrow.INT64, arrow.INT32:
		return "long"
	case arrow.FLOAT64, arrow.FLOAT32:
		return "double"
	case arrow.BOOL:
		return "boolean"
	}
	return "string"
}

// Model applies the LFs to a batch and scores it with the label model.
// Tied rows and rows where every LF abstains get label -1, Snorkel's
// default for prediction.
type Model struct {
	info *model.Info
	file *label.File
	lm   labelmodel.Model
	mu   sync.Mutex
	sets map[string]*label.Set // compiled per input schema
}

func load(dir string, desc *model.MLmodel) (model.Model, error) {
	lfsPath, err := desc.Path(dir, "lfs")
	if err != nil {
		return nil, err
	}
	f, err := label.LoadFile(lfsPath)
	if err != nil {
		return nil, err
	}
	wp, err := desc.Path(dir, "weights")
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(wp)
	if err != nil {
		return nil, fmt.Errorf("lfmodel: %w", err)
	}
	lm, err := labelmodel.Load(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("lfmodel: %s: %w", wp, err)
	}
	return New(f, lm, desc.Info())
}

// New wraps an LF file and a fitted label model.
func New(f *label.File, lm labelmodel.Model, info *model.Info) (*Model, error) {
	if info == nil {
		info = &model.Info{Type: Type, Classes: lm.Classes()}
	}
	return &Model{info: info, file: f, lm: lm, sets: map[string]*label.Set{}}, nil
}

// Info describes the model.
func (m *Model) Info() *model.Info { return m.info }

func (m *Model) set(schema *arrow.Schema) (*label.Set, error) {
	key := schema.String()
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sets[key]; ok {
		return s, nil
	}
	s, err := label.Compile(m.file, schema)
	if err != nil {
		return nil, fmt.Errorf("lfmodel: %w", err)
	}
	m.sets[key] = s
	return s, nil
}

// Predict applies the LFs to rows and returns the label model's output.
func (m *Model) Predict(ctx context.Context, rows arrow.RecordBatch) (*model.Prediction, error) {
	s, err := m.set(rows.Schema())
	if err != nil {
		return nil, err
	}
	x := &label.Matrix{LFs: s.Names, Classes: s.Classes, RowPtr: []int64{0}}
	if err := s.ApplyBatch(ctx, rows, 0, x, 1); err != nil {
		var re *label.RowError
		if errors.As(err, &re) {
			return nil, fmt.Errorf("lfmodel: %w: %w", model.ErrBadInput, err)
		}
		return nil, fmt.Errorf("lfmodel: %w", err)
	}
	probs, err := m.lm.PredictProba(x)
	if err != nil {
		return nil, fmt.Errorf("lfmodel: %w", err)
	}
	preds, err := labelmodel.ProbsToPreds(probs, x.K(), labelmodel.TieAbstain, 0)
	if err != nil {
		return nil, err
	}
	return &model.Prediction{Classes: m.lm.Classes(), Probs: probs, Labels: preds}, nil
}
