package tracking

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecodeJSONKeysAreCaseSensitive(t *testing.T) {
	for _, c := range []struct {
		body string
		bad  bool
	}{
		{`{"name":"m","alias":"a","version":"1"}`, false},
		{`{"NAME":"m","alias":"a","version":"1"}`, true},
		{`{"name":"m","Alias":"a"}`, true},
		{`{"name":"m","alias":"a","note":"NAME"}`, false}, // a value, not a key
		{`{"name":"\"NAME\"","alias":"a"}`, false},        // quoted text inside a value
		{`{"name":"m","extra":{"NAME":1}}`, false},        // unknown field: not ours to check
		{"{\"name\":\"m\",\"\u212alias\":\"a\"}", false},  // no field folds to that
		{"{\"name\":\"m\",\"\u212aey\":\"a\"}", false},    // aliasReq has no key field
		{`{"name":"m","version":"1","alias":"a","nAmE":"x"}`, true},
	} {
		var r aliasReq
		err := DecodeJSON([]byte(c.body), &r)
		if got := err != nil; got != c.bad {
			t.Errorf("%s: err %v, want error %v", c.body, err, c.bad)
		}
	}
	// Nested: a tag's key in another case, and the Kelvin sign.
	for _, body := range []string{`{"run_id":"r","tags":[{"KEY":"k","value":"v"}]}`, "{\"run_id\":\"r\",\"tags\":[{\"\u212aey\":\"k\",\"value\":\"v\"}]}",
		`{"run_id":"r","metrics":[{"Key":"m","value":1,"timestamp":1}]}`} {
		var r logBatchReq
		if err := DecodeJSON([]byte(body), &r); err == nil {
			t.Errorf("%s accepted: %+v", body, r)
		}
	}
}

func TestValidateNoNUL(t *testing.T) {
	for body, bad := range map[string]bool{
		`{"a":"x\u0000y"}`:    true,
		`{"a\u0000":"x"}`:     true,
		`{"a":"x\\u0000y"}`:   false,
		`{"a":"x\\\u0000y"}`:  true,
		`{"a":"x\\\\u0000y"}`: false,
		`{"a":"u0000"}`:       false,
		`{"a":"\u00000"}`:     true,
	} {
		err := ValidateNoNUL([]byte(body))
		if (err != nil) != bad {
			t.Errorf("%s: %v, want error %v", body, err, bad)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v is not INVALID_PARAMETER_VALUE", body, err)
		}
	}
}

// FuzzValidateNoNUL: for any body that is valid JSON, ValidateNoNUL
// refuses it exactly when a decoded string (key or value) holds NUL.
func FuzzValidateNoNUL(f *testing.F) {
	for _, s := range []string{`{"a":"x\u0000"}`, `{"a":"\\u0000"}`, `["\\\u0000"]`, `{"k\u0000":1}`, `"plain"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var v any
		if json.Unmarshal([]byte(body), &v) != nil {
			return
		}
		if got, want := ValidateNoNUL([]byte(body)) != nil, hasNUL(v); got != want {
			t.Fatalf("%q: refused %v, holds NUL %v", body, got, want)
		}
	})
}

func hasNUL(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.IndexByte(x, 0) >= 0
	case []any:
		for _, e := range x {
			if hasNUL(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range x {
			if strings.IndexByte(k, 0) >= 0 || hasNUL(e) {
				return true
			}
		}
	}
	return false
}
