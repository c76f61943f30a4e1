package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dawn-ml/dawn/model"
	"github.com/dawn-ml/dawn/tracking"
)

func init() {
	register(&command{
		name:    "models",
		summary: "put models into a tracking server's model registry",
		run: func(ctx context.Context, e *env, args []string) error {
			return dispatch(ctx, e, "models", `Usage: dawn models <subcommand> [flags]

Works with the model registry of a tracking server (dawn server or MLflow).

Example:
  dawn models register --model labelmodel/ --name spam-labeler --tracking-uri http://127.0.0.1:5000
  dawn models alias set spam-labeler champion 3 --tracking-uri http://127.0.0.1:5000`,
				[]subcommand{
					{"register", "log a model directory to a run and register it as a new version", modelsRegister},
					{"list", "list registered models with their latest versions and aliases", modelsList},
					{"show", "show one registered model: description, tags, aliases, versions", modelsShow},
					{"versions", "list the versions of a registered model", modelsVersions},
					{"alias", "set, move or delete an alias (alias set|delete)", modelsAlias},
				}, args)
		},
	})
}

func modelsRegister(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "models register", `Usage: dawn models register --model DIR --name NAME [--tracking-uri URI] [--run-id ID] [--json]

Uploads a model directory (one with an MLmodel file: from dawn train,
dawn label fit/run or dawn cascade build) into a run's artifacts under
"model" and registers it as the next version of NAME, creating NAME when it
is new. Without --run-id it goes into the run that made the model (the
MLmodel's run_id, which dawn train and dawn label run record when they log
a run) if the server has it, so the version links to its training run;
else a run is created for it. Serve it afterwards with
dawn serve --model models:/NAME/VERSION.

Example:
  dawn models register --model spam-model/ --name spam --tracking-uri http://127.0.0.1:5000`)
	dir := fs.String("model", "", "the model directory to register (required)")
	name := fs.String("name", "", "the registered model's name (required)")
	runID := fs.String("run-id", "", "log the model into this existing run (default: the run in the MLmodel's run_id when the server has it, else a new run)")
	asJSON := fs.Bool("json", false, "print JSON on stdout")
	tf := addTrackingFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(map[string]string{"--model": *dir, "--name": *name}); err != nil {
		return err
	}
	if tf.uri == "" {
		return usagef("models register: no tracking server: pass --tracking-uri or set MLFLOW_TRACKING_URI")
	}
	desc, err := model.Read(*dir)
	if err != nil {
		return err
	}
	if tf.runName == "" {
		tf.runName = "register " + *name
	}
	var al *autolog
	// The run that made the model (its MLmodel's run_id, as dawn train
	// and dawn label run write it) is the one to register from, so the
	// version links back to its training run; a new run only when the
	// MLmodel names none or the server does not know it.
	reuse := *runID
	if reuse == "" && desc.RunID != "" {
		c, err := newTrackingClient(tf.uri)
		if err != nil {
			return err
		}
		switch _, err := c.GetRun(ctx, desc.RunID); {
		case err == nil:
			reuse = desc.RunID
		case errors.Is(err, tracking.ErrNotFound) || tracking.IsCode(err, tracking.CodeResourceDoesNotExist):
			fmt.Fprintf(e.stderr, "dawn: models register: the MLmodel's run %s is not on %s; logging to a new run\n", desc.RunID, tf.uri)
		default:
			return fmt.Errorf("models register: run %s: %w", desc.RunID, err)
		}
	}
	if reuse == "" {
		params := map[string]string{"registered_model": *name}
		if d := desc.Flavors.Dawn; d != nil {
			params["model_type"] = d.ModelType
		}
		if al, err = tf.start(ctx, "dawn models register", params, nil); err != nil {
			return al.finish(ctx, err)
		}
	} else {
		c, err := newTrackingClient(tf.uri)
		if err != nil {
			return err
		}
		run, err := c.GetRun(ctx, reuse)
		if err != nil {
			return fmt.Errorf("models register: run %s: %w", reuse, err)
		}
		al = &autolog{c: c, run: run}
	}
	if err := al.artifact(ctx, *dir, "model"); err != nil {
		return al.finish(ctx, fmt.Errorf("models register: upload %s: %w", *dir, err))
	}
	source := strings.TrimRight(al.run.Info.ArtifactURI, "/") + "/model"
	mv, err := al.c.CreateModelVersion(ctx, *name, source, al.runID())
	if reuse == "" {
		err = al.finish(ctx, err)
	}
	if err != nil {
		return fmt.Errorf("models register: %w", err)
	}
	if *asJSON {
		return writeJSON(e.stdout, map[string]any{"name": mv.Name, "version": mv.Version, "source": mv.Source, "run_id": al.runID()})
	}
	fmt.Fprintf(e.stdout, "registered %s version %s (source %s, run %s)\n", mv.Name, mv.Version, mv.Source, al.runID())
	return nil
}
