package featurize

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// goldenTexts mix what YouTube comments hold: ASCII words of both cases,
// digits, '_', URLs, punctuation, accented and non-Latin letters, emoji,
// the trailing U+FEFF the UCI comments carry, one-character tokens, invalid
// UTF-8, and characters whose lower case is not a plain ASCII shift (the
// Kelvin sign, 'İ', Greek capital sigma).
var goldenTexts = []string{
	"Check out my channel, please subscribe!\ufeff",
	"CHECK OUT MY CHANNEL PLEASE SUBSCRIBE",
	"pls http://www10.vakinha.com.br/VaquinhaE.aspx?e=313327 help me get vip gun  cross fire al\ufeff",
	"i am 2,126,492,636 viewer :D\ufeff",
	"Follow 4 Follow                           @ VaahidMustafic Like 4 Like \ufeff",
	"Café Ünïcode ÜNÏCODE naïve façade 日本語 テスト 😀😀 ok",
	"snake_case_words and __dunder__ x y z ab",
	"\xff\xfe broken utf8 Ü\xc3 ab\xe2\x82cd",
	"K-sign \u212a\u212aelvin İstanbul ΣΊΣΥΦΟΣ ǅungla",
	"",
	"a",
	"repeat repeat repeat repeat repeat repeat",
	"Hey guys please check out my new Google+ page it has many funny pictures,  FunnyTortsPics  https://plus.google.com/112720997191206369631/post\ufeff",
}

// TestTransformGolden pins Transform's exact output (indices and values of
// every row) for fixed inputs and configurations: saved models were trained
// on these features, so any change to hashing or tokenizing that alters
// them breaks every model already saved. Run with -update only for an
// intended change of the feature spec, and version the spec when you do.
func TestTransformGolden(t *testing.T) {
	cats := make([]string, len(goldenTexts))
	nums := make([]float64, len(goldenTexts))
	for i := range cats {
		cats[i] = []string{"red", "green", "blue", "Ünï"}[i%4]
		nums[i] = float64(i*i) - 7
	}
	// u is t rotated, so that a row's two text columns differ.
	u := append(append([]string(nil), goldenTexts[3:]...), goldenTexts[:3]...)
	rec := batch(t, "t", goldenTexts, "u", u, "c", cats, "d", cats, "x", nums)
	configs := []struct {
		name string
		cfg  Config
	}{
		{"words2 lower (the serving benchmark's model)", Config{Text: []Text{{Column: "t", Words: 2, Lower: true}}}},
		{"words1 case-sensitive bits10", Config{Text: []Text{{Column: "t", Words: 1}}, Bits: 10}},
		{"words3 tfidf", Config{Text: []Text{{Column: "t", Words: 3, Lower: true, TFIDF: true}}, Bits: 12}},
		{"chars2-4 lower", Config{Text: []Text{{Column: "t", CharMin: 2, CharMax: 4, Lower: true}}, Bits: 12}},
		{"words2+chars3 tfidf", Config{Text: []Text{{Column: "t", Words: 2, CharMin: 3, CharMax: 3, Lower: true, TFIDF: true}}, Bits: 14}},
		{"two text columns, hashed and one-hot categoricals, numeric", Config{
			Text:        []Text{{Column: "t", Words: 2, Lower: true}, {Column: "u", Words: 1, CharMin: 1, CharMax: 2}},
			Numeric:     []string{"x"},
			Categorical: []Categorical{{Column: "c", Hashed: true}, {Column: "d"}},
			Bits:        8,
		}},
	}
	var b strings.Builder
	for _, c := range configs {
		f, err := Fit(c.cfg, []arrow.RecordBatch{rec})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		m := transform(t, f, rec)
		fmt.Fprintf(&b, "### %s\n", c.name)
		for i := 0; i < m.Rows(); i++ {
			idx, val := m.Row(i)
			fmt.Fprintf(&b, "%d:", i)
			for k := range idx {
				fmt.Fprintf(&b, " %d:%g", idx[k], val[k])
			}
			b.WriteByte('\n')
		}
	}
	path := filepath.Join("testdata", "transform.golden")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run Golden -update)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("Transform output differs from %s: saved models would score differently", path)
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < min(len(gl), len(wl)); i++ {
			if gl[i] != wl[i] {
				t.Errorf("first difference at line %d:\n got %s\nwant %s", i+1, gl[i], wl[i])
				break
			}
		}
	}
}
