package graphql

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/dawn-ml/dawn/tracking"
)

// The GraphQL objects, one Go type per schema type (a few shared where the
// fields agree). Every field is a pointer because the schema makes every
// field nullable; the constructors fill each one, zero values included,
// since MLflow's resolvers read protobuf messages, whose unset fields read
// as "", 0, false and [] rather than null. Only apiError (which MLflow's
// resolvers never set), deploymentJobState (dawn has no deployment jobs)
// and non-finite metric values are null.

// longString is MLflow's LongString scalar: an int64 written as a string,
// so JavaScript does not round it.
type longString int64

func (longString) ImplementsGraphQLType(name string) bool { return name == "LongString" }

// UnmarshalGraphQL reads an integer literal or variable; MLflow's scalar
// also takes a string of digits from a variable.
func (l *longString) UnmarshalGraphQL(input any) error {
	switch v := input.(type) {
	case int32:
		*l = longString(v)
	case int64:
		*l = longString(v)
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > 1<<62 {
			return fmt.Errorf("LongString cannot represent %v", v)
		}
		*l = longString(v)
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("LongString cannot represent %q", v)
		}
		*l = longString(n)
	case json.Number:
		n, err := v.Int64()
		if err != nil {
			return fmt.Errorf("LongString cannot represent %s", v)
		}
		*l = longString(n)
	default:
		return fmt.Errorf("LongString cannot represent %v", input)
	}
	return nil
}

func (l longString) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, strconv.FormatInt(int64(l), 10)), nil
}

func ptr[T any](v T) *T { return &v }

func long(n tracking.Int64) *longString { return ptr(longString(n)) }

// finite is a metric value as MLflow's GraphQL answers it: null for NaN
// (MLflow's MlflowMetricExtension) and for the infinities, which a
// GraphQL Float cannot hold either.
func finite(f tracking.Float) *float64 {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func list[T, U any](in []T, f func(T) U) *[]U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return &out
}

type apiErrorObj struct {
	Code, Message, HelpURL, TraceID *string
	ErrorDetails                    *[]*errorDetail
}

type errorDetail struct{ Field, Message *string }

// keyValue serves every key/value type: experiment, run, input and
// model-version tags and run params.
type keyValue struct{ Key, Value *string }

func tagOf(t tracking.Tag) keyValue     { return keyValue{ptr(t.Key), ptr(t.Value)} }
func paramOf(p tracking.Param) keyValue { return keyValue{ptr(p.Key), ptr(p.Value)} }

type experiment struct {
	ExperimentID, Name, ArtifactLocation, LifecycleStage *string
	LastUpdateTime, CreationTime                         *longString
	Tags                                                 *[]keyValue
}

func experimentOf(e *tracking.Experiment) *experiment {
	if e == nil {
		return nil
	}
	return &experiment{
		ExperimentID: ptr(e.ExperimentID), Name: ptr(e.Name), ArtifactLocation: ptr(e.ArtifactLocation),
		LifecycleStage: ptr(e.LifecycleStage), LastUpdateTime: long(e.LastUpdateTime), CreationTime: long(e.CreationTime),
		Tags: list(e.Tags, tagOf),
	}
}

// metric serves MlflowMetricExtension, MlflowMetricWithRunId and
// MlflowModelMetric.
type metric struct {
	Key                                 *string
	Value                               *float64
	Timestamp, Step                     *longString
	DatasetName, DatasetDigest, ModelID *string
	RunID                               *string
}

func metricOf(m tracking.Metric) metric {
	return metric{Key: ptr(m.Key), Value: finite(m.Value), Timestamp: long(m.Timestamp), Step: long(m.Step),
		DatasetName: ptr(m.DatasetName), DatasetDigest: ptr(m.DatasetDigest), ModelID: ptr(m.ModelID), RunID: ptr(m.RunID)}
}

type runInfo struct {
	RunID, RunUUID, RunName, ExperimentID, UserID *string
	Status                                        *string
	StartTime, EndTime                            *longString
	ArtifactURI, LifecycleStage                   *string
}

type runData struct {
	Metrics *[]metric
	Params  *[]keyValue
	Tags    *[]keyValue
}

type dataset struct{ Name, Digest, SourceType, Source, Schema, Profile *string }

type datasetInput struct {
	Tags    *[]keyValue
	Dataset *dataset
}

type modelRef struct {
	ModelID *string
	Step    *longString
}

type runInputs struct {
	DatasetInputs *[]datasetInput
	ModelInputs   *[]modelRef
}

type runOutputs struct{ ModelOutputs *[]modelRef }

// run is MlflowRunExtension: a run plus its experiment and the model
// versions registered from it, each read when asked for.
type run struct {
	Info    *runInfo
	Data    *runData
	Inputs  *runInputs
	Outputs *runOutputs

	id, experimentID string
}

func runOf(r *tracking.Run) *run {
	if r == nil {
		return nil
	}
	i := r.Info
	var end tracking.Int64
	if i.EndTime != nil {
		end = *i.EndTime
	}
	status := i.Status
	if status == "" {
		status = tracking.StatusRunning // the enum's first value, protobuf's default
	}
	out := &run{
		Info: &runInfo{RunID: ptr(i.RunID), RunUUID: ptr(i.RunUUID), RunName: ptr(i.RunName), ExperimentID: ptr(i.ExperimentID),
			UserID: ptr(i.UserID), Status: ptr(status), StartTime: long(i.StartTime), EndTime: long(end),
			ArtifactURI: ptr(i.ArtifactURI), LifecycleStage: ptr(i.LifecycleStage)},
		Data: &runData{Metrics: list(r.Data.Metrics, metricOf), Params: list(r.Data.Params, paramOf), Tags: list(r.Data.Tags, tagOf)},
		Inputs: &runInputs{
			DatasetInputs: list(r.Inputs.DatasetInputs, func(d tracking.DatasetInput) datasetInput {
				ds := tracking.Dataset{}
				if d.Dataset != nil {
					ds = *d.Dataset
				}
				return datasetInput{Tags: list(d.Tags, tagOf), Dataset: &dataset{ptr(ds.Name), ptr(ds.Digest), ptr(ds.SourceType), ptr(ds.Source), ptr(ds.Schema), ptr(ds.Profile)}}
			}),
			ModelInputs: list(r.Inputs.ModelInputs, func(m tracking.ModelInput) modelRef { return modelRef{ModelID: ptr(m.ModelID)} }),
		},
		Outputs: &runOutputs{ModelOutputs: &[]modelRef{}},
		id:      i.RunID, experimentID: i.ExperimentID,
	}
	if r.Outputs != nil {
		out.Outputs.ModelOutputs = list(r.Outputs.ModelOutputs, func(m tracking.ModelOutput) modelRef {
			return modelRef{ModelID: ptr(m.ModelID), Step: long(m.Step)}
		})
	}
	return out
}

type modelParam struct{ Name, Value *string }

type deploymentJobState struct {
	JobID, RunID, JobState, RunState, CurrentTaskName *string
}

type modelVersion struct {
	Name, Version                           *string
	CreationTimestamp, LastUpdatedTimestamp *longString
	UserID, CurrentStage, Description       *string
	Source, RunID, Status, StatusMessage    *string
	Tags                                    *[]keyValue
	RunLink                                 *string
	Aliases                                 *[]*string
	ModelID                                 *string
	ModelParams                             *[]modelParam
	ModelMetrics                            *[]metric
	DeploymentJobState                      *deploymentJobState
}

func versionOf(v tracking.ModelVersion) modelVersion {
	status := v.Status
	if status == "" {
		status = "PENDING_REGISTRATION" // the enum's first value, protobuf's default
	}
	return modelVersion{
		Name: ptr(v.Name), Version: ptr(v.Version), CreationTimestamp: long(v.CreationTimestamp), LastUpdatedTimestamp: long(v.LastUpdatedTimestamp),
		UserID: ptr(v.UserID), CurrentStage: ptr(v.CurrentStage), Description: ptr(v.Description), Source: ptr(v.Source),
		RunID: ptr(v.RunID), Status: ptr(status), StatusMessage: ptr(v.StatusMessage), Tags: list(v.Tags, tagOf),
		RunLink: ptr(v.RunLink), Aliases: list(v.Aliases, func(a string) *string { return ptr(a) }), ModelID: ptr(v.ModelID),
		ModelParams: &[]modelParam{}, ModelMetrics: &[]metric{},
	}
}

type fileInfo struct {
	Path     *string
	IsDir    *bool
	FileSize *longString
}

// Responses.

type getExperimentResponse struct {
	Experiment *experiment
	APIError   *apiErrorObj
}

type getRunResponse struct {
	Run      *run
	APIError *apiErrorObj
}

type searchRunsResponse struct {
	Runs          *[]*run
	NextPageToken *string
	APIError      *apiErrorObj
}

type metricsResponse struct {
	Metrics  *[]metric
	APIError *apiErrorObj
}

type listArtifactsResponse struct {
	RootURI       *string
	Files         *[]fileInfo
	NextPageToken *string
	APIError      *apiErrorObj
}

type searchModelVersionsResponse struct {
	ModelVersions *[]modelVersion
	NextPageToken *string
	APIError      *apiErrorObj
}

type datasetSummary struct{ ExperimentID, Name, Digest, Context *string }

type searchDatasetsResponse struct {
	DatasetSummaries *[]datasetSummary
	APIError         *apiErrorObj
}

type echo struct{ Output *string }
