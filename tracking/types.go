package tracking

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
)

// Int64 is an int64 that decodes from a JSON number or a numeric string, as
// protobuf's JSON mapping allows, and encodes as a JSON number.
type Int64 int64

// UnmarshalJSON accepts 12, "12" and 1.2e1.
func (n *Int64) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
	}
	if string(b) == "null" {
		return nil
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(b), 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<63 {
			// A type error lets the decoder name the field.
			return &json.UnmarshalTypeError{Value: fmt.Sprintf("%q", b), Type: reflect.TypeFor[int64]()}
		}
		v = int64(f)
	}
	*n = Int64(v)
	return nil
}

// Float is a float64 whose JSON form follows protobuf's mapping: a number,
// or the strings "NaN", "Infinity" and "-Infinity".
type Float float64

// MarshalJSON writes non-finite values as protobuf's strings.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// UnmarshalJSON accepts numbers and numeric strings including "NaN".
func (f *Float) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
	}
	switch string(b) {
	case "NaN", "nan":
		*f = Float(math.NaN())
		return nil
	case "Infinity", "inf", "Inf":
		*f = Float(math.Inf(1))
		return nil
	case "-Infinity", "-inf", "-Inf":
		*f = Float(math.Inf(-1))
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return &json.UnmarshalTypeError{Value: fmt.Sprintf("%q", b), Type: reflect.TypeFor[float64]()}
	}
	*f = Float(v)
	return nil
}

// Tag is a key/value pair on an experiment, run, dataset input, registered
// model or model version.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Param is an immutable run parameter.
type Param struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Metric is one point of a run metric. RunID is set only in bulk history
// answers and in a logged model's metrics. ModelID links the point to a
// logged model (MLflow 3), optionally on a named dataset.
type Metric struct {
	Key           string `json:"key"`
	Value         Float  `json:"value"`
	Timestamp     Int64  `json:"timestamp"`
	Step          Int64  `json:"step"`
	RunID         string `json:"run_id,omitempty"`
	DatasetName   string `json:"dataset_name,omitempty"`
	DatasetDigest string `json:"dataset_digest,omitempty"`
	ModelID       string `json:"model_id,omitempty"`
	// fields records which fields a decoded request carried, so that
	// log-batch can report a missing timestamp as MLflow does.
	fields uint8
}

const (
	fieldKey uint8 = 1 << iota
	fieldValue
	fieldTimestamp
	fieldDecoded
)

// Experiment groups runs.
type Experiment struct {
	ExperimentID     string `json:"experiment_id"`
	Name             string `json:"name"`
	ArtifactLocation string `json:"artifact_location,omitempty"`
	LifecycleStage   string `json:"lifecycle_stage,omitempty"`
	LastUpdateTime   Int64  `json:"last_update_time,omitempty"`
	CreationTime     Int64  `json:"creation_time,omitempty"`
	Tags             []Tag  `json:"tags,omitempty"`
}

// RunInfo is a run's metadata.
type RunInfo struct {
	RunID          string `json:"run_id"`
	RunUUID        string `json:"run_uuid"`
	RunName        string `json:"run_name,omitempty"`
	ExperimentID   string `json:"experiment_id"`
	UserID         string `json:"user_id,omitempty"`
	Status         string `json:"status"`
	StartTime      Int64  `json:"start_time,omitempty"`
	EndTime        *Int64 `json:"end_time,omitempty"`
	ArtifactURI    string `json:"artifact_uri,omitempty"`
	LifecycleStage string `json:"lifecycle_stage"`
}

// RunData is a run's latest metrics, params and tags.
type RunData struct {
	Metrics []Metric `json:"metrics,omitempty"`
	Params  []Param  `json:"params,omitempty"`
	Tags    []Tag    `json:"tags,omitempty"`
}

// Dataset describes data a run used.
type Dataset struct {
	Name       string `json:"name"`
	Digest     string `json:"digest"`
	SourceType string `json:"source_type"`
	Source     string `json:"source"`
	Schema     string `json:"schema,omitempty"`
	Profile    string `json:"profile,omitempty"`
}

// DatasetInput links a dataset to a run, with tags such as mlflow.data.context.
type DatasetInput struct {
	Tags    []Tag    `json:"tags,omitempty"`
	Dataset *Dataset `json:"dataset"`
}

// RunInputs holds a run's dataset inputs and the logged models it used.
type RunInputs struct {
	DatasetInputs []DatasetInput `json:"dataset_inputs,omitempty"`
	ModelInputs   []ModelInput   `json:"model_inputs,omitempty"`
}

// ModelInput names a logged model a run used as input (MLflow 3).
type ModelInput struct {
	ModelID string `json:"model_id"`
}

// ModelOutput names a logged model a run produced, at a step (MLflow 3).
type ModelOutput struct {
	ModelID string `json:"model_id"`
	Step    Int64  `json:"step"`
}

// RunOutputs holds the logged models a run produced.
type RunOutputs struct {
	ModelOutputs []ModelOutput `json:"model_outputs,omitempty"`
}

// Run is a run with its data, inputs and outputs. Outputs is nil when the
// run produced no logged model, so MLflow 2 clients see the answer they
// always saw.
type Run struct {
	Info    RunInfo     `json:"info"`
	Data    RunData     `json:"data"`
	Inputs  RunInputs   `json:"inputs"`
	Outputs *RunOutputs `json:"outputs,omitempty"`
}

// FileInfo is one entry of an artifact listing.
type FileInfo struct {
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir"`
	FileSize Int64  `json:"file_size,omitempty"`
}

// RegisteredModelAlias points an alias at a version.
type RegisteredModelAlias struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

// RegisteredModel is a named model in the registry.
type RegisteredModel struct {
	Name                 string                 `json:"name"`
	CreationTimestamp    Int64                  `json:"creation_timestamp,omitempty"`
	LastUpdatedTimestamp Int64                  `json:"last_updated_timestamp,omitempty"`
	UserID               string                 `json:"user_id,omitempty"`
	Description          string                 `json:"description,omitempty"`
	LatestVersions       []ModelVersion         `json:"latest_versions,omitempty"`
	Tags                 []Tag                  `json:"tags,omitempty"`
	Aliases              []RegisteredModelAlias `json:"aliases,omitempty"`
}

// ModelVersion is one version of a registered model.
type ModelVersion struct {
	Name                 string   `json:"name"`
	Version              string   `json:"version"`
	CreationTimestamp    Int64    `json:"creation_timestamp,omitempty"`
	LastUpdatedTimestamp Int64    `json:"last_updated_timestamp,omitempty"`
	UserID               string   `json:"user_id,omitempty"`
	CurrentStage         string   `json:"current_stage,omitempty"`
	Description          string   `json:"description"` // MLflow sends "" for none
	Source               string   `json:"source,omitempty"`
	RunID                string   `json:"run_id,omitempty"`
	Status               string   `json:"status,omitempty"`
	StatusMessage        string   `json:"status_message,omitempty"`
	Tags                 []Tag    `json:"tags,omitempty"`
	RunLink              string   `json:"run_link,omitempty"`
	Aliases              []string `json:"aliases,omitempty"`
	// ModelID is the logged model the version was registered from
	// (MLflow 3), or "".
	ModelID string `json:"model_id,omitempty"`
}

// Lifecycle stages and run statuses.
const (
	StageActive  = "active"
	StageDeleted = "deleted"

	StatusRunning   = "RUNNING"
	StatusScheduled = "SCHEDULED"
	StatusFinished  = "FINISHED"
	StatusFailed    = "FAILED"
	StatusKilled    = "KILLED"
)

// ViewType selects runs or experiments by lifecycle stage.
type ViewType int

// View types, named as MLflow's enum.
const (
	ActiveOnly ViewType = iota
	DeletedOnly
	All
)

// ParseViewType reads MLflow's ViewType names; "" means ACTIVE_ONLY.
func ParseViewType(s string) (ViewType, error) {
	switch s {
	case "", "ACTIVE_ONLY", "1":
		return ActiveOnly, nil
	case "DELETED_ONLY", "2":
		return DeletedOnly, nil
	case "ALL", "3":
		return All, nil
	}
	return 0, InvalidParameterf("Invalid view type %q; expected ACTIVE_ONLY, DELETED_ONLY or ALL", s)
}

// Model registry stages.
var Stages = []string{"None", "Staging", "Production", "Archived"}
