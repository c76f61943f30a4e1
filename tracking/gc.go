package tracking

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/dawn-ml/dawn/artifact"
)

// Purger is what garbage collection needs from a store: paging through
// deleted runs and experiments and removing them for good.
type Purger interface {
	// DeletedRuns returns up to limit runs in the deleted stage whose
	// deletion is older than before (Unix ms), with run_id > after, in
	// run_id order; experimentIDs, if any, restrict the experiments.
	DeletedRuns(ctx context.Context, before int64, experimentIDs []string, after string, limit int) ([]RunInfo, error)
	// PurgeRun removes a run and everything logged to it.
	PurgeRun(ctx context.Context, runID string) error
	// DeletedExperiments lists deleted experiments last updated before.
	DeletedExperiments(ctx context.Context, before int64) ([]Experiment, error)
	// PurgeExperiment removes a deleted experiment that has no runs left.
	PurgeExperiment(ctx context.Context, id string) error
}

// GCOptions selects what GC removes.
type GCOptions struct {
	OlderThan     time.Duration // only what was deleted at least this long ago
	ExperimentIDs []string      // restrict to these experiments (their runs and themselves)
	DryRun        bool
	// Artifacts is the proxy's repo, for mlflow-artifacts: URIs; local
	// artifact directories are removed directly.
	Artifacts artifact.Repo
}

// GCStats counts what GC removed.
type GCStats struct {
	Runs        int `json:"runs"`
	Experiments int `json:"experiments"`
	Artifacts   int `json:"artifact_dirs"`
}

// gcPage bounds memory: runs are handled a page at a time.
const gcPage = 200

// GC permanently removes runs (and their artifacts) and experiments in the
// deleted stage, a page at a time so memory stays bounded however many
// runs and points there are.
func GC(ctx context.Context, p Purger, o GCOptions) (GCStats, error) {
	var st GCStats
	before := time.Now().Add(-o.OlderThan).UnixMilli()
	after := ""
	for {
		runs, err := p.DeletedRuns(ctx, before, o.ExperimentIDs, after, gcPage)
		if err != nil {
			return st, err
		}
		for _, r := range runs {
			after = r.RunID
			if o.DryRun {
				st.Runs++
				continue
			}
			removed, err := removeArtifacts(ctx, o.Artifacts, r.ArtifactURI)
			if err != nil {
				return st, fmt.Errorf("tracking: gc: run %s artifacts: %w", r.RunID, err)
			}
			if removed {
				st.Artifacts++
			}
			if err := p.PurgeRun(ctx, r.RunID); err != nil {
				return st, fmt.Errorf("tracking: gc: run %s: %w", r.RunID, err)
			}
			st.Runs++
		}
		if len(runs) < gcPage {
			break
		}
	}
	exps, err := p.DeletedExperiments(ctx, before)
	if err != nil {
		return st, err
	}
	only := map[string]bool{}
	for _, id := range o.ExperimentIDs {
		only[id] = true
	}
	for _, e := range exps {
		if len(only) > 0 && !only[e.ExperimentID] {
			continue
		}
		if o.DryRun {
			st.Experiments++
			continue
		}
		if err := p.PurgeExperiment(ctx, e.ExperimentID); err != nil {
			return st, fmt.Errorf("tracking: gc: experiment %s: %w", e.ExperimentID, err)
		}
		if removed, err := removeArtifacts(ctx, o.Artifacts, e.ArtifactLocation); err != nil {
			return st, fmt.Errorf("tracking: gc: experiment %s artifacts: %w", e.ExperimentID, err)
		} else if removed {
			st.Artifacts++
		}
		st.Experiments++
	}
	return st, nil
}

// removeArtifacts deletes the artifact tree at uri; a run's tree is the
// parent of its ".../artifacts" directory.
func removeArtifacts(ctx context.Context, repo artifact.Repo, uri string) (bool, error) {
	uri = strings.TrimSuffix(strings.TrimSuffix(uri, "/"), "/artifacts")
	switch {
	case strings.HasPrefix(uri, ProxyScheme):
		if repo == nil {
			return false, nil
		}
		p, err := artifact.CleanPath(strings.Trim(strings.TrimPrefix(uri, ProxyScheme), "/"))
		if err != nil || p == "" {
			return false, fmt.Errorf("refusing to delete artifact root %q", uri)
		}
		err = repo.Delete(ctx, p)
		if errors.Is(err, artifact.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	case strings.HasPrefix(uri, "file://") || strings.HasPrefix(uri, "/"):
		dir := strings.TrimPrefix(uri, "file://")
		if dir == "/" || dir == "" {
			return false, fmt.Errorf("refusing to delete %q", uri)
		}
		if _, err := os.Stat(dir); err != nil {
			return false, nil
		}
		return true, os.RemoveAll(dir)
	}
	return false, nil
}
