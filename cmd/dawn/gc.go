package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/server"
)

func init() {
	register(&command{
		name:    "gc",
		summary: "permanently remove deleted runs, experiments and their artifacts",
		run:     runGC,
	})
}

func runGC(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "gc", `Usage: dawn gc [--older-than 720h] [--experiment-ids 1,2] [--dry-run] [--backend-store-uri URI] [--artifacts-destination DIR]

Permanently removes runs and experiments in the deleted stage, with their
metrics, params, tags and artifacts, a page at a time (bounded memory).
Stop the server first when the store is SQLite, or run it against the same
store the server uses (both are safe with SQLite's WAL).

Example:
  dawn gc --data-dir ./dawn-data --older-than 720h --dry-run`)
	var sf storeFlags
	fs.StringVar(&sf.dataDir, "data-dir", "dawn-data", "directory of the default SQLite store and artifacts")
	fs.StringVar(&sf.storeURI, "backend-store-uri", "", "metadata store URI (default: sqlite under --data-dir)")
	artifacts := fs.String("artifacts-destination", "", "artifact proxy directory or s3://bucket/prefix (default: DATA-DIR/artifacts)")
	olderThan := fs.Duration("older-than", 0, "only what was deleted at least this long ago, e.g. 720h")
	expIDs := fs.String("experiment-ids", "", "comma-separated experiment ids to restrict to")
	dry := fs.Bool("dry-run", false, "count what would be removed, remove nothing")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dest := *artifacts
	if dest == "" {
		dest = filepath.Join(sf.dataDir, "artifacts")
	}
	store, err := server.OpenStore(ctx, sf.uri(), tracking.ProxyScheme)
	if err != nil {
		return err
	}
	defer store.Close()
	p, ok := store.(tracking.Purger)
	if !ok {
		return fmt.Errorf("gc: the store at %s cannot purge", sf.uri())
	}
	repo, err := server.OpenArtifacts(ctx, dest)
	if err != nil {
		return err
	}
	var ids []string
	for _, id := range strings.Split(*expIDs, ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	st, err := tracking.GC(ctx, p, tracking.GCOptions{OlderThan: *olderThan, ExperimentIDs: ids, DryRun: *dry, Artifacts: repo})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, map[string]any{"dry_run": *dry, "removed": st, "older_than": olderThan.String(), "at": time.Now().UTC().Format(time.RFC3339)})
	}
	verb := "removed"
	if *dry {
		verb = "would remove"
	}
	fmt.Fprintf(e.stdout, "%s %d runs, %d experiments, %d artifact directories\n", verb, st.Runs, st.Experiments, st.Artifacts)
	return nil
}
