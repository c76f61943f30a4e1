package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/dawn-ml/dawn/artifact/resolve"
	_ "github.com/dawn-ml/dawn/cascade" // registers the cascade model type
	_ "github.com/dawn-ml/dawn/lfmodel" // registers the label model type
	"github.com/dawn-ml/dawn/model"
	"github.com/dawn-ml/dawn/recommend"
	"github.com/dawn-ml/dawn/serve"
	"github.com/dawn-ml/dawn/serve/predlog"
	_ "github.com/dawn-ml/dawn/train" // registers the end-model types
)

const serveUsage = `Usage: dawn serve --model DIR|models:/NAME/VERSION|models:/NAME@ALIAS
       [--tracking-uri URI] [--host 127.0.0.1] [--port 5001]
       [--batch-rows 1024] [--batch-wait 0s] [--poll 10s] [--max-rows 100000]
       [--log-dir DIR|s3://BUCKET/PREFIX [--log-roll-rows N] [--log-roll-bytes N] [--log-roll-every D]
        [--log-queue N] [--log-spool DIR]] [--model-cache DIR]

Serves a model over MLflow's scoring protocol: GET /ping, /health, /version,
POST /invocations (application/json with dataframe_split, dataframe_records,
instances or inputs, or text/csv), and Prometheus metrics on GET /metrics.
Concurrent requests are micro-batched. A request holds at most --max-rows
rows (and a 64 MiB body); a larger one gets 413 before it is scored. With models:/NAME@ALIAS the alias is
polled and the server swaps to the version it points at without dropping a
request. A recommender (dawn recommend train; a directory or a registered
version) is served with POST /recommend, /similar, /interactions and
/retrain instead (docs/recommend.md). MLflow 3 logged models are served with models:/m-<id>. Registry
models are fetched from a local path, file://, mlflow-artifacts: (through
the tracking server), s3:// or runs:/RUN_ID/PATH (the run's artifacts, or
the logged model of that name the run produced). A server started with
--auth takes credentials from MLFLOW_TRACKING_USERNAME and
MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN.

--log-dir appends every answered request (inputs, outputs, model version,
latency) to Parquet files there, never blocking a request. With
s3://BUCKET/PREFIX each rolled file is written to --log-spool, uploaded as
one object and removed; a file whose upload fails is retried and kept in the
spool (uploaded at the next start) rather than lost. S3 endpoint and
credentials come from the environment, as for dawn server:
AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or MLFLOW_S3_ENDPOINT_URL,
AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the AWS config files).
SIGINT/SIGTERM stop it gracefully, uploading the last log file.

Example:
  dawn serve --model spam-model/ --port 5001
  curl -s localhost:5001/invocations -H 'Content-Type: application/json' \
       -d '{"dataframe_records": [{"text": "check out my channel"}]}'`

func init() {
	register(&command{name: "serve", summary: "serve a model over MLflow's scoring protocol", run: runServe})
}

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "serve", serveUsage)
	src := fs.String("model", "", "model `directory`, models:/NAME/VERSION, models:/NAME@ALIAS or models:/m-<id>")
	tracking := fs.String("tracking-uri", os.Getenv("MLFLOW_TRACKING_URI"), "tracking server `URL` for models:/ URIs (default $MLFLOW_TRACKING_URI)")
	host := fs.String("host", "127.0.0.1", "listen `address`")
	port := fs.Int("port", 5001, "listen `port`")
	batchRows := fs.Int("batch-rows", 1024, "largest micro-batch in `rows`")
	batchWait := fs.Duration("batch-wait", 0, "how long a micro-batch waits for more requests (0: only what queued up)")
	workers := fs.Int("workers", 0, "concurrent Predict calls (default: CPUs)")
	maxRows := fs.Int("max-rows", serve.DefaultMaxRows, "largest request in `rows`; larger ones get 413 (see docs/limits.md)")
	poll := fs.Duration("poll", 10*time.Second, "how often to check a models:/NAME@ALIAS for a new version")
	logDir := fs.String("log-dir", "", "write the prediction log (Parquet) into this `directory` or s3://bucket/prefix")
	logSpool := fs.String("log-spool", "", "with an s3:// --log-dir, the local `directory` files wait in for upload (default: under the user cache directory)")
	logRows := fs.Int("log-roll-rows", 1_000_000, "start a new prediction-log file after this many `rows`")
	logBytes := fs.Int64("log-roll-bytes", 256<<20, "start a new prediction-log file after this many `bytes` of (uncompressed) rows")
	logEvery := fs.Duration("log-roll-every", time.Minute, "start a new prediction-log file at least this often")
	logQueue := fs.Int("log-queue", 10_000, "requests the prediction log may hold before dropping (counted in /metrics)")
	asJSON := fs.Bool("json", false, "log JSON lines on stderr (the listening address included) and print a failure as {\"error\": ...} on stdout")
	cache := fs.String("model-cache", "", "directory for models fetched from the registry (default: a temporary directory)")
	interLog := fs.String("interactions-log", "", "recommender models: the interaction log `file` (default DIR.interactions.csv beside the model)")
	retrain := fs.Duration("retrain-every", 0, "recommender models: retrain on the logged interactions this often (0: on POST /retrain only)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *src == "" {
		return usagef("serve: --model is required")
	}
	var log *slog.Logger
	if *asJSON {
		log = slog.New(slog.NewJSONHandler(e.stderr, nil))
	} else {
		log = slog.New(slog.NewTextHandler(e.stderr, nil))
	}
	uri, isURI, err := resolve.ParseModelURI(*src)
	if err != nil {
		return usagef("%v", err)
	}
	var (
		m            model.Model
		modelVersion string
		reg          *serve.Registry
	)
	if isURI {
		if *tracking == "" {
			return usagef("serve: %s needs --tracking-uri (or MLFLOW_TRACKING_URI)", *src)
		}
		reg = &serve.Registry{TrackingURI: *tracking, CacheDir: *cache}
		if m, modelVersion, err = reg.Open(ctx, uri, model.Load); err != nil {
			return err
		}
	} else {
		if m, err = model.Load(*src); err != nil {
			return err
		}
		modelVersion = *src
	}
	if rm, ok := m.(*recommend.Model); ok {
		if isURI && *interLog == "" {
			return usagef("serve: a recommender from the registry needs --interactions-log FILE")
		}
		return serveRecommender(ctx, log, rm, *src, net.JoinHostPort(*host, strconv.Itoa(*port)), *interLog, *retrain)
	}
	opt := serve.Options{Version: version, MaxBatchRows: *batchRows, MaxWait: *batchWait, Workers: *workers, MaxRows: *maxRows, Logger: log}
	var plog *predlog.Logger
	if *logDir != "" {
		plog, err = predlog.New(predlog.Options{Dir: *logDir, Spool: *logSpool, RollRows: *logRows, RollBytes: *logBytes, RollEvery: *logEvery, Queue: *logQueue, Logger: log})
		if err != nil {
			return err
		}
		opt.Log = plog
	}
	s, err := serve.New(m, modelVersion, opt)
	if err != nil {
		return err
	}
	if plog != nil {
		s.Registry().MustRegister(plog.Collectors()...)
	}
	addr := net.JoinHostPort(*host, strconv.Itoa(*port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if isURI && uri.Alias != "" {
		go serve.Follow(ctx, s, reg, uri, *poll, model.Load, log)
	}
	info := m.Info()
	log.Info("serving", "model", *src, "version", modelVersion, "type", info.Type, "addr", "http://"+ln.Addr().String())
	err = s.Serve(ctx, ln, 30*time.Second)
	if plog != nil {
		if cerr := plog.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}
