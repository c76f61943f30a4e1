package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/dawn-ml/dawn/explain"
	"github.com/dawn-ml/dawn/explain/stream"
	"github.com/dawn-ml/dawn/explain/stream/classic"
	"github.com/dawn-ml/dawn/mbsql"
)

const explainUsage = `
Usage: dawn explain --data FILE (--outlier EXPR | --percentile COL[:P] | --mad COL | --mcd A,B) --attrs A,B [flags]
       dawn explain --stream [--nats URL --subject S] (--outlier EXPR | --percentile COL[:P] | --mad COL | --mcd A,B) --attrs A,B [flags]

Classify rows as outliers, then report the attribute-value combinations (order
1 to --max-order) that are over-represented among them, as MacroBase does.
Output columns: the attributes (empty when not part of the combination),
support, the ratio named for --metric, outlier_count, total_count.
By default a combination whose ratio is at least --specific (2) times each
of its reported parts' is reported instead of them, and parts it explains
away are dropped; --exact-macrobase gives MacroBase's output. --data may be a
directory or a glob of files (a prediction log).

With --stream, --outlier and --percentile run the streaming APriori engine;
--mad and --mcd run MacroBase's classic streaming pipeline (scores retrained
on a damped input reservoir every --retrain rows, outliers above the
--score-percentile of a damped score reservoir, itemsets by corrected risk
ratio from heavy-hitter counters and streaming FP-trees).

With --subject, rows are read through a JetStream stream (--nats-stream,
created when missing, holding at most --nats-stream-bytes): publish with
JetStream (and a Nats-Msg-Id when retrying) so that nothing is lost while
the server is down. The rows stay in the stream until the final explanation
(after the empty end-of-stream message) is printed; an interrupted run, or
a server away longer than --nats-max-outage, exits non-zero with no final
explanation and leaves them for the next run. The embedded server keeps its
streams in --nats-store (default: a temporary directory, removed at exit).

Examples:
  dawn explain --data sensors.parquet --outlier 'power_drain > 0.9' \
      --attrs model,firmware_version --min-support 0.2 --min-ratio 1.5
  dawn explain --data predictions/ --outlier "label != Label AND country == 'CAN'" --attrs version,os
  zcat sensor10k.csv.gz | dawn explain --stream --mad power_drain --attrs device_id \
      --min-support 0.01 --min-ratio 1 --warmup 100 --retrain 1000 --decay-every 1000 --reservoir 1000
`

func init() {
	register(&command{name: "explain", summary: "explain outliers by attribute combinations (MacroBase)", run: runExplain})
}

type explainFlags struct {
	data, outlier, percentile, mad, mcd, attrs, metric, explainer, tail, out string
	mean, count                                                              string
	minSupport, minRatio, scorePct, dedupe, madZ, specific                   float64
	maxOrder, workers                                                        int
	low, jsonOut, ci, contribution, exact                                    bool
	stream                                                                   streamFlags
	set                                                                      map[string]bool // flags given on the command line
}

func runExplain(ctx context.Context, e *env, args []string) error {
	var f explainFlags
	fs := newFlags(e, "explain", explainUsage)
	fs.StringVar(&f.data, "data", "", "input file (.csv, .csv.gz, .tsv, .jsonl, .parquet), a directory of them (a prediction log) or a glob such as 'logs/*.parquet'")
	fs.StringVar(&f.outlier, "outlier", "", "predicate classifier: comparisons with AND, OR, NOT and parentheses; bare words are columns, text is quoted: usage > 1000 AND country == 'CAN', or label != Label (--stream: one COL OP NUMBER)")
	fs.StringVar(&f.percentile, "percentile", "", "percentile classifier COL[:P]: outside the P and 1-P quantiles (default P 0.995)")
	fs.StringVar(&f.tail, "tail", "both", "percentile tails that are outliers: both, high or low")
	fs.StringVar(&f.mad, "mad", "", "classic classifier: MAD score of COL above --score-percentile")
	fs.StringVar(&f.mcd, "mcd", "", "classic classifier: MCD distance over the metrics A,B,... above --score-percentile")
	fs.Float64Var(&f.scorePct, "score-percentile", 0.99, "score quantile the classic classifiers cut at")
	fs.Float64Var(&f.madZ, "mad-z", 0, "with --mad: outliers have a robust z-score |x-median|/(1.4826·MAD) of at least this, instead of the score percentile")
	fs.BoolVar(&f.low, "low-metric", false, "use 1/max(x, 0.1) of the metrics, so low values are outliers")
	fs.StringVar(&f.attrs, "attrs", "", "attribute columns to explain by, comma-separated")
	fs.StringVar(&f.mean, "mean", "", "mean-shift explainer: compare the mean of COL in the --outlier group with the rest (--min-ratio is the least shift)")
	fs.StringVar(&f.count, "count", "", "mean-shift explainer: COL holding how many records each row stands for (a cube)")
	fs.Float64Var(&f.minSupport, "min-support", mbsql.DefaultMinSupport, "least fraction of the outliers a combination covers")
	fs.Float64Var(&f.minRatio, "min-ratio", mbsql.DefaultMinRatio, "least ratio (--metric) a combination reaches")
	fs.StringVar(&f.metric, "metric", "global_ratio", "global_ratio, risk_ratio or prevalence_ratio")
	fs.IntVar(&f.maxOrder, "max-order", 3, "largest combination, 1 to 3")
	fs.StringVar(&f.explainer, "explainer", "apriori", "apriori (MacroBase DIFF) or fpgrowth (risk ratio, all itemset sizes)")
	fs.IntVar(&f.workers, "workers", 0, "goroutines for the explanation (0: all cores)")
	fs.StringVar(&f.out, "out", "", "write the explanations as CSV to this file instead of a table")
	fs.BoolVar(&f.jsonOut, "json", false, "print one JSON object on stdout")
	fs.BoolVar(&f.ci, "ci", false, "add risk_ratio_low and risk_ratio_high, a 95% interval of the risk ratio")
	fs.BoolVar(&f.contribution, "contribution", false, "add contribution: the share of outliers the combination accounts for")
	fs.Float64Var(&f.dedupe, "dedupe", 0, "drop a combination when a simpler one has at least 1-TOL of its support and ratio (e.g. 0.05)")
	fs.Float64Var(&f.specific, "specific", explain.DefaultSpecific, "report a combination instead of its parts when its ratio is at least this many times each reported part's, and drop the parts it explains away (see docs/explain.md)")
	fs.BoolVar(&f.exact, "exact-macrobase", false, "MacroBase's exact output: a combination that passes both thresholds is reported and never extended (the same as --specific 0)")
	df := addDataFlags(fs)
	f.stream.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ropt, err := df.options()
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("explain: unexpected argument %q", fs.Arg(0))
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	spec, attrs, opt, err := f.config()
	if err != nil {
		return err
	}
	if f.stream.on {
		return runStream(ctx, e, &f, spec, attrs, opt)
	}
	if f.data == "" {
		return usagef("explain: --data is required (or --stream)")
	}
	need, _ := spec.Columns()
	if f.mean != "" {
		if spec.Predicate == "" {
			return usagef("explain: --mean needs --outlier to define the group compared with the rest")
		}
		if f.ci || f.contribution || f.explainer != "apriori" {
			return usagef("explain: --mean does not combine with --ci, --contribution or --explainer")
		}
		need = append(need, f.mean)
		if f.count != "" {
			need = append(need, f.count)
		}
	}
	cols := append(append([]string{}, attrs...), need...)
	// Attributes keep their text ("1.0" stays "1.0"), unless the
	// classifier reads the same column as a number.
	kinds := map[string]explain.Kind{}
	for _, a := range attrs {
		kinds[a] = explain.String
	}
	for _, c := range need {
		delete(kinds, c)
	}
	// Three stages on a terminal: reading, classifying, explaining.
	bar := newBar(e, "explain: reading "+f.data, 3)
	defer bar.Finish()
	fr, err := explain.ReadFrame(f.data, explain.ReadOptions{Columns: dedupeNames(cols), Kinds: kinds, Data: ropt})
	if err != nil {
		if spec.Predicate != "" && strings.Contains(err.Error(), "unknown column") {
			return fmt.Errorf("%w (in --outlier a bare word is a column: quote a text value, e.g. country == 'CAN')", err)
		}
		return err
	}
	bar.Describe(fmt.Sprintf("explain: classifying %d rows", fr.Rows))
	bar.Add(1)
	flags, err := spec.Classify(fr)
	if err != nil {
		return err
	}
	bar.Describe("explain: searching combinations")
	bar.Add(1)
	var ac []*explain.Column
	for _, a := range attrs {
		c, err := fr.Strings(a)
		if err != nil {
			return err
		}
		ac = append(ac, c)
	}
	var res *explain.Result
	if f.mean != "" {
		in := explain.MeanShiftInput{Outlier: flags}
		if in.Mean, err = fr.Numbers(f.mean); err != nil {
			return err
		}
		if f.count != "" {
			if in.Count, err = fr.Numbers(f.count); err != nil {
				return err
			}
		}
		res, err = explain.ExplainMeanShift(ac, in, explain.MeanShiftOptions{MinSupport: opt.MinSupport, MinMeanShift: opt.MinRatio, MaxOrder: opt.MaxOrder})
	} else if f.explainer == "fpgrowth" {
		res, err = explain.FPGrowth(ac, explain.Labels{Outlier: flags}, explain.FPOptions{MinSupport: opt.MinSupport, MinRatio: opt.MinRatio, Combinations: opt.MaxOrder > 1})
	} else {
		res, err = explain.APriori(ac, explain.Labels{Outlier: flags}, opt)
	}
	if err != nil {
		return err
	}
	bar.Add(1)
	bar.Finish()
	if res.Outliers == 0 {
		return fmt.Errorf("%w: the classifier marked none of the %d rows of %s", explain.ErrNoOutliers, fr.Rows, f.data)
	}
	return writeExplanation(e.stdout, &f, res)
}

// config turns the flags into a classifier, attributes and options.
func (f *explainFlags) config() (explain.ClassifierSpec, []string, explain.Options, error) {
	var spec explain.ClassifierSpec
	opt := explain.Options{MinSupport: f.minSupport, MinRatio: f.minRatio, MaxOrder: f.maxOrder, Workers: f.workers, Specific: f.specific}
	if f.exact || f.stream.on {
		// The streaming engines follow MacroBase's rules only.
		opt.Specific = 0
	}
	if f.specific < 0 || math.IsNaN(f.specific) || math.IsInf(f.specific, 0) {
		return spec, nil, opt, usagef("explain: --specific %v: want 0 (MacroBase's rule) or a factor such as %v", f.specific, explain.DefaultSpecific)
	}
	m, err := explain.ParseMetric(f.metric)
	if err != nil {
		return spec, nil, opt, usagef("explain: --metric %q: want global_ratio, risk_ratio or prevalence_ratio", f.metric)
	}
	opt.Metric = m
	if f.maxOrder < 1 || f.maxOrder > 3 {
		return spec, nil, opt, usagef("explain: --max-order %d: want 1, 2 or 3", f.maxOrder)
	}
	if f.minSupport < 0 || f.minSupport > 1 || math.IsNaN(f.minSupport) {
		return spec, nil, opt, usagef("explain: --min-support %v: want a fraction in [0, 1]", f.minSupport)
	}
	if f.explainer != "apriori" && f.explainer != "fpgrowth" {
		return spec, nil, opt, usagef("explain: --explainer %q: want apriori or fpgrowth", f.explainer)
	}
	n := 0
	for _, s := range []string{f.outlier, f.percentile, f.mad, f.mcd} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return spec, nil, opt, usagef("explain: give exactly one of --outlier, --percentile, --mad, --mcd")
	}
	spec.Predicate, spec.MAD, spec.LowMetric, spec.ScorePercentile, spec.MADZ = f.outlier, f.mad, f.low, f.scorePct, f.madZ
	if f.madZ < 0 || (f.madZ > 0 && f.mad == "") {
		return spec, nil, opt, usagef("explain: --mad-z needs --mad and a positive z, e.g. --mad usage --mad-z 3")
	}
	if f.mcd != "" {
		spec.MCD = splitList(f.mcd)
		if len(spec.MCD) < 2 {
			return spec, nil, opt, usagef("explain: --mcd needs at least two metrics, e.g. --mcd a,b")
		}
	}
	if f.percentile != "" {
		col, p, hasP := strings.Cut(f.percentile, ":")
		spec.Percentile, spec.Cutoff = strings.TrimSpace(col), 0.5
		if hasP {
			v, err := strconv.ParseFloat(p, 64)
			if err != nil || !(v > 0 && v < 1) || v == 0.5 {
				return spec, nil, opt, usagef("explain: --percentile %q: want COL:P with P a fraction such as 0.99", f.percentile)
			}
			spec.Cutoff = math.Min(v, 1-v) * 100
		}
		switch f.tail {
		case "both":
			spec.High, spec.Low = true, true
		case "high":
			spec.High = true
		case "low":
			spec.Low = true
		default:
			return spec, nil, opt, usagef("explain: --tail %q: want both, high or low", f.tail)
		}
	}
	if spec.Predicate != "" {
		if _, err := explain.ParseCondition(spec.Predicate); err != nil {
			return spec, nil, opt, usagef("%v", err)
		}
	}
	attrs := splitList(f.attrs)
	if len(attrs) == 0 {
		return spec, nil, opt, usagef("explain: --attrs is required, e.g. --attrs location,version")
	}
	return spec, attrs, opt, nil
}

func dedupeNames(names []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if !seen[strings.ToLower(n)] {
			seen[strings.ToLower(n)] = true
			out = append(out, n)
		}
	}
	return out
}

// explanationFrame is the result table with the optional extra columns.
func explanationFrame(f *explainFlags, res *explain.Result) *explain.Frame {
	if f.dedupe > 0 {
		explain.RemoveRedundant(res, f.dedupe)
	}
	fr := mbsql.ResultFrame(res)
	if !f.ci && !f.contribution {
		return fr
	}
	ex := explain.Annotate(res)
	col := func(name string, get func(x explain.Extras) float64) {
		v := make([]float64, len(ex))
		for i, x := range ex {
			v[i] = get(x)
		}
		fr.Cols = append(fr.Cols, explain.FrameColumn{Name: name, Num: v})
	}
	if f.ci {
		col("risk_ratio_low", func(x explain.Extras) float64 { return x.RiskLow })
		col("risk_ratio_high", func(x explain.Extras) float64 { return x.RiskHigh })
	}
	if f.contribution {
		col("contribution", func(x explain.Extras) float64 { return x.Contribution })
	}
	return fr
}

func writeExplanation(w io.Writer, f *explainFlags, res *explain.Result) error {
	fr := explanationFrame(f, res)
	switch {
	case f.jsonOut:
		return writeJSON(w, frameJSON(fr, res))
	case f.out != "":
		if err := mbsql.WriteFile(f.out, fr, ','); err != nil {
			return err
		}
		return nil
	}
	fmt.Fprintf(w, "%s outliers of %s rows\n", explain.FormatNumber(res.Outliers), explain.FormatNumber(res.Total))
	return mbsql.WriteTable(w, fr, 0)
}

// frameJSON is the --json shape: totals and one object per explanation;
// infinite ratios are the string "Infinity".
func frameJSON(fr *explain.Frame, res *explain.Result) map[string]any {
	rows := make([]map[string]any, fr.Rows)
	nattr := len(res.Attributes)
	for r := range rows {
		row := map[string]any{}
		vals := map[string]string{}
		for i, c := range fr.Cols {
			if i < nattr {
				if v, ok := c.Str.Value(r); ok {
					vals[c.Name] = v
				}
				continue
			}
			v := c.Num[r]
			if math.IsInf(v, 0) || math.IsNaN(v) {
				row[c.Name] = mbsql.JavaDouble(v)
			} else {
				row[c.Name] = v
			}
		}
		row["values"] = vals
		rows[r] = row
	}
	return map[string]any{
		"attributes":   res.Attributes,
		"metric":       res.Metric.String(),
		"outliers":     res.Outliers,
		"total":        res.Total,
		"explanations": rows,
	}
}

// streamFlags are the --stream options.
type streamFlags struct {
	on                 bool
	nats, subject      string
	natsPort           int
	natsStore          string
	natsStream         string
	natsBytes          int64
	natsOutage         time.Duration
	header             string
	period             int
	interval           time.Duration
	decay              float64
	decayEvery, warmup int
	sketch, reservoir  int
	retrain            int
	refresh            bool
}

func (s *streamFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&s.on, "stream", false, "read rows as a stream (CSV with a header or JSON lines on stdin, or --subject) and emit explanations every period")
	fs.StringVar(&s.subject, "subject", "", "stream: NATS subject to read (one JSON object, or one CSV line with --header, per message; an empty message ends)")
	fs.StringVar(&s.nats, "nats", "embedded", "stream: NATS server URL (nats://host:4222), or 'embedded' to run one in-process")
	fs.IntVar(&s.natsPort, "nats-port", 0, "stream: port of the embedded NATS server (0: any free port, printed on stderr)")
	fs.StringVar(&s.natsStore, "nats-store", "", "stream: `directory` of the embedded server's JetStream store (default: a temporary one)")
	fs.StringVar(&s.natsStream, "nats-stream", "", "stream: JetStream stream `name` for --subject (default DAWN_EXPLAIN_<subject>)")
	fs.Int64Var(&s.natsBytes, "nats-stream-bytes", stream.DefaultStreamBytes, "stream: most `bytes` of unexplained rows the stream keeps; publishers get an error past it")
	fs.DurationVar(&s.natsOutage, "nats-max-outage", stream.DefaultMaxOutage, "stream: how long to wait for an unreachable NATS server before failing")
	fs.StringVar(&s.header, "header", "", "stream: CSV column names of NATS messages, comma-separated (default: messages are JSON)")
	fs.IntVar(&s.period, "period", 100000, "stream: emit an explanation every this many rows (0: only at the end or by --interval)")
	fs.DurationVar(&s.interval, "interval", 0, "stream: also emit every this much time, e.g. 10s")
	fs.Float64Var(&s.decay, "decay", 0.01, "stream: decay rate of counts and the reservoir weight")
	fs.IntVar(&s.decayEvery, "decay-every", 100000, "stream: rows between decays")
	fs.IntVar(&s.warmup, "warmup", 1000, "stream: rows that only fill the reservoir before the percentile classifier starts")
	fs.IntVar(&s.sketch, "sketch-size", 10000, "stream: items each heavy-hitter counter keeps")
	fs.IntVar(&s.reservoir, "reservoir", 10000, "stream: reservoir sample size (with --mad/--mcd: of the input and of the scores)")
	fs.IntVar(&s.retrain, "retrain", 100000, "stream --mad/--mcd: rows between retraining the model on the input reservoir (and decaying it)")
	fs.BoolVar(&s.refresh, "refresh-threshold", false, "stream --mad/--mcd: also update the score threshold every --decay-every rows after the warm-up (MacroBase sets it once)")
}

// runStream explains a stream of rows, emitting every period.
func runStream(ctx context.Context, e *env, f *explainFlags, spec explain.ClassifierSpec, attrs []string, opt explain.Options) error {
	s := &f.stream
	cfg := stream.Config{Attrs: attrs, Options: opt, DecayRate: s.decay, DecayEvery: s.decayEvery, Period: s.period,
		Warmup: s.warmup, SketchSize: s.sketch, ReservoirSize: s.reservoir, Seed: uint64(1)}
	var metric string
	switch {
	case spec.Predicate != "":
		p, err := explain.ParsePredicate(spec.Predicate)
		if err != nil {
			return usagef("%v", err)
		}
		if _, err := p.Number(); err != nil {
			return usagef("%v", err)
		}
		cfg.Predicate, metric = &p, p.Column
	case spec.Percentile != "":
		cfg.Cutoff, cfg.High, cfg.Low, metric = spec.Cutoff, spec.High, spec.Low, spec.Percentile
	case spec.MAD != "" || len(spec.MCD) > 0:
		return runClassicStream(ctx, e, f, spec, attrs, opt)
	}
	if s.refresh || f.set["retrain"] {
		return usagef("explain: --retrain and --refresh-threshold apply to --mad and --mcd")
	}
	if f.explainer != "apriori" {
		return usagef("explain: --stream uses the APriori rules; --explainer %s is batch only", f.explainer)
	}
	if f.data != "" {
		return usagef("explain: --stream reads stdin or --subject, not --data")
	}
	x, err := stream.New(cfg)
	if err != nil {
		return err
	}
	return streamRows(ctx, e, f, stream.Fields{Attrs: attrs, Metrics: []string{metric}}, x)
}

// runClassicStream runs MacroBase's classic streaming pipeline.
func runClassicStream(ctx context.Context, e *env, f *explainFlags, spec explain.ClassifierSpec, attrs []string, opt explain.Options) error {
	s := &f.stream
	if spec.MADZ > 0 {
		return usagef("explain: --mad-z is batch only; the stream cuts scores at --score-percentile")
	}
	if f.set["metric"] && opt.Metric != explain.RiskRatio {
		return usagef("explain: --stream with --mad/--mcd ranks by MacroBase's corrected risk ratio; --metric %s is not available", f.metric)
	}
	if f.explainer != "apriori" || f.ci || f.contribution || f.dedupe > 0 || f.mean != "" {
		return usagef("explain: --stream with --mad/--mcd does not take --explainer, --ci, --contribution, --dedupe or --mean")
	}
	if f.data != "" {
		return usagef("explain: --stream reads stdin or --subject, not --data")
	}
	metrics := spec.MCD
	if spec.MAD != "" {
		metrics = []string{spec.MAD}
	}
	decay := s.decay
	if decay == 0 {
		decay = -1 // classic.Config: negative is none, 0 the default
	}
	cfg := classic.Config{Attrs: attrs, Metrics: len(metrics), LowMetric: spec.LowMetric, Percentile: spec.ScorePercentile,
		MinSupport: opt.MinSupport, MinRatio: opt.MinRatio, DecayRate: decay, Warmup: s.warmup,
		ModelPeriod: s.retrain, SummaryPeriod: s.decayEvery, InputReservoir: s.reservoir, ScoreReservoir: s.reservoir,
		OutlierItems: s.sketch, InlierItems: s.sketch, Period: s.period, RefreshThreshold: s.refresh,
		NoCombinations: opt.MaxOrder == 1, MaxOrder: opt.MaxOrder, Seed: spec.Seed,
		MCD: explain.MCD{Alpha: spec.MCDAlpha}}
	p, err := classic.New(cfg)
	if err != nil {
		return usagef("explain: %v", err)
	}
	return streamRows(ctx, e, f, stream.Fields{Attrs: attrs, Metrics: metrics}, p)
}

// streamRows reads rows from stdin or NATS into a streaming model and
// prints each explanation it emits.
func streamRows(ctx context.Context, e *env, f *explainFlags, fields stream.Fields, x stream.Model) error {
	s := &f.stream
	var rr stream.RowReader
	var err error
	if s.subject != "" {
		url := s.nats
		if url == "" || url == "embedded" {
			store := s.natsStore
			if store == "" {
				tmp, err := os.MkdirTemp("", "dawn-nats-")
				if err != nil {
					return fmt.Errorf("explain: %w", err)
				}
				defer os.RemoveAll(tmp)
				store = tmp
			}
			srv, u, err := stream.StartEmbedded(s.natsPort, store)
			if err != nil {
				return err
			}
			defer srv.Shutdown()
			url = u
			fmt.Fprintf(e.stderr, "dawn: embedded NATS server at %s; publish rows to %q (an empty message ends)\n", url, s.subject)
		}
		nc, err := stream.Connect(url, "dawn explain")
		if err != nil {
			return fmt.Errorf("explain: %w", err)
		}
		defer nc.Close()
		var header []string
		if s.header != "" {
			header = splitList(s.header)
		}
		nr, err := stream.NewNATSReader(ctx, nc, s.subject, fields, header,
			stream.NATSOptions{Stream: s.natsStream, MaxBytes: s.natsBytes, MaxOutage: s.natsOutage})
		if err != nil {
			return err
		}
		defer nr.Close()
		rr = nr
	} else {
		if rr, err = stream.NewReader(e.stdin, fields); err != nil {
			return err
		}
	}
	return stream.Run(ctx, rr, x, s.interval, func(r *stream.Result) error {
		res := r.Result
		switch {
		case f.jsonOut:
			obj := frameJSON(explanationFrame(f, res), res)
			obj["rows"], obj["final"] = r.Rows, r.Final
			b, err := json.Marshal(obj)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "%s\n", b)
			return err
		case f.out != "":
			return mbsql.WriteFile(f.out, explanationFrame(f, res), ',')
		}
		tag := "after"
		if r.Final {
			tag = "end of stream,"
		}
		fmt.Fprintf(e.stdout, "%s %d rows: %.6g outliers of %.6g (decayed)\n", tag, r.Rows, res.Outliers, res.Total)
		return mbsql.WriteTable(e.stdout, explanationFrame(f, res), 0)
	})
}
