package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/dawn-ml/dawn/video"
	"github.com/dawn-ml/dawn/video/haar"
)

const videoSynopsis = `Usage: dawn video <subcommand> [flags]

Queries over video (NoScope, BlazeIt): a reference detector (an OpenCV Haar
cascade evaluated in pure Go) answers per-frame object counts; a cheap
specialized model trained on the reference's own answers lets a query call
the reference on a fraction of the frames. Video files are decoded by
ffmpeg (apt-get install ffmpeg).

Example:
  dawn video query --video vtest.avi --reference haarcascade_fullbody.xml \
    --sql 'SELECT frame FROM video WHERE count(person) >= 6' --json`

func init() {
	register(&command{name: "video", summary: "video queries: Haar detection, NoScope selections, BlazeIt aggregates and limits", run: func(ctx context.Context, e *env, args []string) error {
		return dispatch(ctx, e, "video", videoSynopsis, []subcommand{
			{"detect", "run a Haar cascade over every frame and write frame,x,y,w,h", videoDetect},
			{"query", "answer a FrameQL query with a specialized model in front of the reference", videoQuery},
		}, args)
	}})
}

// defaultCacheDir is where detections are cached unless --cache says.
func defaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "dawn", "detections")
	}
	return filepath.Join(os.TempDir(), "dawn-detections")
}

type videoFlags struct {
	video, size, cache *string
	scale              *float64
	neighbors          *int
	workers            *int
	asJSON             *bool
}

func addVideoFlags(e *env, name, usage string) (*videoFlags, func(args []string) error, *flag.FlagSet) {
	fs := newFlags(e, name, usage)
	v := &videoFlags{
		video:     fs.String("video", "", "video file (any format ffmpeg decodes), a directory of PNG/JPEG frames, or a .raw file of gray frames"),
		size:      fs.String("size", "", "frame size WxH of a .raw file"),
		cache:     fs.String("cache", defaultCacheDir(), "directory of the detection cache (\"\" for none)"),
		scale:     fs.Float64("scale-factor", 1.1, "detectMultiScale's scale step"),
		neighbors: fs.Int("min-neighbors", 3, "detections a group needs beyond one (0 keeps every window)"),
		workers:   fs.Int("workers", 0, "parallel workers (default: all cores)"),
		asJSON:    fs.Bool("json", false, "print the result as JSON"),
	}
	return v, func(args []string) error { return parseFlags(fs, args) }, fs
}

func (v *videoFlags) haarOptions() haar.Options {
	n := *v.neighbors
	if n == 0 {
		n = -1
	}
	return haar.Options{ScaleFactor: *v.scale, MinNeighbors: n, Workers: *v.workers}
}

// cascadeReference loads a cascade and its cache for the video.
func (v *videoFlags) cascadeReference(cascadePath string) (*video.CascadeReference, error) {
	c, err := haar.Load(cascadePath)
	if err != nil {
		return nil, err
	}
	ref := &video.CascadeReference{Cascade: c, Options: v.haarOptions()}
	if *v.cache != "" {
		vd, err := video.FileDigest(*v.video)
		if err != nil && !isDir(*v.video) {
			return nil, err
		}
		cd, err := video.FileDigest(cascadePath)
		if err != nil {
			return nil, err
		}
		if vd != "" {
			if ref.Cache, err = video.OpenCache(*v.cache, vd, video.DetectorKey(cd, ref.Options)); err != nil {
				return nil, err
			}
		}
	}
	return ref, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

const videoDetectUsage = `Usage: dawn video detect --video FILE --cascade CASCADE.xml --out boxes.csv [flags]

Runs an OpenCV cascade (e.g. haarcascade_fullbody.xml) over every frame with
detectMultiScale's algorithm and writes one row per detection:
frame,x,y,w,h (0-based frame index), the format OpenCV's cached detections
use. Detections are cached by video and detector, so a second run is free.

Example:
  dawn video detect --video vtest.avi --cascade haarcascade_fullbody.xml --out boxes.csv`

func videoDetect(ctx context.Context, e *env, args []string) error {
	v, parse, fs := addVideoFlags(e, "video detect", videoDetectUsage)
	cascadePath := fs.String("cascade", "", "OpenCV cascade XML file")
	out := fs.String("out", "", "write frame,x,y,w,h here")
	maxFrames := fs.Int("frames", 0, "stop after this many frames (0: all)")
	if err := parse(args); err != nil {
		return err
	}
	if *v.video == "" || *cascadePath == "" || *out == "" {
		return usagef("video detect: --video, --cascade and --out are required")
	}
	ref, err := v.cascadeReference(*cascadePath)
	if err != nil {
		return err
	}
	fr, err := video.Open(ctx, *v.video, *v.size)
	if err != nil {
		return err
	}
	defer fr.Close()
	bar := newBar(e, "detecting in "+*v.video, 0)
	boxes := video.Boxes{}
	t0 := time.Now()
	n, computed := 0, 0
	var detectTime time.Duration
	for *maxFrames == 0 || n < *maxFrames {
		g, err := fr.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return err
		}
		if b, ok := cacheGet(ref, n); ok {
			boxes[n] = b
		} else {
			t1 := time.Now()
			b, err := ref.Cascade.Detect(ctx, g, ref.Options)
			if err != nil {
				return err
			}
			d := time.Since(t1)
			detectTime += d
			computed++
			if ref.Cache != nil {
				ref.Cache.Put(n, b, d.Seconds())
			}
			boxes[n] = b
		}
		n++
		bar.Add(1)
	}
	bar.Finish()
	if ref.Cache != nil {
		if err := ref.Cache.Save(); err != nil {
			return err
		}
	}
	if err := video.WriteBoxes(*out, boxes, n); err != nil {
		return err
	}
	total := 0
	for _, b := range boxes {
		total += len(b)
	}
	res := map[string]any{"frames": n, "detections": total, "computed_frames": computed, "cached_frames": n - computed,
		"seconds": time.Since(t0).Seconds(), "out": *out}
	if computed > 0 {
		res["seconds_per_frame"] = detectTime.Seconds() / float64(computed)
	}
	if *v.asJSON {
		return writeJSON(e.stdout, res)
	}
	fmt.Fprintf(e.stdout, "%d detections in %d frames (%d computed, %d from the cache) in %.1f s; wrote %s\n", total, n, computed, n-computed, time.Since(t0).Seconds(), *out)
	return nil
}

func cacheGet(ref *video.CascadeReference, i int) ([]haar.Rect, bool) {
	if ref.Cache == nil {
		return nil, false
	}
	return ref.Cache.Get(i)
}

const videoQueryUsage = `Usage: dawn video query --video FILE (--reference CASCADE.xml | --reference-boxes boxes.csv) --sql 'QUERY' [flags]

FrameQL queries:
  SELECT frame FROM video WHERE count(person) >= 6 [ACCURACY 95%]
  SELECT AVG(count(person)) FROM video ERROR WITHIN 0.1 AT CONFIDENCE 95%
  SELECT frame FROM video WHERE count(person) >= 7 LIMIT 10
Specialized models (ridge regression on background-difference features of
--small frames) are trained on the reference's counts for a sample of
frames; the optimizer keeps the one cheapest under the accuracy target.
Selections send only the frames it is unsure of to the reference, with
thresholds chosen for the accuracy target; aggregates sample frames with
the model as a control variate; limits scan frames by the model's score.
Each answer reports the reference calls, the time and the speedup over the
reference on every frame. --reference-boxes uses recorded detections as the
reference (then --reference-seconds prices a call); --reference-url uses any
detector behind an HTTP scoring endpoint. --save DIR writes the
cascade as a model directory; --cascade DIR loads one, so a second query
over the same camera pays no training calls.

Example:
  dawn video query --video vtest.avi --reference haarcascade_fullbody.xml \
    --sql 'SELECT AVG(count(person)) FROM video ERROR WITHIN 0.1 AT CONFIDENCE 95%' --json`

func videoQuery(ctx context.Context, e *env, args []string) error {
	v, parse, fs := addVideoFlags(e, "video query", videoQueryUsage)
	refPath := fs.String("reference", "", "OpenCV cascade XML file: the reference detector")
	boxesPath := fs.String("reference-boxes", "", "recorded detections (frame,x,y,w,h) to use as the reference")
	refURL := fs.String("reference-url", "", "a detector behind an HTTP endpoint (dawn's scoring protocol) as the reference: it receives frame, width, height, pixels (base64 gray) and answers the count")
	refSeconds := fs.Float64("reference-seconds", 0, "with --reference-boxes: seconds one reference call costs")
	sql := fs.String("sql", "", "the FrameQL query")
	small := fs.String("small", "96x72", "size of the frames the specialized model reads")
	accuracy := fs.Float64("accuracy", 0, "selection accuracy target (default: the query's ACCURACY, else 0.95)")
	seed := fs.Uint64("seed", 1, "seed for the training sample and sampling")
	train := fs.Int("train", 0, "frames labelled by the reference to train on (default 10%, 40–400)")
	diff := fs.Bool("diff", false, "let the optimizer use a difference detector")
	cascadeDir := fs.String("cascade", "", "a saved cascade directory (from --save): use its specialized model, no training calls")
	saveDir := fs.String("save", "", "save the query's cascade (specialized model, plan, background) as a model directory here")
	if err := parse(args); err != nil {
		return err
	}
	nref := 0
	for _, r := range []string{*refPath, *boxesPath, *refURL} {
		if r != "" {
			nref++
		}
	}
	if *v.video == "" || *sql == "" || nref != 1 {
		return usagef("video query: --video, --sql and one of --reference, --reference-boxes or --reference-url are required")
	}
	q, err := video.ParseQuery(*sql)
	if err != nil {
		return &usageError{msg: err.Error()}
	}
	sw, sh, err := parseWxH(*small)
	if err != nil {
		return err
	}
	var ref video.Reference
	var cref *video.CascadeReference
	if *boxesPath != "" {
		if *refSeconds <= 0 {
			return usagef("video query: --reference-boxes needs --reference-seconds, the cost of one reference call")
		}
		b, err := video.ReadBoxes(*boxesPath)
		if err != nil {
			return err
		}
		ref = &video.BoxesReference{Boxes: b, Seconds: *refSeconds}
	} else if *refURL != "" {
		ref = video.NewHTTPReference(*refURL)
	} else {
		if cref, err = v.cascadeReference(*refPath); err != nil {
			return err
		}
		ref = cref
	}
	fr, err := video.Open(ctx, *v.video, *v.size)
	if err != nil {
		return err
	}
	bar := newBar(e, "decoding "+*v.video, 0)
	store, err := video.Load(ctx, fr, sw, sh, ref.NeedsFrames(), "", func(int) { bar.Add(1) })
	fr.Close()
	bar.Finish()
	if err != nil {
		return err
	}
	defer store.Close()
	opt := video.QueryOptions{Accuracy: *accuracy, Seed: *seed, Train: *train, Diff: *diff}
	if *cascadeDir != "" {
		if opt.Cascade, err = video.LoadCascade(*cascadeDir); err != nil {
			return err
		}
	}
	a, err := video.Run(ctx, store, ref, q, opt)
	if cref != nil && cref.Cache != nil {
		if serr := cref.Cache.Save(); serr != nil && err == nil {
			err = serr
		}
	}
	if err != nil {
		return err
	}
	if *saveDir != "" {
		if err := a.Cascade.Save(*saveDir); err != nil {
			return err
		}
	}
	if *v.asJSON {
		return writeJSON(e.stdout, a)
	}
	switch q.Kind {
	case video.Aggregate:
		fmt.Fprintf(e.stdout, "answer %.4f (%.0f%% interval %.4f to %.4f)\n", a.Answer, q.Confidence*100, a.CILow, a.CIHigh)
		fmt.Fprintf(e.stdout, "plain random sampling would need about %d reference calls for the same width\n", a.PlainSamplingCalls)
	default:
		fmt.Fprintf(e.stdout, "answer %v: %d frames selected\n", a.Answer, len(a.FramesSelected))
	}
	fmt.Fprintf(e.stdout, "%d reference calls for %d frames, %.1f s (reference %.3f s/frame), speedup %.1f× over the reference on every frame\n",
		a.ReferenceCalls, a.Frames, a.Seconds, a.ReferenceSeconds, a.Speedup)
	return nil
}

func parseWxH(s string) (int, int, error) {
	var w, h int
	if _, err := fmt.Sscanf(s, "%dx%d", &w, &h); err != nil || w < 8 || h < 8 || w > 4096 || h > 4096 {
		return 0, 0, usagef("--small %q: want WxH, each 8 to 4096", s)
	}
	return w, h, nil
}
