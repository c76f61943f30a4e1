package labelmodel

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestSaveGolden pins the saved-model format: each method fitted on a small
// seeded 3-class matrix must save what testdata/<method>.json holds
// (numbers compared to 1e-9, so that last-bit differences between
// platforms do not matter). Run with -update after an intended change.
func TestSaveGolden(t *testing.T) {
	x, _ := synth(400, []float64{0.6, 0.7, 0.8, 0.9}, []float64{0.5, 0.6, 0.7, 0.8}, []float64{0.3, 0.3, 0.4}, 21)
	for _, method := range Methods {
		t.Run(method, func(t *testing.T) {
			m, _ := New(method, Options{UniformPrior: true, Seed: 5})
			if err := m.Fit(t.Context(), x); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := m.Save(&buf); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", method+".json")
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			var g, w any
			if err := json.Unmarshal(buf.Bytes(), &g); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if diff := jsonDiff("", g, w); diff != "" {
				t.Errorf("saved %s model differs from %s: %s", method, path, diff)
			}
			if _, err := Load(bytes.NewReader(want)); err != nil {
				t.Errorf("golden file does not load: %v", err)
			}
		})
	}
}

// jsonDiff describes the first difference between two decoded JSON values,
// numbers compared to 1e-9.
func jsonDiff(at string, got, want any) string {
	switch w := want.(type) {
	case float64:
		g, ok := got.(float64)
		if !ok || math.Abs(g-w) > 1e-9 {
			return fmt.Sprintf("%s: got %v, want %v", at, got, want)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: got %v, want %v", at, got, want)
		}
		for i := range w {
			if d := jsonDiff(fmt.Sprintf("%s[%d]", at, i), g[i], w[i]); d != "" {
				return d
			}
		}
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: got %v, want %v", at, got, want)
		}
		for key := range w {
			if d := jsonDiff(at+"."+key, g[key], w[key]); d != "" {
				return d
			}
		}
	default:
		if got != want {
			return fmt.Sprintf("%s: got %v, want %v", at, got, want)
		}
	}
	return ""
}
