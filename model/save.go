package model

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// File is one file (or subdirectory) of a model directory.
type File struct {
	// Role is the key under the dawn flavor's `files` ("weights").
	Role string
	// Name is the slash-separated path relative to the model directory.
	Name string
	// Write creates the file (or directory, e.g. a nested model saved with
	// Save) at the given absolute path, inside Save's temporary directory.
	Write func(path string) error
}

// WriterFile is a File whose content fn streams to a writer.
func WriterFile(role, name string, fn func(w io.Writer) error) File {
	return File{Role: role, Name: name, Write: func(p string) error {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		bw := bufio.NewWriter(f)
		if err := fn(bw); err != nil {
			f.Close()
			return err
		}
		if err := bw.Flush(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}}
}

// JSONFile is a File holding v as indented JSON.
func JSONFile(role, name string, v any) File {
	return WriterFile(role, name, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(v)
	})
}

// Example is an input example: column names and a few rows of values
// (string, float64, int64, bool or nil).
type Example struct {
	Columns []string `json:"columns"`
	Data    [][]any  `json:"data"`
}

// Artifact is everything Save needs to write a model directory.
type Artifact struct {
	Type    string   // model_type, the key a Loader is registered under
	Classes []string // class names in id order; nil for regression
	Inputs  []Column // input signature
	// Outputs is the output signature; when nil it is derived from Classes:
	// prob_<class> doubles and a string label, or a double prediction.
	Outputs      []Column
	Files        []File
	Params       map[string]string
	RunID        string
	InputExample *Example
	DawnVersion  string
	// PythonFunction, when set, is written as the python_function flavor.
	PythonFunction *PythonFunctionFlavor

	// Now and UUID are for tests; zero means the clock and a random v4 UUID.
	Now  time.Time
	UUID string
}

// DefaultOutputs is the output signature of a classifier over classes (or a
// regressor when classes is empty), matching what `dawn predict` writes.
func DefaultOutputs(classes []string) []Column {
	if len(classes) == 0 {
		return []Column{{Name: "prediction", Type: "double"}}
	}
	out := make([]Column, 0, len(classes)+1)
	for _, c := range classes {
		out = append(out, Column{Name: "prob_" + c, Type: "double"})
	}
	return append(out, Column{Name: "label", Type: "string"})
}

// Descriptor builds the MLmodel that Save writes for a.
func (a *Artifact) Descriptor() (*MLmodel, error) {
	if a.Type == "" {
		return nil, errors.New("model: save: artifact has no model type")
	}
	files := map[string]string{}
	for _, f := range a.Files {
		clean := path.Clean(f.Name)
		if f.Role == "" || f.Name == "" || f.Write == nil || path.IsAbs(clean) || strings.HasPrefix(clean, "..") || clean == FileName {
			return nil, fmt.Errorf("model: save: file %q (role %q) must have a role, a relative name other than %s, and a writer", f.Name, f.Role, FileName)
		}
		if _, dup := files[f.Role]; dup {
			return nil, fmt.Errorf("model: save: two files with role %q", f.Role)
		}
		files[f.Role] = clean
	}
	now := a.Now
	if now.IsZero() {
		now = time.Now()
	}
	id := a.UUID
	if id == "" {
		id = NewUUID()
	}
	outputs := a.Outputs
	if outputs == nil {
		outputs = DefaultOutputs(a.Classes)
	}
	m := &MLmodel{
		Flavors: Flavors{
			Dawn: &DawnFlavor{
				ModelType:     a.Type,
				FormatVersion: FormatVersion,
				DawnVersion:   a.DawnVersion,
				Classes:       a.Classes,
				Files:         files,
				Params:        a.Params,
			},
			PythonFunction: a.PythonFunction,
		},
		ModelUUID:      id,
		RunID:          a.RunID,
		Signature:      &Signature{Inputs: a.Inputs, Outputs: outputs},
		UTCTimeCreated: now.UTC().Format("2006-01-02 15:04:05.000000"),
	}
	if len(files) == 0 {
		m.Flavors.Dawn.Files = nil
	}
	if a.InputExample != nil {
		m.InputExample = &ExampleInfo{ArtifactPath: InputExampleFile, Type: "dataframe", PandasOrient: "split"}
	}
	return m, nil
}

// NewUUID returns a random RFC 4122 version 4 UUID, as MLflow uses (hex, no dashes).
func NewUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("model: crypto/rand failed: " + err.Error()) // rand.Read never fails on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}

// Save writes the model directory dir: every file, the input example and the
// MLmodel (last), into a temporary directory beside dir that is renamed into
// place, so a reader never sees a half-written model. An existing dir is
// replaced only when it is empty or holds a model (an MLmodel file).
func Save(dir string, a *Artifact) (err error) {
	desc, err := a.Descriptor()
	if err != nil {
		return err
	}
	dir = filepath.Clean(dir)
	if err := checkReplaceable(dir); err != nil {
		return err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("model: save %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-*")
	if err != nil {
		return fmt.Errorf("model: save %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp makes it 0700
		return fmt.Errorf("model: save %s: %w", dir, err)
	}
	for _, f := range a.Files {
		p := filepath.Join(tmp, filepath.FromSlash(path.Clean(f.Name)))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("model: save %s: %w", dir, err)
		}
		if err := f.Write(p); err != nil {
			return fmt.Errorf("model: save %s: write %s (%s): %w", dir, f.Name, f.Role, err)
		}
	}
	if a.InputExample != nil {
		if err := JSONFile("", InputExampleFile, a.InputExample).Write(filepath.Join(tmp, InputExampleFile)); err != nil {
			return fmt.Errorf("model: save %s: write input example: %w", dir, err)
		}
	}
	b, err := desc.Marshal()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, FileName), b, 0o644); err != nil {
		return fmt.Errorf("model: save %s: %w", dir, err)
	}
	return replaceDir(tmp, dir)
}

func checkReplaceable(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("model: save %s: %w", dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("model: save %s: exists and is not a directory", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("model: save %s: %w", dir, err)
	}
	if len(ents) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		return fmt.Errorf("model: save %s: directory exists, is not empty and holds no %s; refusing to replace it", dir, FileName)
	}
	return nil
}

// replaceDir renames tmp to dir, moving an existing dir aside first and
// removing it only after the new one is in place.
func replaceDir(tmp, dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.Rename(tmp, dir); err != nil {
			return fmt.Errorf("model: save %s: %w", dir, err)
		}
		return nil
	}
	old := tmp + ".old"
	if err := os.Rename(dir, old); err != nil {
		return fmt.Errorf("model: save %s: move old model aside: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.Rename(old, dir)
		return fmt.Errorf("model: save %s: %w", dir, err)
	}
	os.RemoveAll(old)
	return nil
}

// ReadExample reads the input example saved in dir, or nil when there is none.
func ReadExample(dir string, desc *MLmodel) (*Example, error) {
	if desc.InputExample == nil {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(desc.InputExample.ArtifactPath)))
	if err != nil {
		return nil, fmt.Errorf("model: read input example: %w", err)
	}
	var ex Example
	if err := json.Unmarshal(b, &ex); err != nil {
		return nil, fmt.Errorf("model: read input example %s: %w", desc.InputExample.ArtifactPath, err)
	}
	return &ex, nil
}
