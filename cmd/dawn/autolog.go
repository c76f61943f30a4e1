package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/dawn-ml/dawn/tracking"
)

// trackingFlags are the flags of the commands that log to a tracking server
// (MLflow's autolog): with --tracking-uri or $MLFLOW_TRACKING_URI set, the
// command records a run with its params, data digests, metrics and model.
type trackingFlags struct {
	uri, experiment, runName string
}

func addTrackingFlags(fs *flag.FlagSet) *trackingFlags {
	t := &trackingFlags{}
	fs.StringVar(&t.uri, "tracking-uri", os.Getenv("MLFLOW_TRACKING_URI"), "log a run to this tracking server, e.g. http://127.0.0.1:5000 (default $MLFLOW_TRACKING_URI; none: no logging)")
	exp := os.Getenv("MLFLOW_EXPERIMENT_NAME")
	if exp == "" {
		exp = "Default"
	}
	fs.StringVar(&t.experiment, "experiment", exp, "experiment to log the run in (default $MLFLOW_EXPERIMENT_NAME or Default)")
	fs.StringVar(&t.runName, "run-name", "", "name of the logged run")
	return t
}

// autolog is a run being logged; a nil *autolog logs nothing.
type autolog struct {
	c   *tracking.Client
	run *tracking.Run
}

// start opens a run when a tracking URI is set. params are logged at once;
// each data file is logged as a dataset input with its digest.
func (t *trackingFlags) start(ctx context.Context, source string, params map[string]string, dataFiles map[string]string) (*autolog, error) {
	if t.uri == "" {
		return nil, nil
	}
	c, err := newTrackingClient(t.uri)
	if err != nil {
		return nil, err
	}
	expID, err := c.SetExperiment(ctx, t.experiment)
	if err != nil {
		return nil, fmt.Errorf("tracking: experiment %q at %s: %w", t.experiment, t.uri, err)
	}
	run, err := c.CreateRun(ctx, expID, t.runName,
		tracking.Tag{Key: "mlflow.source.name", Value: source},
		tracking.Tag{Key: "mlflow.source.type", Value: "LOCAL"},
		tracking.Tag{Key: "dawn.version", Value: version})
	if err != nil {
		return nil, fmt.Errorf("tracking: create run at %s: %w", t.uri, err)
	}
	a := &autolog{c: c, run: run}
	var ps []tracking.Param
	var inputs []tracking.DatasetInput
	for role, path := range dataFiles {
		if path == "" {
			continue
		}
		digest, err := fileDigest(path)
		if err != nil {
			return a, err
		}
		params[role+"_digest"] = digest
		abs, _ := filepath.Abs(path)
		inputs = append(inputs, tracking.DatasetInput{
			Tags:    []tracking.Tag{{Key: "mlflow.data.context", Value: role}},
			Dataset: &tracking.Dataset{Name: filepath.Base(path), Digest: digest, SourceType: "local", Source: abs},
		})
	}
	for k, v := range params {
		if v != "" {
			ps = append(ps, tracking.Param{Key: k, Value: v})
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Key < ps[j].Key })
	if err := c.LogBatch(ctx, run.Info.RunID, nil, ps, nil); err != nil {
		return a, fmt.Errorf("tracking: log params: %w", err)
	}
	if len(inputs) > 0 {
		if err := c.LogInputs(ctx, run.Info.RunID, inputs...); err != nil {
			return a, fmt.Errorf("tracking: log inputs: %w", err)
		}
	}
	return a, nil
}

// fileDigest is the first 16 hex digits of the file's SHA-256.
func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("digest %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func (a *autolog) metrics(ctx context.Context, m map[string]float64) error {
	if a == nil || len(m) == 0 {
		return nil
	}
	now := tracking.Int64(time.Now().UnixMilli())
	var ms []tracking.Metric
	for k, v := range m {
		ms = append(ms, tracking.Metric{Key: k, Value: tracking.Float(v), Timestamp: now})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Key < ms[j].Key })
	return a.c.LogBatch(ctx, a.run.Info.RunID, ms, nil, nil)
}

func (a *autolog) artifact(ctx context.Context, local, path string) error {
	if a == nil {
		return nil
	}
	return a.c.LogArtifact(ctx, a.run.Info.RunID, local, path)
}

// model logs the model directory local as the run's artifact path (for
// MLflow 2 tools and runs:/RUN/path) and as an MLflow 3 logged model of
// that name produced by the run, with the run's metrics m linked to it, so
// that MLflow 3 tooling (search_logged_models, models:/m-<id>) sees it.
// A server without logged models (MLflow 2) keeps the run artifact only.
func (a *autolog) model(ctx context.Context, local, path string, m map[string]float64) error {
	if a == nil {
		return nil
	}
	if err := a.artifact(ctx, local, path); err != nil {
		return err
	}
	lm, err := a.c.LogLoggedModel(ctx, a.run, path, local, 0)
	var he *tracking.Error
	if errors.As(err, &he) && he.Status == http.StatusNotFound && he.Code == tracking.CodeEndpointNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if len(m) == 0 {
		return nil
	}
	now := tracking.Int64(time.Now().UnixMilli())
	var ms []tracking.Metric
	for k, v := range m {
		ms = append(ms, tracking.Metric{Key: k, Value: tracking.Float(v), Timestamp: now, ModelID: lm.Info.ModelID})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Key < ms[j].Key })
	return a.c.LogBatch(ctx, a.run.Info.RunID, ms, nil, nil)
}

// finish marks the run FINISHED, or FAILED when err is set, and returns err
// (or the tracking error when the command itself succeeded).
func (a *autolog) finish(ctx context.Context, err error) error {
	if a == nil {
		return err
	}
	status := "FINISHED"
	if err != nil {
		status = "FAILED"
	}
	// Mark the run even when ctx was cancelled by an interrupt.
	terr := a.c.SetTerminated(context.WithoutCancel(ctx), a.run.Info.RunID, status)
	if err != nil {
		return err
	}
	return terr
}

func (a *autolog) runID() string {
	if a == nil {
		return ""
	}
	return a.run.Info.RunID
}

// RunID, LogMetrics, LogModel and LogArtifact make an autolog a
// labeling.Tracker.
func (a *autolog) RunID() string { return a.runID() }

func (a *autolog) LogMetrics(ctx context.Context, m map[string]float64) error {
	return a.metrics(ctx, m)
}

func (a *autolog) LogModel(ctx context.Context, local, path string, m map[string]float64) error {
	return a.model(ctx, local, path, m)
}

func (a *autolog) LogArtifact(ctx context.Context, local, path string) error {
	return a.artifact(ctx, local, path)
}

func newTrackingClient(uri string) (*tracking.Client, error) {
	c, err := tracking.NewClient(uri)
	if err != nil {
		return nil, usagef("--tracking-uri: %v", err)
	}
	return c, nil
}
