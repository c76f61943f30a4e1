package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FormatVersion is the version of the dawn flavor this build writes and the
// newest it reads. A model saved by a newer dawn carries a larger number and
// Load refuses it with ErrNewerFormat rather than misreading its files.
const FormatVersion = 1

// FileName is the name of the descriptor file in a model directory.
const FileName = "MLmodel"

// FlavorName is the key of dawn's own flavor under `flavors`.
const FlavorName = "dawn"

// InputExampleFile is where Save writes the input example (MLflow's
// pandas "split" orientation: {"columns": [...], "data": [[...], ...]}).
const InputExampleFile = "input_example.json"

var (
	// ErrNewerFormat reports a model directory written by a newer dawn.
	ErrNewerFormat = errors.New("model format version is newer than this dawn supports")
	// ErrNotDawn reports an MLmodel with no dawn flavor (e.g. a model saved by MLflow itself).
	ErrNotDawn = errors.New("MLmodel has no dawn flavor")
	// ErrUnknownType reports a model_type no Loader is registered for.
	ErrUnknownType = errors.New("unknown model type")
)

// MLmodel is the descriptor file of a model directory, in MLflow's layout.
// Fields dawn does not know (other flavors, mlflow_version, metadata, ...)
// are kept in Extra so that reading and writing a file preserves them.
type MLmodel struct {
	ArtifactPath   string         `yaml:"artifact_path,omitempty"`
	Flavors        Flavors        `yaml:"flavors"`
	ModelUUID      string         `yaml:"model_uuid"`
	RunID          string         `yaml:"run_id,omitempty"`
	InputExample   *ExampleInfo   `yaml:"saved_input_example_info,omitempty"`
	Signature      *Signature     `yaml:"signature,omitempty"`
	UTCTimeCreated string         `yaml:"utc_time_created"`
	Extra          map[string]any `yaml:",inline"`
}

// Flavors holds dawn's flavor, MLflow's generic python_function flavor when
// present, and any other flavor verbatim.
type Flavors struct {
	Dawn           *DawnFlavor           `yaml:"dawn,omitempty"`
	PythonFunction *PythonFunctionFlavor `yaml:"python_function,omitempty"`
	Other          map[string]any        `yaml:",inline"`
}

// DawnFlavor names the model type and the files its Loader reads.
type DawnFlavor struct {
	// ModelType selects the Loader registered with Register.
	ModelType string `yaml:"model_type"`
	// FormatVersion is the layout version of this flavor (see FormatVersion).
	FormatVersion int `yaml:"format_version"`
	// DawnVersion is the version of dawn that wrote the model, informative only.
	DawnVersion string `yaml:"dawn_version,omitempty"`
	// Classes are the class names in id order (classifiers).
	Classes []string `yaml:"classes,omitempty"`
	// Files maps a role ("weights", "featurizer", "stage.cheap", ...) to a
	// slash-separated path relative to the model directory.
	Files map[string]string `yaml:"files,omitempty"`
	// Params are model-type-specific settings worth reading without
	// opening the weights (hyper-parameters, thresholds).
	Params map[string]string `yaml:"params,omitempty"`
}

// PythonFunctionFlavor is MLflow's generic flavor. dawn writes it only when
// a caller provides one (there is no Python loader for dawn's weights); it is
// read and preserved so MLflow-written descriptors round-trip.
type PythonFunctionFlavor struct {
	LoaderModule  string         `yaml:"loader_module"`
	PythonVersion string         `yaml:"python_version,omitempty"`
	Data          string         `yaml:"data,omitempty"`
	Env           map[string]any `yaml:"env,omitempty"`
	Extra         map[string]any `yaml:",inline"`
}

// ExampleInfo is MLflow's saved_input_example_info.
type ExampleInfo struct {
	ArtifactPath string `yaml:"artifact_path"`
	Type         string `yaml:"type"`
	PandasOrient string `yaml:"pandas_orient,omitempty"`
}

// Signature is a model's input and output schema. In the file each side is a
// JSON string, as MLflow writes it: '[{"type": "string", "name": "text", "required": true}]'.
type Signature struct {
	Inputs  []Column
	Outputs []Column
}

// specColumn is MLflow's JSON column spec.
type specColumn struct {
	Type     string `json:"type"`
	Name     string `json:"name,omitempty"`
	Required bool   `json:"required"`
}

type signatureYAML struct {
	Inputs  string  `yaml:"inputs"`
	Outputs string  `yaml:"outputs"`
	Params  *string `yaml:"params"`
}

func encodeColumns(cols []Column) (string, error) {
	specs := make([]specColumn, len(cols))
	for i, c := range cols {
		specs[i] = specColumn{Type: c.Type, Name: c.Name, Required: !c.Optional}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(specs); err != nil {
		return "", err
	}
	// MLflow separates with ", " and ": "; match it so files look alike.
	return PythonJSON(strings.TrimSpace(buf.String())), nil
}

// PythonJSON re-spaces compact JSON the way Python's json.dumps does
// (", " between items, ": " after keys), leaving string contents untouched.
func PythonJSON(s string) string {
	var b strings.Builder
	inStr, esc := false, false
	for _, r := range s {
		b.WriteRune(r)
		switch {
		case inStr && esc:
			esc = false
		case inStr && r == '\\':
			esc = true
		case r == '"':
			inStr = !inStr
		case !inStr && (r == ',' || r == ':'):
			b.WriteByte(' ')
		}
	}
	return b.String()
}

func decodeColumns(side, s string) ([]Column, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var specs []specColumn
	if err := json.Unmarshal([]byte(s), &specs); err != nil {
		return nil, fmt.Errorf("signature %s: %w", side, err)
	}
	cols := make([]Column, len(specs))
	for i, sc := range specs {
		if sc.Type == "" {
			return nil, fmt.Errorf("signature %s: column %d has no type", side, i)
		}
		cols[i] = Column{Name: sc.Name, Type: sc.Type, Optional: !sc.Required}
	}
	return cols, nil
}

// MarshalYAML writes the signature as MLflow does: JSON strings.
func (s Signature) MarshalYAML() (any, error) {
	in, err := encodeColumns(s.Inputs)
	if err != nil {
		return nil, err
	}
	out, err := encodeColumns(s.Outputs)
	if err != nil {
		return nil, err
	}
	return signatureYAML{Inputs: in, Outputs: out}, nil
}

// UnmarshalYAML reads MLflow's JSON-string signature.
func (s *Signature) UnmarshalYAML(n *yaml.Node) error {
	var raw signatureYAML
	if err := n.Decode(&raw); err != nil {
		return err
	}
	in, err := decodeColumns("inputs", raw.Inputs)
	if err != nil {
		return err
	}
	out, err := decodeColumns("outputs", raw.Outputs)
	if err != nil {
		return err
	}
	s.Inputs, s.Outputs = in, out
	return nil
}

// Marshal encodes the descriptor as YAML (keys in a fixed order, so the same
// model always gives the same bytes).
func (m *MLmodel) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("model: encode MLmodel: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("model: encode MLmodel: %w", err)
	}
	return buf.Bytes(), nil
}

// Parse decodes an MLmodel file's bytes. It checks structure only; Validate
// checks that the dawn flavor is usable.
func Parse(b []byte) (*MLmodel, error) {
	var m MLmodel
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("model: parse MLmodel: %w", err)
	}
	return &m, nil
}

// Validate checks that the descriptor has a dawn flavor this build can read.
func (m *MLmodel) Validate() error {
	d := m.Flavors.Dawn
	if d == nil {
		names := make([]string, 0, len(m.Flavors.Other)+1)
		if m.Flavors.PythonFunction != nil {
			names = append(names, "python_function")
		}
		for k := range m.Flavors.Other {
			names = append(names, k)
		}
		sort.Strings(names)
		return fmt.Errorf("flavors are [%s]: %w; dawn loads only models it saved", strings.Join(names, ", "), ErrNotDawn)
	}
	if d.ModelType == "" {
		return errors.New("the dawn flavor has no model_type")
	}
	if d.FormatVersion > FormatVersion {
		return fmt.Errorf("format_version %d, but this dawn reads up to %d: %w; upgrade dawn to load it",
			d.FormatVersion, FormatVersion, ErrNewerFormat)
	}
	if d.FormatVersion < 1 {
		return fmt.Errorf("the dawn flavor has format_version %d; want 1..%d", d.FormatVersion, FormatVersion)
	}
	for role, p := range d.Files {
		if p == "" || filepath.IsAbs(p) || strings.HasPrefix(filepath.Clean(filepath.FromSlash(p)), "..") {
			return fmt.Errorf("the dawn flavor's file %q has path %q, which is not inside the model directory", role, p)
		}
	}
	return nil
}

// Read reads and validates dir/MLmodel.
func Read(dir string) (*MLmodel, error) {
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("model: read %s: no %s file; is this a model directory? %w", dir, FileName, err)
		}
		return nil, fmt.Errorf("model: read %s: %w", dir, err)
	}
	m, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("model: read %s: %w", filepath.Join(dir, FileName), err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("model: read %s: %w", filepath.Join(dir, FileName), err)
	}
	return m, nil
}

// Path returns the absolute path of the dawn flavor's file for role inside
// dir, or an error naming the missing role.
func (m *MLmodel) Path(dir, role string) (string, error) {
	if m.Flavors.Dawn == nil {
		return "", ErrNotDawn
	}
	p, ok := m.Flavors.Dawn.Files[role]
	if !ok {
		return "", fmt.Errorf("model: %s: the dawn flavor lists no %q file", dir, role)
	}
	return filepath.Join(dir, filepath.FromSlash(p)), nil
}

// Info builds the Info the descriptor describes.
func (m *MLmodel) Info() *Info {
	in := &Info{}
	if d := m.Flavors.Dawn; d != nil {
		in.Type = d.ModelType
		in.Classes = append([]string(nil), d.Classes...)
	}
	if m.Signature != nil {
		in.Inputs = append([]Column(nil), m.Signature.Inputs...)
	}
	return in
}
