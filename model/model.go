// Package model is dawn's model artifact: a directory holding an MLmodel
// YAML file in MLflow's layout (flavors, signature, model_uuid,
// utc_time_created, run_id, saved_input_example_info) beside the weights.
// Training, label models, serving, cascades and the registry all read and
// write this one format.
//
// Each model type (a linear model, an MLP, a label model, a cascade)
// registers a Loader under its type name; Load reads the MLmodel file, finds
// the dawn flavor's type and hands the directory to that loader.
package model

import (
	"context"
	"errors"

	"github.com/apache/arrow-go/v18/arrow"
)

// ErrBadInput marks a Predict error caused by the rows themselves (a value
// a labeling function cannot evaluate, or one past its bounds), so that a
// server answers it as the client's mistake (400), not its own (500).
var ErrBadInput = errors.New("the rows cannot be scored")

// Model scores rows. Implementations are safe for concurrent use.
type Model interface {
	// Info describes the model: its type, classes and input signature.
	Info() *Info
	// Predict scores a batch of input rows, whose columns are matched to the
	// signature by name (extra columns are ignored).
	Predict(ctx context.Context, rows arrow.RecordBatch) (*Prediction, error)
}

// Info is what a caller needs to know about a model to feed and read it.
type Info struct {
	Type    string   // the dawn flavor's model_type, e.g. "logreg", "labelmodel", "cascade"
	Classes []string // class names in id order; nil for regression
	Inputs  []Column // the input signature
}

// Column is one named, typed input or output of a signature.
type Column struct {
	Name     string `yaml:"name" json:"name"`
	Type     string `yaml:"type" json:"type"` // MLflow's column types: string, double, long, boolean, ...
	Optional bool   `yaml:"required,omitempty" json:"-"`
}

// Prediction holds the outputs for a batch of n rows.
type Prediction struct {
	// Classes names the columns of Probs (classifiers).
	Classes []string
	// Probs is row-major n×len(Classes) (classifiers).
	Probs []float64
	// Labels is each row's predicted class id, -1 when the model abstains.
	Labels []int
	// Values holds regression outputs (len n), nil for classifiers.
	Values []float64
	// Stage says which stage of a cascade answered each row ("cheap",
	// "reference", "reuse"); nil for single models.
	Stage []string
}
