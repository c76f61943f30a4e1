package tracking

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dawn-ml/dawn/model"
)

// Evaluation-dataset records: what upsert reads from a request, how a
// record already stored takes in an update, and the schema, profile and
// digest MLflow keeps on the dataset. The rules are MLflow's
// (SqlAlchemyStore.upsert_dataset_records and SqlEvaluationDatasetRecord.merge)
// so that a dataset built through dawn reads the same in MLflow's client.

// UserTagKey is the tag MLflow reads a record's or dataset's author from.
const UserTagKey = "mlflow.user"

// Record source types, as MLflow's DatasetRecordSource.SourceType names them.
var recordSourceTypes = []string{"UNSPECIFIED", "TRACE", "HUMAN", "DOCUMENT", "CODE"}

// EvalRecordInput is one record of an upsert request. JSON fields keep the
// client's text (compact, keys in the client's order); nil means absent.
type EvalRecordInput struct {
	Inputs     json.RawMessage // an object; {} when absent
	InputHash  string          // identifies the record within its dataset
	HasOutputs bool            // outputs was given (it may be null)
	Outputs    json.RawMessage // nil for null
	// Expectations and Tags are objects, nil when absent or null.
	Expectations json.RawMessage
	Tags         json.RawMessage
	// Source is {"source_type": ..., "source_data": {...}} with the type
	// upper-cased, nil when absent; SourceID and SourceType derive from it.
	Source               json.RawMessage
	SourceID, SourceType string
}

// EvalRecord is a stored record.
type EvalRecord struct {
	RecordID, DatasetID         string
	Inputs                      json.RawMessage
	Outputs                     json.RawMessage // nil: none
	Expectations                json.RawMessage // nil: none
	Tags                        json.RawMessage // nil: {}
	Source                      json.RawMessage // nil: none
	SourceID, SourceType        string
	CreatedTime, LastUpdateTime int64
	CreatedBy, LastUpdatedBy    string
}

// MarshalJSON writes a record as MLflow's DatasetRecord.to_dict does.
func (r EvalRecord) MarshalJSON() ([]byte, error) {
	type wire struct {
		RecordID       string          `json:"dataset_record_id"`
		DatasetID      string          `json:"dataset_id"`
		Inputs         json.RawMessage `json:"inputs"`
		Expectations   json.RawMessage `json:"expectations,omitempty"`
		Tags           json.RawMessage `json:"tags"`
		Source         json.RawMessage `json:"source,omitempty"`
		SourceID       string          `json:"source_id,omitempty"`
		SourceType     string          `json:"source_type,omitempty"`
		CreatedTime    int64           `json:"created_time"`
		LastUpdateTime int64           `json:"last_update_time"`
		CreatedBy      string          `json:"created_by,omitempty"`
		LastUpdatedBy  string          `json:"last_updated_by,omitempty"`
		Outputs        json.RawMessage `json:"outputs,omitempty"`
	}
	tags := r.Tags
	if tags == nil {
		tags = json.RawMessage("{}")
	}
	return json.Marshal(wire{r.RecordID, r.DatasetID, r.Inputs, r.Expectations, tags, r.Source, r.SourceID, r.SourceType,
		r.CreatedTime, r.LastUpdateTime, r.CreatedBy, r.LastUpdatedBy, r.Outputs})
}

// field is one member of a JSON object, in document order.
type field struct {
	Key string
	Val json.RawMessage
}

// objectFields splits a JSON object into its members, keeping their order.
func objectFields(raw json.RawMessage) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	t, err := dec.Token()
	if err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	var out []field
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, field{kt.(string), v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return out, nil
}

// encodeFields writes members back as one compact object.
func encodeFields(fs []field) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(jsonString(f.Key))
		b.WriteByte(':')
		b.Write(f.Val)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// jsonString encodes s without HTML escaping.
func jsonString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return bytes.TrimRight(b.Bytes(), "\n")
}

// compact trims a JSON value to its compact form.
func compact(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}

// isNull reports whether raw is absent or JSON null.
func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// isObject reports whether raw is a JSON object.
func isObject(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '{'
}

// mergeObjects is Python's dict.update: b's members replace a's of the
// same key in place, and new ones follow.
func mergeObjects(a, b json.RawMessage) json.RawMessage {
	if isNull(a) {
		return compact(b)
	}
	af, err1 := objectFields(a)
	bf, err2 := objectFields(b)
	if err1 != nil || err2 != nil {
		return compact(b)
	}
	for _, f := range bf {
		found := false
		for i := range af {
			if af[i].Key == f.Key {
				af[i].Val, found = f.Val, true
				break
			}
		}
		if !found {
			af = append(af, f)
		}
	}
	return encodeFields(af)
}

// stringMember returns obj[key] when it is a JSON string.
func stringMember(obj json.RawMessage, key string) string {
	fs, err := objectFields(obj)
	if err != nil {
		return ""
	}
	for _, f := range fs {
		if f.Key == key {
			var s string
			if json.Unmarshal(f.Val, &s) == nil {
				return s
			}
		}
	}
	return ""
}

// canonicalHash identifies inputs independently of key order and spacing:
// sha256 of the JSON with object keys sorted at every level, as MLflow
// hashes json.dumps(inputs, sort_keys=True).
func canonicalHash(raw json.RawMessage) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	dec.Decode(&v)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v) // maps are written with sorted keys
	sum := sha256.Sum256(bytes.TrimSpace(b.Bytes()))
	return hex.EncodeToString(sum[:])
}

// ParseEvalRecords reads the records field of an upsert request: a JSON
// list of objects with inputs, outputs, expectations, tags and source
// (other keys are ignored, as MLflow does). Errors name the record.
func ParseEvalRecords(s string) ([]EvalRecordInput, error) {
	var list []json.RawMessage
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		return nil, InvalidParameterf("Invalid value for parameter 'records': it must be a JSON list of record objects: %v", err)
	}
	out := make([]EvalRecordInput, 0, len(list))
	for i, raw := range list {
		rec, err := parseEvalRecord(raw)
		if err != nil {
			return nil, InvalidParameterf("Invalid record %d in 'records': %v", i, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

func parseEvalRecord(raw json.RawMessage) (EvalRecordInput, error) {
	var rec EvalRecordInput
	if !isObject(raw) {
		return rec, fmt.Errorf("a record must be a JSON object")
	}
	fs, err := objectFields(raw)
	if err != nil {
		return rec, err
	}
	rec.Inputs = json.RawMessage("{}")
	for _, f := range fs {
		switch f.Key {
		case "inputs":
			if !isObject(f.Val) {
				return rec, fmt.Errorf("inputs must be a JSON object")
			}
			rec.Inputs = compact(f.Val)
		case "outputs":
			rec.HasOutputs = true
			if !isNull(f.Val) {
				rec.Outputs = compact(f.Val)
			}
		case "expectations", "tags":
			if isNull(f.Val) {
				continue
			}
			if !isObject(f.Val) {
				return rec, fmt.Errorf("%s must be a JSON object", f.Key)
			}
			if f.Key == "tags" {
				rec.Tags = compact(f.Val)
			} else {
				rec.Expectations = compact(f.Val)
			}
		case "source":
			if isNull(f.Val) {
				continue
			}
			if err := rec.parseSource(f.Val); err != nil {
				return rec, err
			}
		}
	}
	rec.InputHash = canonicalHash(rec.Inputs)
	return rec, nil
}

// parseSource reads {"source_type": "trace", "source_data": {...}}.
func (rec *EvalRecordInput) parseSource(raw json.RawMessage) error {
	if !isObject(raw) {
		return fmt.Errorf("source must be a JSON object with source_type and source_data")
	}
	fs, err := objectFields(raw)
	if err != nil {
		return err
	}
	var typ string
	data := json.RawMessage("{}")
	for _, f := range fs {
		switch f.Key {
		case "source_type":
			if json.Unmarshal(f.Val, &typ) != nil {
				return fmt.Errorf("source.source_type must be a string")
			}
		case "source_data":
			if isNull(f.Val) {
				continue
			}
			if !isObject(f.Val) {
				return fmt.Errorf("source.source_data must be a JSON object")
			}
			data = compact(f.Val)
		default:
			return fmt.Errorf("unknown source field %q; expected source_type and source_data", f.Key)
		}
	}
	up := strings.ToUpper(typ)
	ok := false
	for _, t := range recordSourceTypes {
		ok = ok || t == up
	}
	if !ok {
		return fmt.Errorf("invalid dataset record source type: %s. Valid source types: %s", up, strings.Join(recordSourceTypes, ", "))
	}
	rec.Source = encodeFields([]field{{"source_type", jsonString(up)}, {"source_data", data}})
	rec.SourceType = up
	idKey := "source_id"
	if up == "TRACE" {
		idKey = "trace_id"
	}
	rec.SourceID = stringMember(data, idKey)
	return nil
}

// NewEvalRecord is the record an upsert inserts for in: outputs default to
// {} when absent, and the mlflow.user tag names its author.
func NewEvalRecord(id, datasetID string, in EvalRecordInput, now int64) EvalRecord {
	r := EvalRecord{RecordID: id, DatasetID: datasetID, Inputs: in.Inputs, Expectations: in.Expectations, Tags: in.Tags,
		Source: in.Source, SourceID: in.SourceID, SourceType: in.SourceType, CreatedTime: now, LastUpdateTime: now}
	switch {
	case !in.HasOutputs:
		r.Outputs = json.RawMessage("{}")
	default:
		r.Outputs = in.Outputs
	}
	if r.Tags == nil {
		r.Tags = json.RawMessage("{}")
	}
	r.CreatedBy = stringMember(in.Tags, UserTagKey)
	r.LastUpdatedBy = r.CreatedBy
	return r
}

// MergeEvalRecord applies an upsert of the same inputs to a stored record:
// outputs are replaced when given, expectations and tags merged key by
// key; the source and creation fields stay.
func MergeEvalRecord(r *EvalRecord, in EvalRecordInput, now int64) {
	if in.HasOutputs {
		r.Outputs = in.Outputs
	}
	if nonEmptyObject(in.Expectations) {
		r.Expectations = mergeObjects(r.Expectations, in.Expectations)
	}
	if nonEmptyObject(in.Tags) {
		r.Tags = mergeObjects(r.Tags, in.Tags)
		if u := stringMember(in.Tags, UserTagKey); u != "" {
			r.LastUpdatedBy = u
		}
	}
	r.LastUpdateTime = now
}

func nonEmptyObject(raw json.RawMessage) bool {
	fs, err := objectFields(raw)
	return err == nil && len(fs) > 0
}

// UpsertAuthor is who an upsert's dataset update is recorded as: the
// mlflow.user tag of the last record carrying one, else nobody (MLflow
// clears last_updated_by then).
func UpsertAuthor(recs []EvalRecordInput) string {
	u := ""
	for _, r := range recs {
		if v := stringMember(r.Tags, UserTagKey); v != "" {
			u = v
		}
	}
	return u
}

// jsonType names a JSON value's type as MLflow's schema inference does.
func jsonType(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "unknown"
	}
	switch t[0] {
	case 'n':
		return "null"
	case 't', 'f':
		return "boolean"
	case '"':
		return "string"
	case '[':
		return "array"
	case '{':
		return "object"
	}
	if bytes.ContainsAny(t, ".eE") {
		return "float"
	}
	return "integer"
}

// addTypes records the type of each member of obj not yet in fs.
func addTypes(fs []field, obj json.RawMessage) []field {
	members, err := objectFields(obj)
	if err != nil {
		return fs
	}
	for _, m := range members {
		known := false
		for _, f := range fs {
			known = known || f.Key == m.Key
		}
		if !known {
			fs = append(fs, field{m.Key, jsonString(jsonType(m.Val))})
		}
	}
	return fs
}

// UpdateEvalSchema extends a dataset's schema with the fields of recs, as
// MLflow's _update_dataset_schema: {"inputs": {name: type}, "outputs":
// {name: type} (or one type for non-object outputs), "expectations":
// {...}, "version": "1.0"}. Fields already known keep their type. It
// returns existing unchanged when there is nothing to add, and "" when
// there is no schema yet and no record.
func UpdateEvalSchema(existing string, recs []EvalRecordInput) string {
	if len(recs) == 0 && existing == "" {
		return ""
	}
	top := []field{{"inputs", json.RawMessage("{}")}, {"outputs", json.RawMessage("{}")}, {"expectations", json.RawMessage("{}")}, {"version", json.RawMessage(`"1.0"`)}}
	if existing != "" {
		fs, err := objectFields(json.RawMessage(existing))
		if err != nil {
			return existing // not ours to repair
		}
		top = fs
	}
	member := func(key string) *field {
		for i := range top {
			if top[i].Key == key {
				return &top[i]
			}
		}
		top = append(top, field{key, json.RawMessage("{}")})
		return &top[len(top)-1]
	}
	extend := func(key string, obj json.RawMessage) {
		f := member(key)
		sub, err := objectFields(f.Val)
		if err != nil {
			return // a single output type: MLflow cannot extend it either
		}
		f.Val = encodeFields(addTypes(sub, obj))
	}
	for _, r := range recs {
		if nonEmptyObject(r.Inputs) {
			extend("inputs", r.Inputs)
		}
		if r.HasOutputs && r.Outputs != nil {
			if isObject(r.Outputs) {
				extend("outputs", r.Outputs)
			} else if f := member("outputs"); string(f.Val) == "{}" {
				f.Val = jsonString(jsonType(r.Outputs))
			}
		}
		if nonEmptyObject(r.Expectations) {
			extend("expectations", r.Expectations)
		}
	}
	return model.PythonJSON(string(compact(encodeFields(top))))
}

// EvalProfile is the profile MLflow keeps on a dataset with n records;
// "" for none (the profile is then left as it was).
func EvalProfile(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(`{"num_records": %d}`, n)
}

// EvalDigest is MLflow's digest of a dataset state: the first 8 hex digits
// of sha256("<name>:<last_update_time>").
func EvalDigest(name string, lastUpdate int64) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s:%d", name, lastUpdate)))
	return hex.EncodeToString(sum[:])[:8]
}
