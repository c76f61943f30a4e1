package live

import (
	"encoding/json"
	"testing"
)

var idSeeds = []string{`"42"`, `42`, `-1.5e3`, `"a\"b"`, `"\u00e9t\u00e9"`, `"été"`, "\"\xff\"", `null`, `true`, `{}`, `[1]`, `""`, `"<&>"`, `0`}

// FuzzIDUnmarshal: for every valid JSON value, the fast path of
// id.UnmarshalJSON gives what encoding/json gives (decodeSlow).
func FuzzIDUnmarshal(f *testing.F) {
	for _, s := range idSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return // the decoder never passes an invalid value
		}
		b = trimSpace(b)
		var fast, slow id
		ef, es := fast.UnmarshalJSON(b), slow.decodeSlow(b)
		if (ef == nil) != (es == nil) || fast != slow {
			t.Fatalf("%q: fast %q (%v), encoding/json %q (%v)", b, fast, ef, slow, es)
		}
	})
}

// trimSpace drops the white space around a value, as the decoder does
// before calling UnmarshalJSON.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
