package tracking

import (
	"context"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// MLflow 3 scorers (/api/3.0/mlflow/scorers/...): serialized judge or
// metric definitions registered on an experiment by name, each register
// adding a version. Permissions are the experiment's: READ to list and
// get, EDIT to register, MANAGE to delete.

// Bounds of a scorer: MLflow's column sizes, and a serialized scorer
// within the request limit.
const (
	MaxScorerName = 256
)

// ScorerVersion is one registered version of a scorer.
type ScorerVersion struct {
	ScorerID     string
	ExperimentID string
	Name         string
	Version      int64
	Serialized   string
	CreationTime int64
}

// MarshalJSON writes MLflow's Scorer message (its experiment_id is an
// int32 there).
func (v ScorerVersion) MarshalJSON() ([]byte, error) {
	exp, _ := strconv.ParseInt(v.ExperimentID, 10, 64)
	return json.Marshal(struct {
		ExperimentID int64  `json:"experiment_id"`
		Name         string `json:"scorer_name"`
		Version      int64  `json:"scorer_version"`
		Serialized   string `json:"serialized_scorer"`
		CreationTime int64  `json:"creation_time"`
		ScorerID     string `json:"scorer_id"`
	}{exp, v.Name, v.Version, v.Serialized, v.CreationTime, v.ScorerID})
}

// Scorers is the scorer part of a Store. Every method needs an active
// experiment (InvalidParameterf otherwise) and reports a missing scorer
// or version with NotFoundf.
type Scorers interface {
	// RegisterScorer adds the next version (1 for a new name).
	RegisterScorer(ctx context.Context, experimentID, name, serialized string) (*ScorerVersion, error)
	// ListScorers returns the latest version of each scorer, by name.
	ListScorers(ctx context.Context, experimentID string) ([]ScorerVersion, error)
	// ListScorerVersions returns every version of one scorer, oldest first.
	ListScorerVersions(ctx context.Context, experimentID, name string) ([]ScorerVersion, error)
	// GetScorer returns one version, the latest when version is nil.
	GetScorer(ctx context.Context, experimentID, name string, version *int64) (*ScorerVersion, error)
	// DeleteScorer deletes one version, or the scorer when version is nil.
	DeleteScorer(ctx context.Context, experimentID, name string, version *int64) error
}

type scorerReq struct {
	ExperimentID     string `json:"experiment_id"`
	Name             string `json:"name"`
	SerializedScorer string `json:"serialized_scorer"`
	Version          *Int64 `json:"version"`
}

func (r *scorerReq) resources() ([]Resource, error) { return experimentResource(r.ExperimentID) }

// check validates the fields every scorer request names.
func (r *scorerReq) check(withName bool) error {
	if err := required("experiment_id", r.ExperimentID); err != nil {
		return err
	}
	if !withName {
		return nil
	}
	if err := required("name", r.Name); err != nil {
		return err
	}
	if utf8.RuneCountInString(r.Name) > MaxScorerName {
		return InvalidParameterf("Scorer name '%.40s...' is longer than %d characters", r.Name, MaxScorerName)
	}
	return nil
}

func (r *scorerReq) version() *int64 {
	if r.Version == nil {
		return nil
	}
	v := int64(*r.Version)
	return &v
}

// scorers serves MLflow 3's scorer API.
func (a *api) scorers(add func(method, path string, rule Rule, h endpoint)) {
	s := a.store
	add("POST", V3+"scorers/register", NeedEdit, handle(a, func(ctx context.Context, r *scorerReq) (any, error) {
		if err := r.check(true); err != nil {
			return nil, err
		}
		if err := required("serialized_scorer", r.SerializedScorer); err != nil {
			return nil, err
		}
		v, err := s.RegisterScorer(ctx, r.ExperimentID, r.Name, r.SerializedScorer)
		if err != nil {
			return nil, err
		}
		return struct {
			Version      int64  `json:"version"`
			ScorerID     string `json:"scorer_id"`
			ExperimentID string `json:"experiment_id"`
			Name         string `json:"name"`
			Serialized   string `json:"serialized_scorer"`
			CreationTime int64  `json:"creation_time"`
		}{v.Version, v.ScorerID, v.ExperimentID, v.Name, v.Serialized, v.CreationTime}, nil
	}))
	type list struct {
		Scorers []ScorerVersion `json:"scorers,omitempty"`
	}
	add("GET", V3+"scorers/list", NeedRead, handle(a, func(ctx context.Context, r *scorerReq) (any, error) {
		if err := r.check(false); err != nil {
			return nil, err
		}
		vs, err := s.ListScorers(ctx, r.ExperimentID)
		return list{vs}, err
	}))
	add("GET", V3+"scorers/versions", NeedRead, handle(a, func(ctx context.Context, r *scorerReq) (any, error) {
		if err := r.check(true); err != nil {
			return nil, err
		}
		vs, err := s.ListScorerVersions(ctx, r.ExperimentID, r.Name)
		return list{vs}, err
	}))
	add("GET", V3+"scorers/get", NeedRead, handle(a, func(ctx context.Context, r *scorerReq) (any, error) {
		if err := r.check(true); err != nil {
			return nil, err
		}
		v, err := s.GetScorer(ctx, r.ExperimentID, r.Name, r.version())
		if err != nil {
			return nil, err
		}
		return struct {
			Scorer *ScorerVersion `json:"scorer"`
		}{v}, nil
	}))
	add("DELETE", V3+"scorers/delete", NeedManage, handle(a, func(ctx context.Context, r *scorerReq) (any, error) {
		if err := r.check(true); err != nil {
			return nil, err
		}
		return nil, s.DeleteScorer(ctx, r.ExperimentID, r.Name, r.version())
	}))
}
