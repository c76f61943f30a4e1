package tracking

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
)

// Enum is an enum field that may arrive as its name or its number.
type Enum string

// UnmarshalJSON accepts "ACTIVE_ONLY" and 1 alike.
func (e *Enum) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*e = Enum(s)
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	if _, err := strconv.ParseInt(string(b), 10, 64); err != nil {
		return fmt.Errorf("%s is not an enum value", b)
	}
	*e = Enum(b)
	return nil
}

// DecodeRequest fills dst (a pointer to a request struct) from r: the query
// string for GET (and for bodiless DELETE), else the JSON body. Unknown
// fields are ignored, as MLflow does; wrong types, malformed JSON and bodies
// over MaxRequestBytes are INVALID_PARAMETER_VALUE.
func DecodeRequest(w http.ResponseWriter, r *http.Request, dst any) error {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return decodeQuery(r.URL.Query(), dst)
	}
	body, err := ReadBody(w, r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if r.Method == http.MethodPost && r.URL.RawQuery == "" {
			body = []byte("{}")
		} else {
			return decodeQuery(r.URL.Query(), dst)
		}
	} else if ct := r.Header.Get("Content-Type"); r.Method == http.MethodPost {
		mt, _, _ := mime.ParseMediaType(ct)
		if mt != "application/json" {
			return InvalidParameterf("Bad Request. Content-Type must be application/json, got %q", ct)
		}
	}
	return DecodeJSON(body, dst)
}

// ReadBody reads r's body, at most MaxRequestBytes; a longer body, or one
// that cannot be read, is INVALID_PARAMETER_VALUE. The buffer is sized
// from Content-Length (within the limit), so a 1000-metric log-batch body
// is read without growing it step by step. A nil body (a request built in
// process) reads as empty.
func ReadBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	buf := bytes.NewBuffer(make([]byte, 0, min(max(r.ContentLength, 0), MaxRequestBytes)+bytes.MinRead))
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, MaxRequestBytes)); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, InvalidParameterf("Request body exceeds the limit of %d bytes", MaxRequestBytes)
		}
		return nil, InvalidParameterf("Could not read request body: %v", err)
	}
	return buf.Bytes(), nil
}

// DecodeJSON decodes one JSON object into dst, naming the offending field on
// a type mismatch.
func DecodeJSON(body []byte, dst any) error {
	if f, ok := dst.(fastDecoder); ok && f.decodeFast(body) {
		return nil
	}
	return decodeJSONGeneral(body, dst)
}

// decodeJSONGeneral is DecodeJSON without the fast path.
func decodeJSONGeneral(body []byte, dst any) error {
	if err := ValidateNoNUL(body); err != nil {
		return err
	}
	if t := reflect.TypeOf(dst); t != nil && mayFoldKeys(body, t) {
		if err := checkKeys(body, t); err != nil {
			return err
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(dst); err != nil {
		var he *Error
		if errors.As(err, &he) {
			return err // a field's own check, already in MLflow's words
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return InvalidParameterf("Malformed JSON request body at offset %d: %v", se.Offset, err)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return InvalidParameterf("Malformed JSON request body: %v", err)
		}
		// MLflow's wording: the top-level parameter and its JSON value.
		if name, raw, ok := badField(body, dst); ok {
			return invalidValue(name, raw)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return InvalidParameterf("Invalid value for parameter '%s' supplied: expected %s, got a JSON %s", te.Field, jsonKind(te.Type), te.Value)
		}
		return InvalidParameterf("Invalid value in request body: %v", err)
	}
	if dec.More() {
		return InvalidParameterf("Malformed JSON request body: data after the JSON object")
	}
	if t, err := dec.Token(); err != io.EOF {
		return InvalidParameterf("Malformed JSON request body: unexpected %v after the JSON object", t)
	}
	return nil
}

// fastDecoder is a request type with a one-pass decoder for its common
// shape: decodeFast reports false, leaving the request untouched, for any
// body it does not take (escapes, unknown or duplicate fields, other
// types), and DecodeJSON then decodes it the general way. It takes no
// string with an escape or a byte outside printable ASCII, and only
// exact field names, so the NUL and case-folding checks hold for what it
// takes.
type fastDecoder interface {
	decodeFast(body []byte) bool
}

// jsonKind names a Go type the way a JSON client thinks of it.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Bool:
		return "a boolean"
	}
	return "a number"
}

// badField finds the first top-level field of body that does not decode
// into its field of *dst, in dst's field order.
func badField(body []byte, dst any) (string, json.RawMessage, bool) {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return "", nil, false
	}
	t := reflect.TypeOf(dst).Elem()
	if t.Kind() != reflect.Struct {
		return "", nil, false
	}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		raw, ok := top[name]
		if name == "" || name == "-" || !ok {
			continue
		}
		if json.Unmarshal(raw, reflect.New(t.Field(i).Type).Interface()) != nil {
			return name, raw, true
		}
	}
	return "", nil, false
}

// invalidValue is MLflow's message for a request field of the wrong type:
// Invalid value 123 for parameter 'name' supplied:  Hint: Value was of
// type 'int'. See the API docs for more information about request
// parameters. The value is compact JSON with sorted keys, and the type is
// the Python type name MLflow reports.
func invalidValue(name string, raw json.RawMessage) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	_ = dec.Decode(&v)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	typ := "NoneType"
	switch x := v.(type) {
	case string:
		typ = "str"
	case bool:
		typ = "bool"
	case json.Number:
		typ = "int"
		if strings.ContainsAny(string(x), ".eE") {
			typ = "float"
		}
	case []any:
		typ = "list"
	case map[string]any:
		typ = "dict"
	}
	return InvalidParameterf("Invalid value %s for parameter '%s' supplied:  Hint: Value was of type '%s'. See the API docs for more information about request parameters.",
		strings.TrimSpace(buf.String()), name, typ)
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// decodeQuery fills the json-tagged fields of *dst from query parameters;
// repeated keys fill slices.
func decodeQuery(q url.Values, dst any) error {
	v := reflect.ValueOf(dst).Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		vals, ok := q[name]
		if !ok || len(vals) == 0 {
			continue
		}
		for _, v := range vals {
			if strings.IndexByte(v, 0) >= 0 {
				return nulError(name)
			}
		}
		fv := v.Field(i)
		if err := setFromStrings(fv, vals); err != nil {
			return InvalidParameterf("Invalid value for parameter '%s': %v", name, err)
		}
	}
	return nil
}

func setFromStrings(fv reflect.Value, vals []string) error {
	if fv.Kind() == reflect.Pointer {
		p := reflect.New(fv.Type().Elem())
		if err := setFromStrings(p.Elem(), vals); err != nil {
			return err
		}
		fv.Set(p)
		return nil
	}
	if fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.String {
		s := reflect.MakeSlice(fv.Type(), 0, len(vals))
		for _, x := range vals {
			s = reflect.Append(s, reflect.ValueOf(x).Convert(fv.Type().Elem()))
		}
		fv.Set(s)
		return nil
	}
	raw := vals[0]
	if fv.Addr().Type().Implements(unmarshalerType) {
		js, _ := json.Marshal(raw)
		return fv.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(js)
	}
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("%q is not a boolean", raw)
		}
		fv.SetBool(b)
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not an integer", raw)
		}
		fv.SetInt(n)
	default:
		return fmt.Errorf("cannot be given in a query string")
	}
	return nil
}
