package runner

import (
	"strings"
	"testing"
)

const good = `name: spam
model: models:/spam@champion
source: {path: logs/}
window: {rows: 1000}
checks:
  correction: fdr
  columns:
    n: {test: psi, threshold: 0.25}
alerts:
  rules:
    - {name: Drift, check: dataset_drift}
    - {name: Acc, check: estimated_accuracy, threshold: 0.8, for: 2}
receivers:
  - name: ops
    webhook: {url: "http://127.0.0.1:9/hook", secret_env: HOOK_SECRET}
    rules: [Drift]
actions:
  - {name: back, rules: [Acc], rollback: {model: spam, alias: champion}, dry_run: true}
`

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Alerts.Rules
	if r[0].Op != ">=" || *r[0].Threshold != 1 || r[0].For != 1 || r[0].Severity != "warning" {
		t.Errorf("defaults of rule Drift: %+v", r[0])
	}
	if r[1].Op != "<" || *r[1].Threshold != 0.8 || r[1].For != 2 {
		t.Errorf("rule Acc: %+v", r[1])
	}
	if c.Window.TimeColumn != "time" || !c.Actions[0].DryRun || *c.Checks.Columns["n"].Threshold != 0.25 {
		t.Errorf("config %+v", c)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ name, from, to, want string }{
		{"typo with hint", "window:", "windw:", "line 4: unknown key \"windw\" in the monitor (did you mean \"window\"?)"},
		{"nested typo", "correction:", "corection:", "line 6: unknown key \"corection\" in checks (did you mean \"correction\"?)"},
		{"unknown check", "check: dataset_drift}", "check: datset_drift}", "line 11: rule Drift: unknown check \"datset_drift\" (did you mean \"dataset_drift\"?)"},
		{"no threshold", "check: estimated_accuracy, threshold: 0.8,", "check: estimated_accuracy,", "rule Acc: check estimated_accuracy needs a threshold"},
		{"bad duration", "window: {rows: 1000}", "window: {duration: soon}", "line 4: \"soon\" is not a duration"},
		{"both windows", "window: {rows: 1000}", "window: {rows: 1000, duration: 1h}", "window: give rows or duration, not both"},
		{"bad test", "test: psi", "test: pis", "checks.columns.n.test: monitor: unknown test \"pis\""},
		{"unknown rule", "rules: [Drift]", "rules: [Drfit]", "receiver ops: unknown rule \"Drfit\""},
		{"remote source", "path: logs/", "path: gs://b/p", "s3://bucket/prefix or nats://host:port"},
		{"nats without subject", "path: logs/", "path: nats://127.0.0.1:4222", "a nats:// path needs subject"},
		{"bad op", "for: 2}", "for: 2, op: \"=\"}", "rule Acc: op \"=\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(good, tc.from) {
				t.Fatalf("the good config has no %q to edit", tc.from)
			}
			src := strings.Replace(good, tc.from, tc.to, 1)
			_, err := ParseConfig([]byte(src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// FuzzParseConfig: any input gives a config or an error, never a panic,
// and an accepted config has its defaults filled.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("model: m\nsource: {path: x}\nwindow: {duration: 1h}\n"))
	f.Add([]byte("[1, 2"))
	f.Add([]byte("alerts: {rules: [{name: a, check: column_drift, column: x}]}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			return
		}
		for _, r := range c.Alerts.Rules {
			if r.Threshold == nil || r.For < 1 || r.Op == "" {
				t.Fatalf("accepted rule without defaults: %+v", r)
			}
		}
		if c.Window.Rows <= 0 && c.Window.Duration <= 0 {
			t.Fatalf("accepted config without a window: %+v", c.Window)
		}
	})
}
