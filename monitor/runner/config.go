package runner

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/dawn-ml/dawn/internal/suggest"
	"github.com/dawn-ml/dawn/monitor"
)

// MaxConfigBytes bounds a monitor file.
const MaxConfigBytes = 1 << 20

// Config is a monitor file (docs/monitor.md describes every field).
type Config struct {
	// Name keys the monitor's state in the store (default: the file's
	// base name without extension).
	Name string `yaml:"name"`
	// Model is a model directory or models:/NAME@ALIAS (or /VERSION).
	Model string `yaml:"model"`
	// TrackingURI is the tracking server for models:/ URIs, rollbacks and
	// logging results (default: MLFLOW_TRACKING_URI).
	TrackingURI string `yaml:"tracking_uri"`
	// Experiment is where the monitor's run is logged (default "monitors").
	Experiment string        `yaml:"experiment"`
	Source     SourceConfig  `yaml:"source"`
	Window     WindowConfig  `yaml:"window"`
	Checks     ChecksConfig  `yaml:"checks"`
	Segments   []string      `yaml:"segments"`
	Labels     LabelsConfig  `yaml:"labels"`
	Alerts     AlertsConfig  `yaml:"alerts"`
	Receivers  []Receiver    `yaml:"receivers"`
	Actions    []Action      `yaml:"actions"`
	Seed       uint64        `yaml:"seed"`
	Delivery   DeliverConfig `yaml:"delivery"`
}

// SourceConfig names where the rows come from.
type SourceConfig struct {
	// Path is a prediction-log directory (as `dawn serve --log-dir`
	// writes it), a file, a glob, or an s3://bucket/prefix whose objects
	// (those directly under it) are read like files; files are taken in
	// name order.
	Path string `yaml:"path"`
	// Format forces the files' format (default: by extension).
	Format string `yaml:"format"`
	// Poll is how often the source is listed for new files (default 2 s).
	Poll Duration `yaml:"poll"`
	// Subject is the NATS subject of a nats://host:port Path, whose
	// messages are rows (a JSON object, or JSON lines, each); Stream the
	// JetStream stream that holds it (default: the stream bound to the
	// subject, else DAWN_MONITOR_<subject>, created).
	Subject string `yaml:"subject"`
	Stream  string `yaml:"stream"`
}

// WindowConfig sizes a window: Rows rows, or the rows whose time (the
// prediction log's time column, or TimeColumn) falls in one Duration.
type WindowConfig struct {
	Rows       int      `yaml:"rows"`
	Duration   Duration `yaml:"duration"`
	TimeColumn string   `yaml:"time_column"`
}

// ColumnCheck overrides one column's test or threshold.
type ColumnCheck struct {
	Test      string   `yaml:"test"`
	Threshold *float64 `yaml:"threshold"`
}

// ChecksConfig configures monitor.Check.
type ChecksConfig struct {
	Columns    map[string]ColumnCheck `yaml:"columns"`
	Correction string                 `yaml:"correction"`
	DriftShare float64                `yaml:"drift_share"`
	Ignore     []string               `yaml:"ignore"`
}

// LabelsConfig says where true classes come from: a column of the rows,
// and/or a source of labels that arrive later, joined on the request id
// (docs/monitor.md, "Labels that arrive later").
type LabelsConfig struct {
	// Column names the true classes in the rows; with Source, the joined
	// labels fill it where a row has none (default "true_label").
	Column string `yaml:"column"`
	// Source is a file, directory (that may grow) or glob of labels:
	// CSV, TSV, JSONL or Parquet with IDColumn, LabelColumn and
	// optionally RowColumn.
	Source      string `yaml:"source"`
	Format      string `yaml:"format"`
	IDColumn    string `yaml:"id_column"`    // default request_id
	RowColumn   string `yaml:"row_column"`   // default request_row
	LabelColumn string `yaml:"label_column"` // default label
	// Wait is how long after its evaluation a window's realised
	// performance is recomputed when more of its labels arrive (default
	// 24h; at most the latest MaxRelabelWindows windows are looked at).
	Wait Duration `yaml:"wait"`
}

// MaxRelabelWindows bounds the stored windows a pass re-reads for late
// labels.
const MaxRelabelWindows = 100

// column is the name the joined labels take in a window.
func (l LabelsConfig) column() string {
	if l.Column == "" && l.Source != "" {
		return "true_label"
	}
	return l.Column
}

func (l LabelsConfig) wait() time.Duration {
	if l.Wait <= 0 {
		return 24 * time.Hour
	}
	return l.Wait.D()
}

func (l LabelsConfig) options() monitor.LabelOptions {
	return monitor.LabelOptions{IDColumn: l.IDColumn, RowColumn: l.RowColumn, LabelColumn: l.LabelColumn, Format: l.Format}
}

// AlertsConfig holds the grouping of notifications and the rules.
type AlertsConfig struct {
	GroupBy        []string `yaml:"group_by"`
	GroupWait      Duration `yaml:"group_wait"`
	GroupInterval  Duration `yaml:"group_interval"`
	RepeatInterval Duration `yaml:"repeat_interval"`
	Rules          []Rule   `yaml:"rules"`
}

// Rule raises an alert when a window's check crosses a threshold for For
// windows in a row.
type Rule struct {
	Name string `yaml:"name"`
	// Check is one of Checks; Column narrows the per-column ones.
	Check     string            `yaml:"check"`
	Column    string            `yaml:"column"`
	Op        string            `yaml:"op"`
	Threshold *float64          `yaml:"threshold"`
	For       int               `yaml:"for"`
	Severity  string            `yaml:"severity"`
	Labels    map[string]string `yaml:"labels"`
	Summary   string            `yaml:"summary"`
}

// Receiver is a notification target: a signed webhook or an Alertmanager.
type Receiver struct {
	Name         string        `yaml:"name"`
	Webhook      *WebhookTo    `yaml:"webhook"`
	Alertmanager *Alertmanager `yaml:"alertmanager"`
	// Rules restricts the receiver to alerts of these rules (default all).
	Rules  []string `yaml:"rules"`
	DryRun bool     `yaml:"dry_run"`
}

// WebhookTo is a Standard Webhooks endpoint.
type WebhookTo struct {
	URL string `yaml:"url"`
	// Secret is whsec_ + base64; SecretEnv names an environment variable
	// holding it instead.
	Secret    string `yaml:"secret"`
	SecretEnv string `yaml:"secret_env"`
}

// Alertmanager is a Prometheus Alertmanager (alerts go to POST
// /api/v2/alerts under URL).
type Alertmanager struct {
	URL string `yaml:"url"`
}

// Action runs when a firing notification of its rules arrives: a command,
// or a rollback of a registry alias to the previous version.
type Action struct {
	Name     string    `yaml:"name"`
	Rules    []string  `yaml:"rules"`
	Command  []string  `yaml:"command"`
	Timeout  Duration  `yaml:"timeout"`
	Rollback *Rollback `yaml:"rollback"`
	DryRun   bool      `yaml:"dry_run"`
}

// Rollback moves Alias of registered model Model to the version before
// the one it names.
type Rollback struct {
	Model string `yaml:"model"`
	Alias string `yaml:"alias"`
}

// DeliverConfig bounds delivery.
type DeliverConfig struct {
	MaxAttempts     uint     `yaml:"max_attempts"`
	InitialInterval Duration `yaml:"initial_interval"`
	MaxInterval     Duration `yaml:"max_interval"`
	Timeout         Duration `yaml:"timeout"`
}

// Duration is a time.Duration written as "30s", "5m".
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration such as 30s or 5m", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// D is the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Checks are the values a rule can watch, each with its default
// comparison: per column ones (column_drift, drift_statistic,
// missing_rate, new_categories, out_of_range) raise one alert per column
// unless Column names one.
var Checks = map[string]string{
	"dataset_drift":      ">=", // 1 when the dataset drifts
	"drift_share":        ">=",
	"column_drift":       ">=", // 1 when the column drifts
	"drift_statistic":    ">",
	"prediction_drift":   ">=",
	"estimated_accuracy": "<",
	"actual_accuracy":    "<",
	"missing_rate":       ">",
	"new_categories":     ">",
	"out_of_range":       ">",
	"empty":              ">=",
	"top_segment_risk":   ">",
}

// defaultThreshold is the threshold of the yes/no checks.
var defaultThreshold = map[string]float64{"dataset_drift": 1, "column_drift": 1, "prediction_drift": 1, "empty": 1, "drift_share": 0.5}

// perColumn reports the checks with one value per column.
func perColumn(check string) bool {
	switch check {
	case "column_drift", "drift_statistic", "missing_rate", "new_categories", "out_of_range":
		return true
	}
	return false
}

// LoadConfig reads and validates a monitor file.
func LoadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("monitor config: %w", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if n, err := buf.ReadFrom(io.LimitReader(f, MaxConfigBytes+1)); err != nil {
		return nil, fmt.Errorf("monitor config %s: %w", path, err)
	} else if n > MaxConfigBytes {
		return nil, fmt.Errorf("monitor config %s: larger than %d bytes", path, MaxConfigBytes)
	}
	c, err := ParseConfig(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("monitor config %s: %w", path, err)
	}
	if c.Name == "" {
		base := path[strings.LastIndexAny(path, `/\`)+1:]
		if i := strings.IndexByte(base, '.'); i > 0 {
			base = base[:i]
		}
		c.Name = base
	}
	return c, nil
}

// ParseConfig decodes a monitor file strictly: an unknown key is an error
// naming its line and the nearest known key.
func ParseConfig(b []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, err
	}
	if len(root.Content) == 0 {
		return nil, errors.New("empty file")
	}
	doc := root.Content[0]
	if err := checkKeys(doc, reflect.TypeOf(Config{}), ""); err != nil {
		return nil, err
	}
	var c Config
	if err := doc.Decode(&c); err != nil {
		return nil, err
	}
	if err := c.validate(doc); err != nil {
		return nil, err
	}
	return &c, nil
}

// checkKeys walks a mapping node against a struct type's yaml keys.
func checkKeys(n *yaml.Node, t reflect.Type, at string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if t == reflect.TypeOf(Duration(0)) || n.Kind != yaml.MappingNode {
			return nil // the decoder reports a wrong kind with its line
		}
		keys := map[string]reflect.Type{}
		var names []string
		for i := 0; i < t.NumField(); i++ {
			k, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if k != "" && k != "-" {
				keys[k] = t.Field(i).Type
				names = append(names, k)
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			ft, ok := keys[k.Value]
			if !ok {
				return fmt.Errorf("line %d: unknown key %q in %s%s", k.Line, k.Value, where(at), suggest.Hint(k.Value, names))
			}
			if err := checkKeys(n.Content[i+1], ft, join(at, k.Value)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind == yaml.SequenceNode {
			for i, e := range n.Content {
				if err := checkKeys(e, t.Elem(), fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if err := checkKeys(n.Content[i+1], t.Elem(), join(at, n.Content[i].Value)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func where(at string) string {
	if at == "" {
		return "the monitor"
	}
	return at
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// line finds the line of a dotted key path in doc (0 when absent).
func line(doc *yaml.Node, path ...string) int {
	n := doc
	ln := doc.Line
	for _, p := range path {
		if n.Kind == yaml.SequenceNode {
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i >= len(n.Content) {
				return ln
			}
			n = n.Content[i]
			ln = n.Line
			continue
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == p {
				ln, n, found = n.Content[i].Line, n.Content[i+1], true
				break
			}
		}
		if !found {
			return ln
		}
	}
	return ln
}

func (c *Config) validate(doc *yaml.Node) error {
	errf := func(path []string, format string, args ...any) error {
		return fmt.Errorf("line %d: %s", line(doc, path...), fmt.Sprintf(format, args...))
	}
	if c.Model == "" {
		return errf(nil, "model: required (a model directory or models:/NAME@ALIAS)")
	}
	if c.Source.Path == "" {
		return errf([]string{"source"}, "source.path: required (a prediction-log directory, a file or a glob)")
	}
	nats := strings.HasPrefix(c.Source.Path, "nats://")
	if strings.Contains(c.Source.Path, "://") && !strings.HasPrefix(c.Source.Path, "s3://") && !nats {
		return errf([]string{"source", "path"}, "source.path %q: use a local directory, file or glob, s3://bucket/prefix or nats://host:port", c.Source.Path)
	}
	if nats != (c.Source.Subject != "") {
		return errf([]string{"source"}, "source: a nats:// path needs subject, and subject needs a nats://host:port path")
	}
	switch {
	case c.Window.Rows < 0:
		return errf([]string{"window", "rows"}, "window.rows must be positive, got %d", c.Window.Rows)
	case c.Window.Rows > 0 && c.Window.Duration > 0:
		return errf([]string{"window"}, "window: give rows or duration, not both")
	case c.Window.Rows == 0 && c.Window.Duration == 0:
		return errf([]string{"window"}, "window: give rows (e.g. 10000) or duration (e.g. 1h)")
	case c.Window.Rows > MaxWindowRows:
		return errf([]string{"window", "rows"}, "window.rows %d is above the bound of %d", c.Window.Rows, MaxWindowRows)
	}
	if c.Window.TimeColumn == "" {
		c.Window.TimeColumn = "time"
	}
	for col, cc := range c.Checks.Columns {
		if cc.Test != "" {
			if _, err := monitor.ParseTest(cc.Test); err != nil {
				return errf([]string{"checks", "columns", col, "test"}, "checks.columns.%s.test: %v", col, err)
			}
		}
	}
	switch c.Checks.Correction {
	case "", "none", "bonferroni", "fdr":
	default:
		return errf([]string{"checks", "correction"}, "checks.correction %q: want bonferroni or fdr%s", c.Checks.Correction,
			suggest.Hint(c.Checks.Correction, []string{"bonferroni", "fdr", "none"}))
	}
	if s := c.Checks.DriftShare; s < 0 || s > 1 {
		return errf([]string{"checks", "drift_share"}, "checks.drift_share %g: want a share in [0, 1]", s)
	}
	checkNames := make([]string, 0, len(Checks))
	for k := range Checks {
		checkNames = append(checkNames, k)
	}
	slices.Sort(checkNames)
	rules := map[string]bool{}
	for i := range c.Alerts.Rules {
		r := &c.Alerts.Rules[i]
		p := []string{"alerts", "rules", fmt.Sprint(i)}
		if r.Name == "" {
			return errf(p, "alerts.rules[%d]: name required", i)
		}
		if rules[r.Name] {
			return errf(p, "alerts.rules[%d]: rule %q named twice", i, r.Name)
		}
		rules[r.Name] = true
		op, ok := Checks[r.Check]
		if !ok {
			return errf(append(p, "check"), "rule %s: unknown check %q%s (one of %s)", r.Name, r.Check, suggest.Hint(r.Check, checkNames), strings.Join(checkNames, ", "))
		}
		if r.Column != "" && !perColumn(r.Check) {
			return errf(append(p, "column"), "rule %s: check %s is not per column", r.Name, r.Check)
		}
		if r.Op == "" {
			r.Op = op
		}
		switch r.Op {
		case ">", ">=", "<", "<=":
		default:
			return errf(append(p, "op"), "rule %s: op %q: want >, >=, < or <=", r.Name, r.Op)
		}
		if r.Threshold == nil {
			th, ok := defaultThreshold[r.Check]
			if !ok {
				return errf(p, "rule %s: check %s needs a threshold", r.Name, r.Check)
			}
			r.Threshold = &th
		}
		if r.For < 0 {
			return errf(append(p, "for"), "rule %s: for must be at least 1 window", r.Name)
		}
		if r.For == 0 {
			r.For = 1
		}
		if r.Severity == "" {
			r.Severity = "warning"
		}
	}
	names := map[string]bool{}
	checkRules := func(p []string, what, name string, rs []string) error {
		for _, rn := range rs {
			if !rules[rn] {
				return errf(p, "%s %s: unknown rule %q", what, name, rn)
			}
		}
		return nil
	}
	for i := range c.Receivers {
		r := &c.Receivers[i]
		p := []string{"receivers", fmt.Sprint(i)}
		if r.Name == "" || names[r.Name] {
			return errf(p, "receivers[%d]: a unique name is required", i)
		}
		names[r.Name] = true
		if (r.Webhook == nil) == (r.Alertmanager == nil) {
			return errf(p, "receiver %s: give exactly one of webhook or alertmanager", r.Name)
		}
		if r.Webhook != nil {
			if !strings.HasPrefix(r.Webhook.URL, "http://") && !strings.HasPrefix(r.Webhook.URL, "https://") {
				return errf(append(p, "webhook", "url"), "receiver %s: webhook.url %q must be http:// or https://", r.Name, r.Webhook.URL)
			}
			if r.Webhook.Secret == "" && r.Webhook.SecretEnv == "" {
				return errf(append(p, "webhook"), "receiver %s: webhook needs secret or secret_env", r.Name)
			}
		}
		if r.Alertmanager != nil && !strings.HasPrefix(r.Alertmanager.URL, "http") {
			return errf(append(p, "alertmanager", "url"), "receiver %s: alertmanager.url %q must be http:// or https://", r.Name, r.Alertmanager.URL)
		}
		if err := checkRules(p, "receiver", r.Name, r.Rules); err != nil {
			return err
		}
	}
	for i := range c.Actions {
		a := &c.Actions[i]
		p := []string{"actions", fmt.Sprint(i)}
		if a.Name == "" || names[a.Name] {
			return errf(p, "actions[%d]: a name unique among receivers and actions is required", i)
		}
		names[a.Name] = true
		if (len(a.Command) == 0) == (a.Rollback == nil) {
			return errf(p, "action %s: give exactly one of command or rollback", a.Name)
		}
		if a.Rollback != nil && (a.Rollback.Model == "" || a.Rollback.Alias == "") {
			return errf(append(p, "rollback"), "action %s: rollback needs model and alias", a.Name)
		}
		if err := checkRules(p, "action", a.Name, a.Rules); err != nil {
			return err
		}
	}
	return nil
}

// MaxWindowRows bounds a window (rows are held in memory while it fills).
const MaxWindowRows = 10_000_000
