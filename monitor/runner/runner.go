package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/dawn-ml/dawn/alert"
	"github.com/dawn-ml/dawn/artifact/s3"
	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/explain"
	"github.com/dawn-ml/dawn/model"
	"github.com/dawn-ml/dawn/monitor"
	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/webhook"
)

// Runner runs one monitor.
type Runner struct {
	cfg     *Config
	profile *monitor.Profile
	model   model.Model
	store   tracking.MonitorStore
	// Tracking, when set, receives one run per monitor with metrics per
	// window (step = the window's index).
	Tracking *tracking.Client
	// Registry moves aliases for rollback actions (default: Tracking).
	Registry Registry
	// Out receives the dry-run lines and a line per window.
	Out io.Writer
	Log *slog.Logger
	// Now is the clock (time.Now when nil).
	Now     func() time.Time
	Metrics *Metrics
	// S3 overrides the endpoint and credentials of an s3:// source; what
	// it leaves empty comes from the AWS environment.
	S3 s3.Options

	st       tracking.MonitorState
	alerts   alertState
	disp     *alert.Dispatcher
	pos      position
	queue    []piece // rows read, not yet in a window
	queued   int
	files    []string // files after pos, not yet read, in order
	listed   string   // the last file put in files
	lastTime float64  // the newest row time evaluated (unix s; NaN: none)
	// actualWindow is the newest window whose realised accuracy the
	// metrics show (-1: none yet).
	actualWindow int64
	goneLogged   bool // errRowsGone was logged

	labels    *monitor.Labels // from Config.Labels.Source; nil without one
	labelsSig string          // the listing labels was read from
	s3        *s3.Repo        // an s3:// source, once opened
	nats      *natsSource     // a nats:// source, once opened
}

// Registry is what a rollback needs of the tracking server.
type Registry interface {
	GetModelVersionByAlias(ctx context.Context, name, alias string) (*tracking.ModelVersion, error)
	SearchModelVersions(ctx context.Context, filter string, orderBy []string, maxResults int, pageToken string) ([]tracking.ModelVersion, string, error)
	SetRegisteredModelAlias(ctx context.Context, name, alias, version string) error
}

// position is where the monitor stands in its source: File's first Row
// rows are consumed (files sort by name, oldest first). For a NATS
// source File is the subject and Row a stream sequence: the messages up
// to Row are consumed, or, with Part > 0, those before Row and the first
// Part rows of message Row (a message of JSON lines may be cut by a
// window).
type position struct {
	File string `json:"file"`
	Row  int    `json:"row"`
	Part int    `json:"part,omitempty"`
}

func (p position) String() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// piece is rows of one file, with the position just after them.
type piece struct {
	f     *explain.Frame
	from  position
	after position
}

// New makes a runner for cfg over store. The model and its profile are
// loaded by the caller (a model directory, or models:/ fetched).
func New(ctx context.Context, cfg *Config, p *monitor.Profile, m model.Model, store tracking.MonitorStore) (*Runner, error) {
	r := &Runner{cfg: cfg, profile: p, model: m, store: store, Out: io.Discard, Log: slog.New(slog.DiscardHandler), lastTime: math.NaN(), actualWindow: -1}
	st, err := store.MonitorState(ctx, cfg.Name)
	if err != nil {
		return nil, err
	}
	r.st = *st
	if r.st.Position != "" {
		if err := json.Unmarshal([]byte(r.st.Position), &r.pos); err != nil {
			return nil, fmt.Errorf("monitor %s: stored position %q: %w", cfg.Name, r.st.Position, err)
		}
	}
	r.alerts = alertState{Streak: map[string]int{}, Firing: map[string]*alert.Alert{}}
	if len(r.st.Alerts) > 0 {
		if err := json.Unmarshal(r.st.Alerts, &r.alerts); err != nil {
			return nil, fmt.Errorf("monitor %s: stored alert state: %w", cfg.Name, err)
		}
		if r.alerts.Streak == nil {
			r.alerts.Streak = map[string]int{}
		}
		if r.alerts.Firing == nil {
			r.alerts.Firing = map[string]*alert.Alert{}
		}
	}
	a := cfg.Alerts
	r.disp = alert.NewDispatcher(alert.Route{Receiver: cfg.Name, GroupBy: a.GroupBy, GroupWait: a.GroupWait.D(),
		GroupInterval: a.GroupInterval.D(), RepeatInterval: a.RepeatInterval.D()})
	r.disp.Restore(r.alerts.Groups)
	return r, nil
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Position is the source position after the last committed window.
func (r *Runner) Position() string { return r.st.Position }

// NextWindow is the index the next window gets.
func (r *Runner) NextWindow() int64 { return r.st.NextWindow }

// Run follows the source until ctx ends (or, with once, until the rows
// present now are used up and the due notifications are delivered).
func (r *Runner) Run(ctx context.Context, once bool) error {
	if err := r.startRun(ctx); err != nil {
		return err
	}
	poll := r.cfg.Source.Poll.D()
	if poll <= 0 {
		poll = 2 * time.Second
	}
	for {
		if err := r.Step(ctx, once); err != nil {
			return err
		}
		if once {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(poll):
		}
	}
}

// Step makes one pass: read new files, evaluate every complete window,
// flush due notifications and deliver the outbox. With final, the group
// waits count as elapsed (a one-shot run has nobody to wait for).
func (r *Runner) Step(ctx context.Context, final bool) error {
	if err := r.delivery(ctx); err != nil { // what an earlier run left queued
		return err
	}
	if isNATS(r.cfg.Source.Path) {
		if err := r.pullNATS(ctx); err != nil {
			return err
		}
	} else if err := r.list(ctx); err != nil {
		return err
	}
	relabel, err := r.refreshLabels()
	if err != nil {
		return err
	}
	if relabel {
		// Before the new windows, so that those are not re-read.
		if err := r.relabel(ctx); err != nil {
			return err
		}
		if err := r.delivery(ctx); err != nil {
			return err
		}
	}
	for {
		w, ok, err := r.nextWindow(ctx)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if err := r.evaluate(ctx, w); err != nil {
			return err
		}
		if err := r.delivery(ctx); err != nil {
			return err
		}
	}
	now := r.now()
	if final {
		now = now.Add(r.disp.Route.GroupWait)
	}
	if err := r.commit(ctx, nil, r.disp.Flush(now)); err != nil {
		return err
	}
	if r.Metrics != nil {
		r.Metrics.pending.WithLabelValues(r.cfg.Name).Set(float64(r.queued))
		if !math.IsNaN(r.lastTime) {
			r.Metrics.lag.WithLabelValues(r.cfg.Name).Set(max(0, float64(r.now().UnixMicro())/1e6-r.lastTime))
		}
	}
	return r.delivery(ctx)
}

// list finds the files after the position that are not yet queued.
func (r *Runner) list(ctx context.Context) error {
	files, err := r.sourceFiles(ctx)
	if err != nil {
		return fmt.Errorf("monitor %s: source: %w", r.cfg.Name, err)
	}
	for _, f := range files {
		if (r.listed == "" && f >= r.pos.File) || (r.listed != "" && f > r.listed) {
			r.files = append(r.files, f)
			r.listed = f
		}
	}
	return nil
}

// readNext reads the next listed file into the queue.
func (r *Runner) readNext(ctx context.Context) (bool, error) {
	if len(r.files) == 0 {
		return false, nil
	}
	name := r.files[0]
	f, err := r.readFile(ctx, name)
	if err != nil {
		return false, err
	}
	r.files = r.files[1:]
	if err != nil {
		return false, err
	}
	start := 0
	if name == r.pos.File {
		start = min(r.pos.Row, f.Rows)
	}
	if start < f.Rows {
		r.queue = append(r.queue, piece{f: f.Slice(start, f.Rows), from: position{File: name, Row: start}, after: position{File: name, Row: f.Rows}})
		r.queued += f.Rows - start
	}
	return true, nil
}

// readFile reads one file of the source.
func (r *Runner) readFile(ctx context.Context, name string) (*explain.Frame, error) {
	local, done, err := r.fetch(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("monitor %s: source: %w", r.cfg.Name, err)
	}
	defer done()
	return r.readLocal(local, name)
}

// readLocal reads a local copy of source file name.
func (r *Runner) readLocal(local, name string) (*explain.Frame, error) {
	opt := explain.ReadOptions{Kinds: map[string]explain.Kind{r.cfg.Window.TimeColumn: explain.Number}}
	if c := r.cfg.Labels.column(); c != "" {
		opt.Kinds[c] = explain.String
	}
	if r.cfg.Labels.Source != "" {
		opt.Kinds[r.cfg.Labels.options().WithDefaults().IDColumn] = explain.String
	}
	if r.cfg.Source.Format != "" {
		opt.Data = data.Options{Format: data.Format(r.cfg.Source.Format)}
	}
	f, err := explain.ReadFrame(local, opt)
	if err != nil {
		// A file without a time column is read without its forced kind,
		// and one without the labels' columns without theirs.
		delete(opt.Kinds, r.cfg.Window.TimeColumn)
		var err2 error
		if f, err2 = explain.ReadFrame(local, opt); err2 != nil {
			opt.Kinds = nil
			if f, err2 = explain.ReadFrame(local, opt); err2 != nil {
				return nil, fmt.Errorf("monitor %s: %w", r.cfg.Name, err)
			}
		}
	}
	return f, nil
}

// window is the rows of one window with their bounds.
type window struct {
	f          *explain.Frame
	from, to   position
	start, end float64 // row times, unix s (NaN: none)
}

// nextWindow cuts the next complete window from the queue, reading files
// as needed; ok is false when the rows present do not complete one.
func (r *Runner) nextWindow(ctx context.Context) (window, bool, error) {
	for {
		if cut, ok := r.cut(); ok {
			return r.take(cut), true, nil
		}
		more, err := r.readNext(ctx)
		if err != nil || !more {
			return window{}, false, err
		}
	}
}

// cut finds where the first complete window ends in the queue: (piece,
// row) of the first row after it.
type cutAt struct{ piece, row int }

func (r *Runner) cut() (cutAt, bool) {
	if n := r.cfg.Window.Rows; n > 0 {
		if r.queued < n {
			return cutAt{}, false
		}
		for i, p := range r.queue {
			if n <= p.f.Rows {
				return cutAt{i, n}, true
			}
			n -= p.f.Rows
		}
		return cutAt{}, false
	}
	d := r.cfg.Window.Duration.D().Seconds()
	var end float64 = math.NaN()
	seen := 0
	for i, p := range r.queue {
		tc, err := p.f.Col(r.cfg.Window.TimeColumn)
		if err != nil || tc.Num == nil {
			continue // rows without times join the window they arrive in
		}
		for j, t := range tc.Num {
			if math.IsNaN(t) {
				continue
			}
			if math.IsNaN(end) {
				end = (math.Floor(t/d) + 1) * d
			}
			if t >= end || seen+j >= MaxWindowRows {
				return cutAt{i, j}, true
			}
		}
		seen += p.f.Rows
	}
	return cutAt{}, false
}

func (r *Runner) take(c cutAt) window {
	var parts []*explain.Frame
	w := window{start: math.NaN(), end: math.NaN(), from: r.queue[0].from}
	for i := 0; i < c.piece; i++ {
		parts = append(parts, r.queue[i].f)
		w.to = r.queue[i].after
	}
	rest := r.queue[c.piece:]
	if c.row > 0 {
		p := rest[0]
		parts = append(parts, p.f.Slice(0, c.row))
		w.to = position{File: p.from.File, Row: p.from.Row + c.row}
		if c.row == p.f.Rows {
			rest = rest[1:]
		} else {
			rest[0] = piece{f: p.f.Slice(c.row, p.f.Rows), from: w.to, after: p.after}
		}
	}
	r.queue = append([]piece(nil), rest...)
	f, err := explain.Stack(parts, nil)
	if err != nil { // files with different columns: evaluate them apart
		f = parts[0]
	}
	w.f = f
	r.queued -= f.Rows
	if tc, err := f.Col(r.cfg.Window.TimeColumn); err == nil && tc.Num != nil {
		for _, t := range tc.Num {
			if !math.IsNaN(t) {
				if math.IsNaN(w.start) || t < w.start {
					w.start = t
				}
				if math.IsNaN(w.end) || t > w.end {
					w.end = t
				}
			}
		}
	}
	return w
}

func (r *Runner) options() monitor.Options {
	c := r.cfg.Checks
	opt := monitor.Options{Model: r.model, Labels: r.cfg.Labels.column(), Segments: r.cfg.Segments, Correction: c.Correction,
		DriftShare: c.DriftShare, Seed: r.cfg.Seed, Tests: map[string]monitor.Test{}, Thresholds: map[string]float64{}}
	// The prediction log's own columns are not inputs.
	opt.Ignore = append([]string{"time", "model_version", "latency_ms", "request_id", "request_row", natsSeqColumn}, c.Ignore...)
	for col, cc := range c.Columns {
		if cc.Test != "" {
			opt.Tests[col] = monitor.Test(strings.ToLower(cc.Test))
		}
		if cc.Threshold != nil {
			opt.Thresholds[col] = *cc.Threshold
		}
	}
	return opt
}

func millis(t float64) int64 {
	if math.IsNaN(t) {
		return 0
	}
	return int64(math.Round(t * 1000))
}

func (r *Runner) evaluate(ctx context.Context, w window) error {
	f := w.f
	if r.labels != nil {
		var err error
		if f, _, err = r.labels.Join(f, r.cfg.Labels.column()); err != nil {
			return fmt.Errorf("monitor %s: window %d: %w", r.cfg.Name, r.st.NextWindow, err)
		}
	}
	if isNATS(r.cfg.Source.Path) {
		// Rows of a subject are positioned by stream sequence.
		w.from, w.to = r.natsWindow(w.f, w.from, w.to)
	}
	rep, err := monitor.Check(ctx, r.profile, f, r.options())
	if err != nil {
		return fmt.Errorf("monitor %s: window %d (%s to %s): %w", r.cfg.Name, r.st.NextWindow, w.from, w.to, err)
	}
	body, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	idx := r.st.NextWindow
	now := r.now()
	r.rules(rep, idx, now, false)
	rec := &tracking.MonitorWindow{Index: idx, Start: millis(w.start), End: millis(w.end), Rows: int64(w.f.Rows),
		From: w.from.String(), To: w.to.String(), Report: body}
	r.pos = w.to
	r.st.Position = w.to.String()
	r.st.NextWindow = idx + 1
	if err := r.commit(ctx, rec, r.disp.Flush(now)); err != nil {
		return err
	}
	if r.nats != nil {
		r.ackNATS(ctx, w.to)
	}
	if !math.IsNaN(w.end) {
		r.lastTime = w.end
	}
	if rep.Performance.Actual != nil {
		r.actualWindow = idx
	}
	r.Metrics.observe(r.cfg.Name, rep, len(r.alerts.Firing))
	verdict := "no drift"
	if rep.Drift.DatasetDrift {
		verdict = "DATASET DRIFT"
	}
	fmt.Fprintf(r.Out, "window %d: %d rows, %s (share %.2f), %d alerts firing\n", idx, rep.Rows, verdict, rep.Drift.Share, len(r.alerts.Firing))
	r.logTracking(ctx, idx, rep, now, false)
	return nil
}

// commit stores the state, the window (if any) and the notifications.
func (r *Runner) commit(ctx context.Context, w *tracking.MonitorWindow, ns []alert.Notification) error {
	if w == nil && len(ns) == 0 {
		return nil
	}
	out, err := r.prepare(ns)
	if err != nil {
		return err
	}
	return r.store.CommitMonitor(ctx, r.cfg.Name, r.st, w, out)
}

// commitState stores the state alone.
func (r *Runner) commitState(ctx context.Context) error {
	if _, err := r.prepare(nil); err != nil {
		return err
	}
	return r.store.CommitMonitor(ctx, r.cfg.Name, r.st, nil, nil)
}

// commitRecomputed replaces stored window idx's report with report and
// stores the state and the notifications, in one transaction.
func (r *Runner) commitRecomputed(ctx context.Context, idx int64, report []byte, ns []alert.Notification) error {
	out, err := r.prepare(ns)
	if err != nil {
		return err
	}
	return r.store.UpdateMonitorWindow(ctx, r.cfg.Name, r.st, idx, report, out)
}

// prepare encodes the alert state into r.st and makes the outbox messages
// of ns.
func (r *Runner) prepare(ns []alert.Notification) ([]tracking.MonitorNotification, error) {
	r.alerts.Groups = r.disp.State()
	b, err := json.Marshal(r.alerts)
	if err != nil {
		return nil, fmt.Errorf("monitor %s: alert state: %w", r.cfg.Name, err)
	}
	r.st.Alerts = b
	return r.outbox(ns)
}

// target is a receiver or an action.
type target struct {
	name   string
	rules  []string
	dryRun bool
	recv   *Receiver
	act    *Action
}

func (r *Runner) targets() []target {
	var ts []target
	for i := range r.cfg.Receivers {
		x := &r.cfg.Receivers[i]
		ts = append(ts, target{name: x.Name, rules: x.Rules, dryRun: x.DryRun, recv: x})
	}
	for i := range r.cfg.Actions {
		x := &r.cfg.Actions[i]
		ts = append(ts, target{name: x.Name, rules: x.Rules, dryRun: x.DryRun, act: x})
	}
	return ts
}

// outbox makes one queued message per notification and target whose
// rules it concerns. Actions take only firing alerts.
func (r *Runner) outbox(ns []alert.Notification) ([]tracking.MonitorNotification, error) {
	var out []tracking.MonitorNotification
	// Notification ids are per group; the monitor's name keeps monitors
	// sharing a receiver apart.
	suffix := "_" + alert.Fingerprint(map[string]string{"monitor": r.cfg.Name})[:8]
	for _, n := range ns {
		for _, t := range r.targets() {
			m := n
			m.Alerts = nil
			for _, a := range n.Alerts {
				if (len(t.rules) == 0 || contains(t.rules, a.Labels["alertname"])) && (t.act == nil || a.Status == "firing") {
					m.Alerts = append(m.Alerts, a)
				}
			}
			if len(m.Alerts) == 0 || (t.act != nil && n.Status != "firing") {
				continue
			}
			body, err := json.Marshal(m)
			if err != nil {
				return nil, err
			}
			out = append(out, tracking.MonitorNotification{ID: n.ID + suffix, Receiver: t.name, Payload: body})
		}
	}
	return out, nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Window is one evaluated window, as `dawn monitor report` renders it.
type Window struct {
	Index      int64           `json:"index"`
	Start, End time.Time       `json:"-"`
	Rows       int64           `json:"rows"`
	Report     *monitor.Report `json:"report"`
}

// Page is the latest windows of a monitor's history, oldest first, with
// what came before them.
type Page struct {
	Windows []Window
	// Older is how many windows were stored before Windows[0]; OlderRows
	// their rows.
	Older, OlderRows int64
}

// History returns the latest last windows stored for a monitor (all of
// them when last is 0), read with a bounded query.
func History(ctx context.Context, store tracking.MonitorStore, monitorName string, last int) (*Page, error) {
	pg := &Page{}
	err := store.MonitorWindows(ctx, monitorName, last, func(w tracking.MonitorWindow) error {
		var rep monitor.Report
		if err := json.Unmarshal(w.Report, &rep); err != nil {
			return fmt.Errorf("monitor %s: window %d: stored report: %w", monitorName, w.Index, err)
		}
		hw := Window{Index: w.Index, Rows: w.Rows, Report: &rep}
		if w.Start != 0 || w.End != 0 {
			hw.Start, hw.End = time.UnixMilli(w.Start).UTC(), time.UnixMilli(w.End).UTC()
		}
		pg.Windows = append(pg.Windows, hw)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if last <= 0 || len(pg.Windows) == 0 {
		return pg, nil
	}
	pg.Older, pg.OlderRows, err = store.MonitorWindowTotals(ctx, monitorName, pg.Windows[0].Index)
	if err != nil {
		return nil, err
	}
	return pg, nil
}

// delivery sends every pending message of the outbox.
func (r *Runner) delivery(ctx context.Context) error {
	pend, err := r.store.PendingMonitorNotifications(ctx, r.cfg.Name)
	if err != nil {
		return err
	}
	if r.Metrics != nil {
		r.Metrics.outbox.WithLabelValues(r.cfg.Name).Set(float64(len(pend)))
	}
	ts := map[string]target{}
	for _, t := range r.targets() {
		ts[t.name] = t
	}
	for _, n := range pend {
		if ctx.Err() != nil {
			return nil
		}
		t, ok := ts[n.Receiver]
		if !ok {
			r.Log.Warn("monitor: queued notification for a receiver no longer configured", "id", n.ID, "receiver", n.Receiver)
			continue
		}
		if err := r.deliver(ctx, t, n); err != nil {
			return err
		}
	}
	return nil
}

// attemptsPerPass bounds a webhook's attempts in one pass.
const attemptsPerPass = 3

func (r *Runner) record(ctx context.Context, t target, n tracking.MonitorNotification, status int, err error, final bool) error {
	d := tracking.MonitorDelivery{ID: n.ID, Receiver: t.name, Attempt: n.Attempts + 1, Time: r.now().UnixMilli(), Status: status, Delivered: err == nil}
	if err != nil {
		d.Error = err.Error()
	}
	if rerr := r.store.RecordMonitorDelivery(ctx, r.cfg.Name, d); rerr != nil {
		return rerr
	}
	if err != nil && (final || uint(n.Attempts+1) >= r.maxAttempts()) {
		return r.store.RecordMonitorDelivery(ctx, r.cfg.Name, tracking.MonitorDelivery{ID: n.ID, Receiver: t.name, Time: d.Time, Error: "given up: " + d.Error, Final: true})
	}
	return nil
}

func (r *Runner) maxAttempts() uint {
	if n := r.cfg.Delivery.MaxAttempts; n > 0 {
		return n
	}
	return 8
}

func (r *Runner) deliver(ctx context.Context, t target, n tracking.MonitorNotification) error {
	var note alert.Notification
	if err := json.Unmarshal(n.Payload, &note); err != nil {
		return r.record(ctx, t, n, 0, fmt.Errorf("corrupt queued payload: %w", err), true)
	}
	if t.dryRun {
		fmt.Fprintf(r.Out, "dry run: %s would get %s (%s, %d alerts)%s\n", t.name, n.ID, note.Status, len(note.Alerts), r.describe(t))
		return r.record(ctx, t, n, 0, nil, false)
	}
	switch {
	case t.recv != nil && t.recv.Webhook != nil:
		wh := t.recv.Webhook
		secret := wh.Secret
		if wh.SecretEnv != "" {
			secret = os.Getenv(wh.SecretEnv)
		}
		key, err := webhook.ParseSecret(secret)
		if err != nil {
			return fmt.Errorf("monitor %s: receiver %s: %w", r.cfg.Name, t.name, err)
		}
		d := r.cfg.Delivery
		// A pass makes at most attemptsPerPass attempts, so that a receiver
		// that is down delays the next windows by a few backoffs, not by the
		// whole retry budget; the rest are made in later passes.
		left := r.maxAttempts() - uint(min(n.Attempts, int(r.maxAttempts())))
		rec := &tracking.DeliveryRecorder{Receiver: t.name, Base: n.Attempts, Record: func(a tracking.MonitorDelivery) error {
			return r.store.RecordMonitorDelivery(ctx, r.cfg.Name, a)
		}}
		s := &webhook.Sender{Key: key, Log: rec, MaxAttempts: max(min(left, attemptsPerPass), 1), Timeout: d.Timeout.D(),
			InitialInterval: d.InitialInterval.D(), MaxInterval: d.MaxInterval.D(), Now: r.Now}
		err = s.Send(ctx, wh.URL, n.ID, n.Payload)
		if err == nil || ctx.Err() != nil {
			return nil // delivered, or stopping: the message stays queued
		}
		var se *webhook.StatusError
		refused := errors.As(err, &se) && se.Status < 500 && se.Status != http.StatusTooManyRequests && se.Status != http.StatusRequestTimeout
		if !refused && uint(n.Attempts+rec.N) < r.maxAttempts() {
			r.Log.Warn("monitor: webhook delivery failed; retrying in the next pass", "receiver", t.name, "id", n.ID, "err", err)
			return nil
		}
		r.Log.Error("monitor: webhook delivery given up", "receiver", t.name, "id", n.ID, "err", err)
		return r.store.RecordMonitorDelivery(ctx, r.cfg.Name, tracking.MonitorDelivery{ID: n.ID, Receiver: t.name,
			Time: r.now().UnixMilli(), Error: "given up: " + err.Error(), Final: true})
	case t.recv != nil && t.recv.Alertmanager != nil:
		alerts := make([]alert.Alert, len(note.Alerts))
		for i, s := range note.Alerts {
			alerts[i] = s.Alert
			if s.Status == "resolved" && alerts[i].EndsAt.IsZero() {
				alerts[i].EndsAt = r.now()
			}
		}
		err := alert.PostAlertmanager(ctx, nil, t.recv.Alertmanager.URL, alerts)
		return r.record(ctx, t, n, 0, err, err != nil && strings.Contains(err.Error(), " answered 4"))
	case t.act != nil && len(t.act.Command) > 0:
		return r.record(ctx, t, n, 0, r.command(ctx, t.act, n), false)
	case t.act != nil && t.act.Rollback != nil:
		return r.record(ctx, t, n, 0, r.rollback(ctx, t.act.Rollback, n), false)
	}
	return nil
}

func (r *Runner) describe(t target) string {
	switch {
	case t.recv != nil && t.recv.Webhook != nil:
		return ": POST " + t.recv.Webhook.URL
	case t.recv != nil && t.recv.Alertmanager != nil:
		return ": POST " + strings.TrimRight(t.recv.Alertmanager.URL, "/") + "/api/v2/alerts"
	case t.act != nil && len(t.act.Command) > 0:
		return ": run " + strings.Join(t.act.Command, " ")
	case t.act != nil && t.act.Rollback != nil:
		return fmt.Sprintf(": move models:/%s@%s back to the previous version", t.act.Rollback.Model, t.act.Rollback.Alias)
	}
	return ""
}

// command runs an action's command with the notification on stdin and
// its id, status and monitor in DAWN_NOTIFICATION_ID, DAWN_ALERT_STATUS
// and DAWN_MONITOR; a non-zero exit is a failed attempt.
func (r *Runner) command(ctx context.Context, a *Action, n tracking.MonitorNotification) error {
	to := a.Timeout.D()
	if to <= 0 {
		to = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, to)
	defer cancel()
	var note alert.Notification
	_ = json.Unmarshal(n.Payload, &note)
	cmd := exec.CommandContext(ctx, a.Command[0], a.Command[1:]...)
	cmd.Stdin = bytes.NewReader(n.Payload)
	cmd.Env = append(os.Environ(), "DAWN_NOTIFICATION_ID="+n.ID, "DAWN_ALERT_STATUS="+note.Status, "DAWN_MONITOR="+r.cfg.Name)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 500 {
			msg = msg[len(msg)-500:]
		}
		return fmt.Errorf("action %s: %w: %s", a.Name, err, msg)
	}
	return nil
}

// rollback moves the alias to the highest version below the one it names.
// A retry after the move was made but not recorded finds the alias
// already at the planned version (the plan is recorded before the move)
// and does not move it again.
func (r *Runner) rollback(ctx context.Context, rb *Rollback, n tracking.MonitorNotification) error {
	reg := r.Registry
	if reg == nil {
		if r.Tracking == nil {
			return errors.New("rollback needs tracking_uri")
		}
		reg = r.Tracking
	}
	cur, err := reg.GetModelVersionByAlias(ctx, rb.Model, rb.Alias)
	if err != nil {
		return fmt.Errorf("rollback %s@%s: %w", rb.Model, rb.Alias, err)
	}
	plans, err := r.store.MonitorDeliveries(ctx, r.cfg.Name)
	if err != nil {
		return err
	}
	for _, p := range plans {
		if p.ID == n.ID && strings.HasPrefix(p.Error, "planned: ") && strings.HasSuffix(p.Error, " to "+cur.Version) {
			return nil // moved by an earlier attempt
		}
	}
	curN, err := strconv.Atoi(cur.Version)
	if err != nil {
		return fmt.Errorf("rollback %s@%s: version %q is not a number", rb.Model, rb.Alias, cur.Version)
	}
	prev := -1
	token := ""
	for {
		vs, next, err := reg.SearchModelVersions(ctx, fmt.Sprintf("name='%s'", strings.ReplaceAll(rb.Model, "'", "''")), nil, 1000, token)
		if err != nil {
			return fmt.Errorf("rollback %s: %w", rb.Model, err)
		}
		for _, v := range vs {
			if k, err := strconv.Atoi(v.Version); err == nil && k < curN && k > prev {
				prev = k
			}
		}
		if next == "" {
			break
		}
		token = next
	}
	if prev < 0 {
		return fmt.Errorf("rollback %s@%s: version %s has no earlier version", rb.Model, rb.Alias, cur.Version)
	}
	to := strconv.Itoa(prev)
	if err := r.store.RecordMonitorDelivery(ctx, r.cfg.Name, tracking.MonitorDelivery{ID: n.ID, Receiver: "rollback", Attempt: n.Attempts + 1,
		Time: r.now().UnixMilli(), Error: fmt.Sprintf("planned: %s@%s from %s to %s", rb.Model, rb.Alias, cur.Version, to)}); err != nil {
		return err
	}
	if err := reg.SetRegisteredModelAlias(ctx, rb.Model, rb.Alias, to); err != nil {
		return fmt.Errorf("rollback %s@%s to %s: %w", rb.Model, rb.Alias, to, err)
	}
	fmt.Fprintf(r.Out, "rolled back models:/%s@%s from version %s to %s\n", rb.Model, rb.Alias, cur.Version, to)
	return nil
}
