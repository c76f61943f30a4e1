package model

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func testArtifact() *Artifact {
	return &Artifact{
		Type:    "logreg",
		Classes: []string{"ham", "spam"},
		Inputs:  []Column{{Name: "text", Type: "string"}, {Name: "length", Type: "double", Optional: true}},
		Files: []File{
			JSONFile("weights", "weights.json", map[string]any{"w": []float64{0.5, -1}}),
			WriterFile("featurizer", "feat/featurizer.json", func(w io.Writer) error { _, err := w.Write([]byte("{}")); return err }),
		},
		Params:       map[string]string{"l2": "0.0001", "epochs": "10"},
		RunID:        "0123456789abcdef",
		InputExample: &Example{Columns: []string{"text", "length"}, Data: [][]any{{"check out my channel", 20.0}}},
		DawnVersion:  "test",
		Now:          time.Date(2026, 11, 22, 5, 0, 0, 123456000, time.UTC),
		UUID:         "3f0c2a1e9b8d4c7fa6e5d4c3b2a19080",
	}
}

func TestMLmodelGolden(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	if err := Save(dir, testArtifact()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "MLmodel.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./model -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("MLmodel differs from %s:\n got:\n%s\nwant:\n%s", golden, got, want)
	}
	// MLflow's own layout: signature sides are JSON strings.
	for _, s := range []string{
		`inputs: '[{"type": "string", "name": "text", "required": true}, {"type": "double", "name": "length", "required": false}]'`,
		`outputs: '[{"type": "double", "name": "prob_ham", "required": true}, {"type": "double", "name": "prob_spam", "required": true}, {"type": "string", "name": "label", "required": true}]'`,
		`utc_time_created: "2026-11-22 05:00:00.123456"`,
		"artifact_path: input_example.json",
		"pandas_orient: split",
	} {
		if !strings.Contains(string(got), s) {
			t.Errorf("MLmodel lacks %q", s)
		}
	}
	ex, err := os.ReadFile(filepath.Join(dir, InputExampleFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ex), `"check out my channel"`) {
		t.Errorf("input example = %s", ex)
	}
	if _, err := os.Stat(filepath.Join(dir, "feat", "featurizer.json")); err != nil {
		t.Errorf("nested file not written: %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	a := testArtifact()
	desc, err := a.Descriptor()
	if err != nil {
		t.Fatal(err)
	}
	b, err := desc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.Validate(); err != nil {
		t.Fatal(err)
	}
	b2, err := back.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Errorf("re-encoding changed the file:\n%s\nvs\n%s", b, b2)
	}
	info := back.Info()
	if info.Type != "logreg" || len(info.Classes) != 2 || info.Inputs[1].Name != "length" || !info.Inputs[1].Optional || info.Inputs[0].Optional {
		t.Errorf("info = %+v", info)
	}
}

// An MLmodel written by MLflow keeps its other flavors and keys through a
// read and write, and is refused by Load with a clear error.
func TestForeignFlavorsPreserved(t *testing.T) {
	src := `artifact_path: model
flavors:
  python_function:
    env:
      conda: conda.yaml
    loader_module: mlflow.sklearn
    model_path: model.pkl
    python_version: 3.11.2
  sklearn:
    pickled_model: model.pkl
    sklearn_version: 1.2.1
mlflow_version: 2.22.0
model_uuid: abc
signature:
  inputs: '[{"type": "double", "name": "x", "required": true}]'
  outputs: '[{"type": "long", "required": true}]'
  params: null
utc_time_created: '2025-01-01 00:00:00.000000'
`
	m, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if m.Flavors.PythonFunction == nil || m.Flavors.PythonFunction.LoaderModule != "mlflow.sklearn" || m.Flavors.PythonFunction.Extra["model_path"] != "model.pkl" {
		t.Errorf("python_function = %+v", m.Flavors.PythonFunction)
	}
	if _, ok := m.Flavors.Other["sklearn"]; !ok || m.Extra["mlflow_version"] != "2.22.0" {
		t.Errorf("lost foreign keys: flavors %v extra %v", m.Flavors.Other, m.Extra)
	}
	if len(m.Signature.Outputs) != 1 || m.Signature.Outputs[0].Type != "long" {
		t.Errorf("outputs = %+v", m.Signature.Outputs)
	}
	out, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"sklearn_version: 1.2.1", "mlflow_version: 2.22.0", "loader_module: mlflow.sklearn", "model_path: model.pkl"} {
		if !strings.Contains(string(out), s) {
			t.Errorf("re-encoded file lacks %q:\n%s", s, out)
		}
	}
	err = m.Validate()
	if !errors.Is(err, ErrNotDawn) || !strings.Contains(err.Error(), "python_function, sklearn") {
		t.Errorf("Validate = %v", err)
	}
}

type constModel struct{ info *Info }

func (c *constModel) Info() *Info { return c.info }
func (c *constModel) Predict(ctx context.Context, rows arrow.RecordBatch) (*Prediction, error) {
	return &Prediction{}, nil
}

func TestRegisterLoad(t *testing.T) {
	Register("test-const", func(dir string, desc *MLmodel) (Model, error) {
		p, err := desc.Path(dir, "weights")
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(p); err != nil {
			return nil, err
		}
		return &constModel{info: desc.Info()}, nil
	})
	dir := filepath.Join(t.TempDir(), "m")
	a := testArtifact()
	a.Type = "test-const"
	if err := Save(dir, a); err != nil {
		t.Fatal(err)
	}
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Info().Type != "test-const" || m.Info().Classes[1] != "spam" {
		t.Errorf("info = %+v", m.Info())
	}

	// Saving again over a model directory replaces it.
	a.Classes = []string{"a", "b", "c"}
	if err := Save(dir, a); err != nil {
		t.Fatal(err)
	}
	if m, err = Load(dir); err != nil || len(m.Info().Classes) != 3 {
		t.Fatalf("after replace: %v %v", m, err)
	}
	ents, _ := os.ReadDir(filepath.Dir(dir))
	if len(ents) != 1 {
		t.Errorf("temporary directories left behind: %v", ents)
	}
}

func TestLoadErrors(t *testing.T) {
	base := t.TempDir()
	write := func(name, body string) string {
		d := filepath.Join(base, name)
		os.MkdirAll(d, 0o755)
		if body != "" {
			os.WriteFile(filepath.Join(d, FileName), []byte(body), 0o644)
		}
		return d
	}
	cases := []struct {
		name, body string
		is         error
		msg        string
	}{
		{"missing", "", os.ErrNotExist, "no MLmodel file"},
		{"newer", "flavors:\n  dawn:\n    model_type: logreg\n    format_version: 99\nmodel_uuid: x\nutc_time_created: x\n", ErrNewerFormat, "format_version 99, but this dawn reads up to 1"},
		{"unknown", "flavors:\n  dawn:\n    model_type: nosuch\n    format_version: 1\nmodel_uuid: x\nutc_time_created: x\n", ErrUnknownType, `model_type "nosuch"`},
		{"escape", "flavors:\n  dawn:\n    model_type: logreg\n    format_version: 1\n    files: {weights: ../x}\nmodel_uuid: x\nutc_time_created: x\n", nil, "not inside the model directory"},
		{"badyaml", "flavors: [\n", nil, "parse MLmodel"},
		{"badsig", "flavors:\n  dawn: {model_type: a, format_version: 1}\nsignature:\n  inputs: '[{'\n  outputs: ''\n", nil, "signature inputs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := write(c.name, c.body)
			_, err := Load(d)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %v is not %v", err, c.is)
			}
			if !strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), d) {
				t.Errorf("error %q lacks %q or the directory", err, c.msg)
			}
		})
	}
}

func TestSaveRefusesForeignDir(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "precious.txt"), []byte("x"), 0o644)
	err := Save(dir, testArtifact())
	if err == nil || !strings.Contains(err.Error(), "refusing to replace") {
		t.Fatalf("Save = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "precious.txt")); err != nil {
		t.Error("existing file was removed")
	}
	bad := testArtifact()
	bad.Files = append(bad.Files, JSONFile("x", "../escape.json", 1))
	if err := Save(filepath.Join(t.TempDir(), "m"), bad); err == nil {
		t.Error("Save accepted a file outside the directory")
	}
}

func FuzzParse(f *testing.F) {
	b, _ := os.ReadFile(filepath.Join("testdata", "MLmodel.golden"))
	f.Add(b)
	f.Add([]byte("flavors:\n  dawn: {model_type: a, format_version: 1}\n"))
	f.Add([]byte("signature:\n  inputs: '[{\"type\": \"long\"}]'\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := Parse(in)
		if err != nil {
			return
		}
		_ = m.Validate()
		out, err := m.Marshal()
		if err != nil {
			return
		}
		// Foreign keys are kept as decoded by yaml (which can hold both 8 and
		// "8" as keys); only dawn's own fields must survive a round trip.
		if len(m.Extra) > 0 || len(m.Flavors.Other) > 0 || m.Flavors.PythonFunction != nil {
			return
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("re-parse of encoded MLmodel failed: %v\n%s", err, out)
		}
	})
}
