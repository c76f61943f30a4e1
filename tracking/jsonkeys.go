package tracking

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
)

// MLflow decodes request bodies as protobuf JSON, whose field names are
// case-sensitive; encoding/json matches them case-insensitively (and with
// Unicode folding: "\u212aey" is "key"). A request such as
// {"NAME": "prod"} must not name a model for the handler that nothing else
// sees, so a key that matches a field only by folding is rejected.

// fieldNames lists, per request type, every JSON field name reachable in
// it (nested structs and slices of structs included), lower-cased.
var fieldNames sync.Map // reflect.Type -> []string

func namesOf(t reflect.Type) []string {
	if v, ok := fieldNames.Load(t); ok {
		return v.([]string)
	}
	seen := map[string]bool{}
	var walk func(reflect.Type, int)
	walk = func(t reflect.Type, depth int) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || depth > 8 {
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			seen[strings.ToLower(name)] = true
			walk(f.Type, depth+1)
		}
	}
	walk(t, 0)
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	fieldNames.Store(t, out)
	return out
}

// mayFoldKeys is a cheap test that body has no key differing only in case
// from a field of t: it is true when body has non-ASCII bytes or a quoted
// field name in another case somewhere (in a key or a value), and then
// checkKeys looks properly.
func mayFoldKeys(body []byte, t reflect.Type) bool {
	for _, c := range body {
		if c >= utf8.RuneSelf {
			return true
		}
	}
	lower := bytes.ToLower(body)
	for _, n := range namesOf(t) {
		q := `"` + n + `"`
		for off := 0; ; {
			i := bytes.Index(lower[off:], []byte(q))
			if i < 0 {
				break
			}
			if string(body[off+i:off+i+len(q)]) != q {
				return true
			}
			off += i + len(q)
		}
	}
	return false
}

// checkKeys walks raw as t and reports the first object key that is not a
// field name of its struct but folds to one.
func checkKeys(raw json.RawMessage, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return nil // not a list: the decoder reports it
		}
		for _, it := range items {
			if err := checkKeys(it, t.Elem()); err != nil {
				return err
			}
		}
	case reflect.Map:
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return nil
		}
		for _, v := range m {
			if err := checkKeys(v, t.Elem()); err != nil {
				return err
			}
		}
	case reflect.Struct:
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return nil
		}
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "" && name != "-" && f.IsExported() {
				fields[name] = f.Type
			}
		}
		for k, v := range m {
			if ft, ok := fields[k]; ok {
				if err := checkKeys(v, ft); err != nil {
					return err
				}
				continue
			}
			for name := range fields {
				if strings.EqualFold(k, name) { // Unicode simple folding, as encoding/json
					return InvalidParameterf("Invalid request field '%s': field names are case-sensitive; did you mean '%s'?", k, name)
				}
			}
		}
	}
	return nil
}
