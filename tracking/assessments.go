package tracking

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
	"unicode"
)

// Assessments (MLflow 3's feedback and expectations) are judgements on a
// trace or one of its spans. An assessment created with overrides set
// makes the one it names invalid until the override is deleted.

// Assessment is MLflow's assessments.Assessment in its JSON form; the
// store keeps it whole and indexes its name, kind, value and validity.
type Assessment struct {
	AssessmentID   string            `json:"assessment_id"`
	AssessmentName string            `json:"assessment_name"`
	TraceID        string            `json:"trace_id"`
	SpanID         string            `json:"span_id,omitempty"`
	Source         *AssessmentSource `json:"source,omitempty"`
	CreateTime     string            `json:"create_time,omitempty"`
	LastUpdateTime string            `json:"last_update_time,omitempty"`
	Feedback       *AssessmentValue  `json:"feedback,omitempty"`
	Expectation    *AssessmentValue  `json:"expectation,omitempty"`
	Rationale      string            `json:"rationale,omitempty"`
	Error          json.RawMessage   `json:"error,omitempty"`
	Metadata       map[string]string `json:"metadata,omitempty"`
	Overrides      string            `json:"overrides,omitempty"`
	Valid          *bool             `json:"valid,omitempty"`
}

// AssessmentSource says who made an assessment.
type AssessmentSource struct {
	SourceType Enum   `json:"source_type,omitempty"`
	SourceID   string `json:"source_id,omitempty"`
}

// AssessmentValue is a feedback (value, error) or an expectation (value,
// serialized_value); values are any JSON (google.protobuf.Value).
type AssessmentValue struct {
	Value           json.RawMessage `json:"value,omitempty"`
	Error           json.RawMessage `json:"error,omitempty"`
	SerializedValue json.RawMessage `json:"serialized_value,omitempty"`
}

// Kind is "feedback" or "expectation", the prefix searches use.
func (a *Assessment) Kind() string {
	if a.Expectation != nil {
		return "expectation"
	}
	return "feedback"
}

// ValueJSON is the assessment's value as MLflow's store keeps it for
// searches: Python's json.dumps of the value.
func (a *Assessment) ValueJSON() string {
	v := a.Feedback
	if a.Expectation != nil {
		v = a.Expectation
		var sv struct {
			Value string `json:"value"`
		}
		if len(v.SerializedValue) > 0 && json.Unmarshal(v.SerializedValue, &sv) == nil {
			return sv.Value
		}
	}
	if v == nil || len(v.Value) == 0 {
		return "null"
	}
	var x any
	dec := json.NewDecoder(bytes.NewReader(v.Value))
	dec.UseNumber()
	if dec.Decode(&x) != nil {
		return "null"
	}
	var b strings.Builder
	writePyJSON(&b, x)
	return b.String()
}

// normalizeExpectation writes an expectation whose value is a list or
// an object as MLflow does: a serialized_value holding the value's JSON
// text (format JSON_FORMAT), with no value.
func normalizeExpectation(v *AssessmentValue) error {
	if v == nil || len(v.Value) == 0 {
		return nil
	}
	x, err := decodeOrdered(v.Value)
	if err != nil {
		return InvalidParameterf("Invalid expectation value: %v", err)
	}
	switch x.(type) {
	case pyDict, []any:
		var b strings.Builder
		writePy(&b, x, true)
		sv, _ := json.Marshal(struct {
			Format string `json:"serialization_format"`
			Value  string `json:"value"`
		}{"JSON_FORMAT", b.String()})
		v.Value, v.SerializedValue = nil, sv
	}
	return nil
}

// NewAssessmentID makes an id as MLflow does: "a-" and 32 hex digits.
func NewAssessmentID() string {
	var b [16]byte
	rand.Read(b[:])
	return "a-" + hex.EncodeToString(b[:])
}

var assessmentSourceTypes = map[string]string{
	"0": "SOURCE_TYPE_UNSPECIFIED", "1": "HUMAN", "2": "LLM_JUDGE", "3": "CODE",
	"SOURCE_TYPE_UNSPECIFIED": "SOURCE_TYPE_UNSPECIFIED", "HUMAN": "HUMAN", "LLM_JUDGE": "LLM_JUDGE", "CODE": "CODE",
	// MLflow's Python client also accepts these older names.
	"AI_JUDGE": "LLM_JUDGE",
}

// checkNewAssessment validates a create request's assessment.
func checkNewAssessment(a *Assessment) error {
	if a.AssessmentName == "" {
		return InvalidParameterf("Missing value for required parameter 'assessment.assessment_name'.")
	}
	if len(a.AssessmentName) > MaxKeyLength {
		return InvalidParameterf("Assessment name '%.20s...' exceeds the length limit of %d", a.AssessmentName, MaxKeyLength)
	}
	if (a.Feedback == nil) == (a.Expectation == nil) {
		return InvalidParameterf("An assessment needs exactly one of 'feedback' or 'expectation'.")
	}
	if a.Source != nil {
		st, ok := assessmentSourceTypes[string(a.Source.SourceType)]
		if !ok {
			return InvalidParameterf("Invalid value '%s' for parameter 'assessment.source.source_type'; expected HUMAN, LLM_JUDGE or CODE", a.Source.SourceType)
		}
		a.Source.SourceType = Enum(st)
	}
	for k, v := range a.Metadata {
		if err := validateLength("Assessment metadata", k, v, MaxTagValueLength); err != nil {
			return err
		}
	}
	if err := normalizeExpectation(a.Expectation); err != nil {
		return err
	}
	for _, js := range []json.RawMessage{jsonOf(a.Feedback), jsonOf(a.Expectation)} {
		if len(js) > MaxAssessmentValueBytes {
			return InvalidParameterf("Assessment value exceeds the limit of %d bytes", MaxAssessmentValueBytes)
		}
	}
	return nil
}

// MaxAssessmentValueBytes bounds an assessment's value JSON.
const MaxAssessmentValueBytes = 64 << 10

func jsonOf(v *AssessmentValue) json.RawMessage {
	if v == nil {
		return nil
	}
	return v.Value
}

// maskPaths reads a FieldMask: "assessmentName,feedback" (its JSON form),
// {"paths": [...]}, or a list; paths come back in snake_case.
func maskPaths(raw json.RawMessage) ([]string, error) {
	var paths []string
	var s string
	var obj struct {
		Paths []string `json:"paths"`
	}
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return nil, InvalidParameterf("Missing value for required parameter 'update_mask'.")
	case json.Unmarshal(raw, &s) == nil:
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				paths = append(paths, p)
			}
		}
	case json.Unmarshal(raw, &obj) == nil:
		paths = obj.Paths
	case json.Unmarshal(raw, &paths) == nil:
	default:
		return nil, InvalidParameterf("Invalid value for parameter 'update_mask': expected a field mask such as \"assessmentName,feedback\"")
	}
	for i, p := range paths {
		paths[i] = snakeCase(p)
	}
	return paths, nil
}

func snakeCase(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// assessmentUpdate turns an update request into the store's update.
func assessmentUpdate(a *Assessment, paths []string) (AssessmentUpdate, error) {
	var u AssessmentUpdate
	for _, p := range paths {
		switch p {
		case "assessment_name":
			if a.AssessmentName == "" {
				return u, InvalidParameterf("Assessment name cannot be empty.")
			}
			u.Name = &a.AssessmentName
		case "feedback":
			if a.Feedback == nil {
				return u, InvalidParameterf("update_mask names 'feedback' but the assessment has none.")
			}
			u.Feedback = a.Feedback
		case "expectation":
			if a.Expectation == nil {
				return u, InvalidParameterf("update_mask names 'expectation' but the assessment has none.")
			}
			if err := normalizeExpectation(a.Expectation); err != nil {
				return u, err
			}
			u.Expectation = a.Expectation
		case "rationale":
			u.Rationale = &a.Rationale
		case "metadata":
			u.Metadata = a.Metadata
			if u.Metadata == nil {
				u.Metadata = map[string]string{}
			}
		case "valid":
			v := a.Valid == nil || *a.Valid
			u.Valid = &v
		default:
			// MLflow's handler ignores paths it does not know.
		}
	}
	if u.Feedback != nil && u.Expectation != nil {
		return u, InvalidParameterf("Exactly one of `expectation` or `feedback` should be specified.")
	}
	return u, nil
}

// ApplyAssessmentUpdate applies u to a (as MLflow's store does: source and
// span are immutable, metadata merges), stamping the update time. Stores
// call it so that every backend updates the same way.
func ApplyAssessmentUpdate(a *Assessment, u AssessmentUpdate, nowMs int64) error {
	if u.Expectation != nil && a.Expectation == nil {
		return InvalidParameterf("Cannot update expectation value on a Feedback assessment.")
	}
	if u.Feedback != nil && a.Feedback == nil {
		return InvalidParameterf("Cannot update feedback value on an Expectation assessment.")
	}
	if u.Name != nil {
		a.AssessmentName = *u.Name
	}
	if u.Feedback != nil {
		a.Feedback = u.Feedback
	}
	if u.Expectation != nil {
		a.Expectation = u.Expectation
	}
	if u.Rationale != nil {
		a.Rationale = *u.Rationale
	}
	if u.Metadata != nil {
		if a.Metadata == nil {
			a.Metadata = map[string]string{}
		}
		for k, v := range u.Metadata {
			a.Metadata[k] = v
		}
	}
	if u.Valid != nil {
		a.Valid = u.Valid
	}
	a.LastUpdateTime = pbTime(nowMs)
	return nil
}
