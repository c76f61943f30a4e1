package classic

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"testing"

	"github.com/dawn-ml/dawn/explain"
	"github.com/dawn-ml/dawn/internal/shareddata"
)

// run feeds a MacroBase CSV through a pipeline as MacroBase's
// BasicOneShotEWStreamingPipelineTest configures it.
func run(t *testing.T, rel string, cfg Config, metrics []string) *explain.Result {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(shareddata.ReadFile(t, "macrobase", rel))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	cfg.Metrics = len(metrics)
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	vals := make([]string, len(cfg.Attrs))
	ms := make([]float64, len(metrics))
	for _, rec := range recs[1:] {
		for i, a := range cfg.Attrs {
			vals[i] = rec[col[a]]
		}
		for i, m := range metrics {
			if ms[i], err = strconv.ParseFloat(rec[col[m]], 64); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Observe(vals, ms); err != nil {
			t.Fatal(err)
		}
	}
	return p.Explain()
}

func itemsOf(r *explain.Result, i int) map[string]string {
	m := map[string]string{}
	for a, v := range r.Explanations[i].Values {
		if v != "" {
			m[r.Attributes[a]] = v
		}
	}
	return m
}

// The settings every BasicOneShotEWStreamingPipelineTest case shares.
func testConfig(attrs []string, support float64, warmup, period, reservoir int) Config {
	return Config{Attrs: attrs, Percentile: 0.99, MinRatio: 1, MinSupport: support, Seed: 0, DecayRate: 0.01,
		Warmup: warmup, ModelPeriod: period, SummaryPeriod: period, InputReservoir: reservoir, ScoreReservoir: reservoir,
		InlierItems: 1000, OutlierItems: 1000}
}

func TestMacroBaseStreamingSimpleMAD(t *testing.T) {
	cfg := testConfig([]string{"A1", "A2", "A3", "A4"}, 0.02, 10, 50, 10)
	cfg.LowMetric = true
	r := run(t, "legacy/simple.csv", cfg, []string{"A5"})
	t.Logf("%d outliers of %v: %+v", int(r.Outliers), r.Total, r.Explanations)
	if len(r.Explanations) != 1 || len(itemsOf(r, 0)) != 1 || itemsOf(r, 0)["A1"] != "0" {
		t.Fatalf("want exactly {A1=0}, got %+v", r.Explanations)
	}
}

func TestMacroBaseStreamingSimpleMCD(t *testing.T) {
	cfg := testConfig([]string{"A1", "A2", "A3"}, 0.05, 30, 50, 10)
	cfg.LowMetric = true
	cfg.MCD = explain.MCD{Alpha: 0.5, StoppingDelta: 1e-3}
	r := run(t, "legacy/simple.csv", cfg, []string{"A4", "A5"})
	t.Logf("%d outliers of %v: %+v", int(r.Outliers), r.Total, r.Explanations)
	if len(r.Explanations) != 1 || len(itemsOf(r, 0)) != 1 || itemsOf(r, 0)["A1"] != "0" {
		t.Fatalf("want exactly {A1=0}, got %+v", r.Explanations)
	}
	if r.Total != 100 {
		t.Errorf("classified %v rows, want all 100", r.Total)
	}
}

func TestMacroBaseStreamingSensorPower(t *testing.T) {
	cfg := testConfig([]string{"device_id"}, 0.01, 100, 1000, 1000)
	r := run(t, "legacy/sensor10k.csv.gz", cfg, []string{"power_drain"})
	t.Logf("%d outliers of %v: %+v", int(r.Outliers), r.Total, r.Explanations)
	if len(r.Explanations) != 1 || len(itemsOf(r, 0)) != 1 || itemsOf(r, 0)["device_id"] != "2040" {
		t.Fatalf("want exactly {device_id=2040}, got %+v", r.Explanations)
	}
}

func TestMacroBaseStreamingSensorTemp(t *testing.T) {
	cfg := testConfig([]string{"device_id", "model", "firmware_version"}, 0.06, 100, 1000, 1000)
	cfg.LowMetric = true
	r := run(t, "legacy/sensor10k.csv.gz", cfg, []string{"temperature"})
	t.Logf("%d outliers of %v: %+v", int(r.Outliers), r.Total, r.Explanations)
	if len(r.Explanations) != 3 {
		t.Fatalf("want 3 itemsets, got %+v", r.Explanations)
	}
	if got := itemsOf(r, 2); len(got) != 2 || got["model"] != "M101" || got["firmware_version"] != "0.4" {
		t.Fatalf("third itemset %v, want {model=M101, firmware_version=0.4}", got)
	}
}

// With the threshold refreshed every period (not MacroBase's behaviour)
// the four cases still find the same itemsets, with different counts.
func TestRefreshThresholdSameItemsets(t *testing.T) {
	cfg := testConfig([]string{"A1", "A2", "A3", "A4"}, 0.02, 10, 50, 10)
	cfg.LowMetric, cfg.RefreshThreshold = true, true
	r := run(t, "legacy/simple.csv", cfg, []string{"A5"})
	if len(r.Explanations) != 1 || itemsOf(r, 0)["A1"] != "0" || r.Outliers != 24 {
		t.Fatalf("want {A1=0} from 24 outliers, got %v outliers: %+v", r.Outliers, r.Explanations)
	}
	cfg = testConfig([]string{"device_id"}, 0.01, 100, 1000, 1000)
	cfg.RefreshThreshold = true
	r = run(t, "legacy/sensor10k.csv.gz", cfg, []string{"power_drain"})
	if len(r.Explanations) != 1 || itemsOf(r, 0)["device_id"] != "2040" {
		t.Fatalf("want {device_id=2040}, got %+v", r.Explanations)
	}
}
