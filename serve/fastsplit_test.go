package serve

import (
	"reflect"
	"testing"

	"github.com/dawn-ml/dawn/model"
)

// generalParse is parseJSON without the fast path.
func generalParse(body []byte, sig *signature) (*table, error) {
	v, err := parseValue(body)
	if err != nil {
		return nil, err
	}
	top, ok := v.(map[string]any)
	if !ok || len(top) != 1 {
		return nil, badRequest("not a lone dataframe_split")
	}
	return fromSplit(top["dataframe_split"], sig)
}

var splitSeeds = []string{
	`{"dataframe_split": {"columns": ["text"], "data": [["Check out my channel 😀\ufeff"]]}}`,
	`{"dataframe_split": {"columns": ["text", "x"], "data": [["buy now", 1.5], ["hello", null], ["", -2e3]]}}`,
	` { "dataframe_split" : { "columns" : [ "x" , "text" ] , "data" : [ ] } } `,
	`{"dataframe_split": {"columns": ["x", "text"], "index": [0, 1], "data": [[null, "a"], [3, "b\n\"c\""]]}}`,
	`{"dataframe_split": {"columns": ["text", "extra"], "data": [["a", {"k": [1, 2]}], ["b", "c"]]}}`,
	`{"dataframe_split": {"columns": ["text"], "data": [["a"]]}, "params": {"k": 1}}`,
	`{"dataframe_split": {"columns": ["x"], "data": [[1]]}}`,
	`{"dataframe_split": {"columns": ["text"], "data": [[null]]}}`,
	`{"dataframe_split": {"columns": ["text"], "data": [[1]]}}`,
	`{"dataframe_split": {"columns": ["text", "text"], "data": [["a", "b"]]}}`,
	`{"dataframe_split": {"data": [["a"]], "columns": ["text"]}}`,
	`{"dataframe_split": {"columns": ["text"], "data": [["a", "b"]]}}`,
	`{"dataframe_split": {"columns": ["text"], "columns": ["text"], "data": [["a"]]}}`,
	`{"dataframe_split": {"columns": ["text"], "data": [["a"]]}} x`,
	`{"dataframe_split": {"columns": ["te\u0078t"], "data": [["\ud83d\ude00 \xff"]]}}`,
	`{"dataframe_split": {"columns": ["text", "x"], "data": [["a", 1e999]]}}`,
}

// checkSplitFast fails when the fast path accepts a request and builds a
// different table than the general path, or accepts one it refuses.
func checkSplitFast(t *testing.T, body []byte, sig *signature) bool {
	t.Helper()
	fast, ok := parseSplitFast(body, sig, unlimited)
	if !ok {
		return false
	}
	want, err := generalParse(body, sig)
	if err != nil {
		t.Fatalf("%s: fast path accepted what the general path refuses: %v", body, err)
	}
	if fast.n != want.n || fast.sig != want.sig || !reflect.DeepEqual(fast.cols, want.cols) || !reflect.DeepEqual(fast.ctx, want.ctx) {
		t.Fatalf("%s:\nfast    %d rows %+v %+v\ngeneral %d rows %+v %+v", body, fast.n, fast.cols, fast.ctx, want.n, want.cols, want.ctx)
	}
	return true
}

func TestParseSplitFastMatchesGeneral(t *testing.T) {
	sig, err := newSignature((&spamModel{}).Info().Inputs)
	if err != nil {
		t.Fatal(err)
	}
	accepted := 0
	for _, s := range splitSeeds {
		if checkSplitFast(t, []byte(s), sig) {
			accepted++
		}
	}
	// The first five (plain, nulls, no rows, "index", an ignored extra
	// column) must take the fast path; the rest may not.
	for _, s := range splitSeeds[:5] {
		if _, ok := parseSplitFast([]byte(s), sig, unlimited); !ok {
			t.Errorf("fast path refused %s", s)
		}
	}
	if accepted > 7 {
		t.Errorf("fast path accepted %d seeds; the unusual ones should go the general way", accepted)
	}
}

func FuzzParseSplitFast(f *testing.F) {
	for _, s := range splitSeeds {
		f.Add([]byte(s))
	}
	sigs := []*signature{}
	for _, in := range [][]model.Column{
		(&spamModel{}).Info().Inputs,
		{{Name: "text", Type: "string", Optional: true}, {Name: "x", Type: "float"}},
	} {
		s, err := newSignature(in)
		if err != nil {
			f.Fatal(err)
		}
		sigs = append(sigs, s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, sig := range sigs {
			checkSplitFast(t, b, sig)
		}
	})
}
