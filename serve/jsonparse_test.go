package serve

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func stdDecode(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if !json.Valid(b) { // trailing garbage
		return nil, json.Unmarshal(b, &v)
	}
	return v, nil
}

var jsonSeeds = []string{
	`{"dataframe_split": {"columns": ["text"], "data": [["a"]]}}`,
	`[1, -2.5e+10, 0, -0, 1E3, 0.125, true, false, null, "x"]`,
	`{"a": {"b": [[], {}]}, "a": 2}`,
	`"esc \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00 \ud800 \udc00x \ud800\u0041"`,
	"\"raw \xff bytes é\"", "\"valid é 日本 😀\ufeff then \\n escape\"", "\"é then bad \xe2\x82\"", "\"trunc \xe2\x82",
	`  {"k" : [ 1 , 2 ] }  `,
	`01`, `1.`, `1e`, `-`, `{"a" 1}`, `[1,]`, `{"a":1,}`, `tru`, `"\x"`, `"\u12"`, "\"ctl \x01\"", `[1] 2`, ``,
}

func TestParseValueMatchesEncodingJSON(t *testing.T) {
	for _, s := range jsonSeeds {
		checkParse(t, []byte(s))
	}
	deep := strings.Repeat("[", 10001) + strings.Repeat("]", 10001)
	if _, err := parseValue([]byte(deep)); err == nil {
		t.Error("nesting beyond 10000 accepted")
	}
}

func checkParse(t *testing.T, b []byte) {
	t.Helper()
	want, werr := stdDecode(b)
	got, gerr := parseValue(b)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%q: encoding/json err %v, parseValue err %v", b, werr, gerr)
	}
	if werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: got %#v, want %#v", b, got, want)
	}
}

func FuzzParseValue(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if bytes.Count(b, []byte("[")) > 5000 {
			return // encoding/json's depth limit differs in how it counts
		}
		checkParse(t, b)
	})
}

func BenchmarkParseJSONRequest(b *testing.B) {
	sig, _ := newSignature((&spamModel{}).Info().Inputs)
	body := []byte(`{"dataframe_split": {"columns": ["text"], "data": [["Check out my channel, please subscribe!"]]}}`)
	for b.Loop() {
		if _, err := parseJSON(body, sig, unlimited); err != nil {
			b.Fatal(err)
		}
	}
}
