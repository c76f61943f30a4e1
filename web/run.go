package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/tracking"
)

// Bounds of the artifact previews.
const (
	maxTextPreview    = 256 << 10 // bytes of a text, JSON or YAML file shown
	maxTablePreview   = 100       // rows of a CSV, JSONL or Parquet file shown
	maxParquetPreview = 256 << 20 // a Parquet file is copied to a temp file up to this size
	maxListing        = 2000      // entries of one artifact directory shown
)

// lineageTags are the tags that say where a run came from.
var lineageTags = []string{"mlflow.source.name", "mlflow.source.type", "mlflow.source.git.commit", "mlflow.parentRunId", "mlflow.user", "dawn.version"}

func (c *console) runPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	run, err := c.Store.GetRun(ctx, r.PathValue("run"))
	if err != nil {
		return err
	}
	exp, err := c.Store.GetExperiment(ctx, run.Info.ExperimentID)
	if err != nil {
		return err
	}
	params := append([]tracking.Param(nil), run.Data.Params...)
	sort.Slice(params, func(i, j int) bool { return params[i].Key < params[j].Key })
	metrics := append([]tracking.Metric(nil), run.Data.Metrics...)
	sort.Slice(metrics, func(i, j int) bool { return metrics[i].Key < metrics[j].Key })
	var tags, lineage []tracking.Tag
	for _, t := range run.Data.Tags {
		switch {
		case t.Key == "mlflow.note.content" || t.Key == "mlflow.runName":
		case contains(lineageTags, t.Key) || strings.HasPrefix(t.Key, "dawn."):
			lineage = append(lineage, t)
		default:
			tags = append(tags, t)
		}
	}
	for _, p := range params {
		if strings.HasSuffix(p.Key, "_digest") || p.Key == "lfs" || p.Key == "model_type" {
			lineage = append(lineage, tracking.Tag{Key: "params." + p.Key, Value: p.Value})
		}
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i].Key < tags[j].Key })
	sort.Slice(lineage, func(i, j int) bool { return lineage[i].Key < lineage[j].Key })
	mq := tracking.SearchQuery{MaxResults: 100}
	mq.Filter, _ = tracking.ParseModelVersionFilter("run_id = '" + run.Info.RunID + "'")
	versions, _, err := c.Store.SearchModelVersions(ctx, mq)
	if err != nil {
		return err
	}
	dir := r.URL.Query().Get("dir")
	entries, artErr := c.listArtifacts(r, run, dir)
	c.render(w, r, "run", runTitle(run), map[string]any{
		"Run": run, "Experiment": exp, "Params": params, "Metrics": metrics, "Tags": tags, "Lineage": lineage,
		"Note": tagValue(run, "mlflow.note.content"), "Versions": versions, "Dir": dir, "Entries": entries,
		"ArtifactError": artErr, "Duration": runDuration(run),
	}, 0)
	return nil
}

func runTitle(r *tracking.Run) string {
	if r.Info.RunName != "" {
		return r.Info.RunName
	}
	return r.Info.RunID
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// artifactRepo maps a run's artifact URI to a repo and the run's root in it.
func (c *console) artifactRepo(run *tracking.Run) (artifact.Repo, string, error) {
	root := run.Info.ArtifactURI
	switch {
	case strings.HasPrefix(root, tracking.ProxyScheme):
		if c.Artifacts == nil {
			return nil, "", badRequest("The server does not serve artifacts; cannot read %s", root)
		}
		return c.Artifacts, strings.Trim(strings.TrimPrefix(root, tracking.ProxyScheme), "/"), nil
	case strings.HasPrefix(root, "file://") || strings.HasPrefix(root, "/"):
		local, err := artifact.NewLocal(strings.TrimPrefix(root, "file://"))
		if err != nil {
			return nil, "", err
		}
		return local, "", nil
	}
	return nil, "", badRequest("The console cannot read artifacts at %s", root)
}

// artifactEntry is one row of the artifact browser, relative to the run.
type artifactEntry struct {
	Path  string
	Name  string
	IsDir bool
	Size  int64
}

func (c *console) listArtifacts(r *http.Request, run *tracking.Run, dir string) ([]artifactEntry, string) {
	repo, base, err := c.artifactRepo(run)
	if err != nil {
		return nil, err.Error()
	}
	clean := ""
	if dir != "" {
		if clean, err = artifact.CleanPath(dir); err != nil {
			return nil, "invalid directory " + dir
		}
	}
	list, err := repo.List(r.Context(), path.Join(base, clean))
	if err != nil {
		return nil, "listing artifacts: " + err.Error()
	}
	out := make([]artifactEntry, 0, min(len(list), maxListing))
	for _, e := range list[:min(len(list), maxListing)] {
		rel := strings.TrimPrefix(strings.TrimPrefix(e.Path, base), "/")
		out = append(out, artifactEntry{Path: rel, Name: path.Base(rel), IsDir: e.IsDir, Size: e.Size})
	}
	return out, ""
}

// openArtifact opens one file of a run's artifacts, checked to stay inside
// the run's root.
func (c *console) openArtifact(r *http.Request) (*tracking.Run, string, io.ReadCloser, int64, error) {
	run, err := c.Store.GetRun(r.Context(), r.PathValue("run"))
	if err != nil {
		return nil, "", nil, 0, err
	}
	p, err := artifact.CleanPath(r.URL.Query().Get("path"))
	if err != nil || p == "" {
		return nil, "", nil, 0, badRequest("Invalid artifact path %q", r.URL.Query().Get("path"))
	}
	repo, base, err := c.artifactRepo(run)
	if err != nil {
		return nil, "", nil, 0, err
	}
	rc, size, err := repo.Open(r.Context(), path.Join(base, p))
	if errors.Is(err, artifact.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
		return nil, "", nil, 0, tracking.NotFoundf("No artifact %s in run %s", p, run.Info.RunID)
	}
	if err != nil {
		return nil, "", nil, 0, err
	}
	return run, p, rc, size, nil
}

// previewKind picks the viewer for an artifact by its name.
func previewKind(p string) string {
	base := path.Base(p)
	if base == "MLmodel" {
		return "mlmodel"
	}
	switch strings.ToLower(path.Ext(p)) {
	case ".png", ".jpg", ".jpeg", ".gif", ".webp":
		return "image"
	case ".csv", ".tsv", ".jsonl", ".ndjson":
		return "table"
	case ".parquet":
		return "parquet"
	case ".json":
		return "json"
	case ".yaml", ".yml", ".txt", ".log", ".md", ".py", ".go", ".sql", ".sh", ".toml", ".cfg", ".ini", ".r", ".js", ".html", ".xml":
		return "text"
	}
	if path.Ext(p) == "" {
		return "text"
	}
	return "binary"
}

type tablePreview struct {
	Columns []string
	Rows    [][]string
	More    bool
}

func (c *console) artifactPreview(w http.ResponseWriter, r *http.Request) error {
	run, p, rc, size, err := c.openArtifact(r)
	if err != nil {
		return err
	}
	defer rc.Close()
	kind := previewKind(p)
	d := map[string]any{"Run": run, "Path": p, "Size": size, "Kind": kind}
	switch kind {
	case "text", "json", "mlmodel":
		b, err := io.ReadAll(io.LimitReader(rc, maxTextPreview+1))
		if err != nil {
			return err
		}
		d["Truncated"] = len(b) > maxTextPreview
		b = b[:min(len(b), maxTextPreview)]
		if kind == "json" {
			var buf bytes.Buffer
			if json.Indent(&buf, b, "", "  ") == nil {
				b = buf.Bytes()
			}
		}
		d["Text"] = string(b)
	case "table":
		tp, err := previewTable(data.NewReader(rc, p, data.Options{InferRows: maxTablePreview}))
		if err != nil {
			d["PreviewError"] = err.Error()
		}
		d["Table"] = tp
	case "parquet":
		tp, err := previewParquet(rc, size)
		if err != nil {
			d["PreviewError"] = err.Error()
		}
		d["Table"] = tp
	}
	c.render(w, r, "artifact", path.Base(p), d, 0)
	return nil
}

func previewParquet(rc io.Reader, size int64) (*tablePreview, error) {
	if size > maxParquetPreview {
		return nil, badRequest("Parquet file of %d bytes is over the preview limit of %d", size, maxParquetPreview)
	}
	f, err := os.CreateTemp("", "dawn-preview-*.parquet")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	_, err = io.Copy(f, io.LimitReader(rc, maxParquetPreview))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return previewTable(data.Open(f.Name(), data.Options{}))
}

// previewTable reads the first rows of a data file with package data.
func previewTable(rd *data.Reader, err error) (*tablePreview, error) {
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	tp := &tablePreview{}
	for _, f := range rd.Schema().Fields() {
		tp.Columns = append(tp.Columns, f.Name)
	}
	for len(tp.Rows) < maxTablePreview {
		b, err := rd.Next()
		if err == io.EOF {
			return tp, nil
		}
		if err != nil {
			return tp, err
		}
		for i := 0; i < int(b.NumRows()); i++ {
			if len(tp.Rows) == maxTablePreview {
				tp.More = true
				break
			}
			row := make([]string, b.NumCols())
			for j := range row {
				row[j] = data.FormatValue(b.Column(j), i)
			}
			tp.Rows = append(tp.Rows, row)
		}
		b.Release()
	}
	tp.More = true
	return tp, nil
}

// artifactRaw streams an artifact: images inline with their type, every
// other file as a download, so no artifact runs as a page of the console.
func (c *console) artifactRaw(w http.ResponseWriter, r *http.Request) error {
	_, p, rc, size, err := c.openArtifact(r)
	if err != nil {
		return err
	}
	defer rc.Close()
	if previewKind(p) == "image" {
		w.Header().Set("Content-Type", mime.TypeByExtension(path.Ext(p)))
	} else {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(p)}))
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	if size >= 0 {
		w.Header().Set("Content-Length", itoa(size))
	}
	_, err = io.Copy(w, rc)
	if err != nil {
		c.Logger.Warn("web: artifact download interrupted", "path", p, "err", err)
	}
	return nil
}
