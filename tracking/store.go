package tracking

import (
	"context"
	"encoding/base64"
	"encoding/json"
)

// Store is the contract every metadata backend implements. Inputs are
// validated by the caller (the handlers); a Store reports missing objects
// with NotFoundf, duplicates with AlreadyExistsf, and state violations (a
// deleted run, a changed param) with InvalidParameterf.
type Store interface {
	CreateExperiment(ctx context.Context, name, artifactLocation string, tags []Tag) (string, error)
	GetExperiment(ctx context.Context, id string) (*Experiment, error)
	GetExperimentByName(ctx context.Context, name string) (*Experiment, error)
	SearchExperiments(ctx context.Context, q SearchQuery) ([]Experiment, string, error)
	RenameExperiment(ctx context.Context, id, newName string) error
	SetExperimentStage(ctx context.Context, id, stage string) error
	SetExperimentTag(ctx context.Context, id string, tag Tag) error
	DeleteExperimentTag(ctx context.Context, id, key string) error

	CreateRun(ctx context.Context, r NewRun) (*Run, error)
	GetRun(ctx context.Context, id string) (*Run, error)
	UpdateRun(ctx context.Context, id string, u RunUpdate) (*RunInfo, error)
	SetRunStage(ctx context.Context, id, stage string) error
	LogBatch(ctx context.Context, runID string, metrics []Metric, params []Param, tags []Tag) error
	DeleteTag(ctx context.Context, runID, key string) error
	LogInputs(ctx context.Context, runID string, inputs []DatasetInput) error
	SearchRuns(ctx context.Context, q RunQuery) ([]Run, string, error)
	// RunKeys lists the param, metric and tag keys used by the newest
	// runs (by start time, at most runs, itself at most MaxRunKeysRuns)
	// of the experiments, each list sorted and cut at limit, without
	// loading the runs: the web console's column picker offers them.
	RunKeys(ctx context.Context, experimentIDs []string, runs, limit int) (*RunKeys, error)
	// MetricHistory calls fn for each point of one metric in (step,
	// timestamp) order, up to max points from the page token; it returns
	// the next page token, empty at the end. Streaming keeps memory bounded.
	MetricHistory(ctx context.Context, runID, key string, pageToken string, max int, fn func(Metric) error) (string, error)

	// LogOutputs records logged models a run produced (runs/outputs).
	LogOutputs(ctx context.Context, runID string, models []ModelOutput) error
	// SearchDatasetSummaries lists the datasets runs of the experiments
	// used (experiments/search-datasets), at most limit.
	SearchDatasetSummaries(ctx context.Context, experimentIDs []string, limit int) ([]DatasetSummary, error)
	// LogModelInputs records logged models a run used (runs/log-inputs).
	LogModelInputs(ctx context.Context, runID string, models []ModelInput) error

	Registry
	LoggedModels
	WebhookStore
	EvalDatasets
	Scorers
	Traces
	Close() error
}

// LoggedModels is MLflow 3's logged-model part of a Store. A logged model
// belongs to an experiment; its metrics are run metrics logged with its
// model_id.
type LoggedModels interface {
	CreateLoggedModel(ctx context.Context, m NewLoggedModel) (*LoggedModel, error)
	// GetLoggedModel returns a model that is not deleted.
	GetLoggedModel(ctx context.Context, id string) (*LoggedModel, error)
	FinalizeLoggedModel(ctx context.Context, id, status string) (*LoggedModel, error)
	DeleteLoggedModel(ctx context.Context, id string) error
	SetLoggedModelTags(ctx context.Context, id string, tags []Tag) error
	DeleteLoggedModelTag(ctx context.Context, id, key string) error
	LogLoggedModelParams(ctx context.Context, id string, params []Param) error
	SearchLoggedModels(ctx context.Context, q LoggedModelQuery) ([]LoggedModel, string, error)
}

// Registry is the model registry part of a Store.
type Registry interface {
	CreateRegisteredModel(ctx context.Context, m RegisteredModel) (*RegisteredModel, error)
	GetRegisteredModel(ctx context.Context, name string) (*RegisteredModel, error)
	RenameRegisteredModel(ctx context.Context, name, newName string) (*RegisteredModel, error)
	UpdateRegisteredModel(ctx context.Context, name string, description *string) (*RegisteredModel, error)
	DeleteRegisteredModel(ctx context.Context, name string) error
	SearchRegisteredModels(ctx context.Context, q SearchQuery) ([]RegisteredModel, string, error)
	SetRegisteredModelTag(ctx context.Context, name string, tag Tag) error
	DeleteRegisteredModelTag(ctx context.Context, name, key string) error
	SetRegisteredModelAlias(ctx context.Context, name, alias, version string) error
	DeleteRegisteredModelAlias(ctx context.Context, name, alias string) error
	GetModelVersionByAlias(ctx context.Context, name, alias string) (*ModelVersion, error)
	GetLatestVersions(ctx context.Context, name string, stages []string) ([]ModelVersion, error)

	CreateModelVersion(ctx context.Context, v ModelVersion) (*ModelVersion, error)
	GetModelVersion(ctx context.Context, name, version string) (*ModelVersion, error)
	UpdateModelVersion(ctx context.Context, name, version string, description *string) (*ModelVersion, error)
	TransitionModelVersionStage(ctx context.Context, name, version, stage string, archiveExisting bool) (*ModelVersion, error)
	DeleteModelVersion(ctx context.Context, name, version string) error
	SearchModelVersions(ctx context.Context, q SearchQuery) ([]ModelVersion, string, error)
	SetModelVersionTag(ctx context.Context, name, version string, tag Tag) error
	DeleteModelVersionTag(ctx context.Context, name, version, key string) error
}

// SearchQuery is a parsed search over experiments or registry objects.
type SearchQuery struct {
	Filter     []Clause
	OrderBy    []OrderBy
	View       ViewType
	MaxResults int
	PageToken  string
}

// RunQuery is a parsed runs/search request.
type RunQuery struct {
	ExperimentIDs []string
	SearchQuery
	// Project, when set, loads only these keys into each run's Data (nil
	// loads every key, as runs/search answers): a runs table showing six
	// columns reads six values per run, not every param of every run.
	Project *Projection
}

// Projection lists the keys of each kind SearchRuns loads; an empty list
// loads none of that kind. At most MaxProjectionKeys keys in all.
type Projection struct {
	Params, Metrics, Tags []string
}

// MaxProjectionKeys bounds the keys of a Projection (they become bound
// variables of a `key IN (...)`).
const MaxProjectionKeys = 1000

// RunKeys are the keys runs of an experiment use, for a column picker.
type RunKeys struct {
	Params, Metrics, Tags []string
	// Runs is how many runs were read; Sampled says the experiments have
	// more runs than were read, so keys used only by older runs are not
	// listed.
	Runs    int
	Sampled bool
}

// MaxRunKeysRuns bounds the runs RunKeys reads (the newest ones): the
// keys of 1,000 runs × 70 keys cost a few tens of milliseconds; every run
// of a 100,000-run experiment would cost seconds.
const MaxRunKeysRuns = 1000

// NewRun is what runs/create supplies.
type NewRun struct {
	ExperimentID string
	UserID       string
	RunName      string
	StartTime    int64
	Tags         []Tag
}

// RunUpdate is what runs/update supplies; nil or empty fields are left alone.
type RunUpdate struct {
	Status  string
	EndTime *int64
	RunName string
}

type pageToken struct {
	Offset int `json:"offset"`
}

// EncodePageToken makes the opaque token for the page that starts at offset.
func EncodePageToken(offset int) string {
	b, _ := json.Marshal(pageToken{Offset: offset})
	return base64.StdEncoding.EncodeToString(b)
}

// DecodePageToken reads a token from EncodePageToken; "" is offset 0.
func DecodePageToken(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.URLEncoding.DecodeString(s)
	}
	var t pageToken
	if err != nil || json.Unmarshal(b, &t) != nil || t.Offset < 0 {
		return 0, InvalidParameterf("Invalid page token, could not base64-decode: '%s'", s)
	}
	return t.Offset, nil
}
