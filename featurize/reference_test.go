package featurize

import (
	"slices"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
)

// refRow is the first, plain implementation of one text column's features
// (a rune-by-rune tokenizer with the unicode package, then a sort), kept as
// the reference the optimized Transform must match exactly.
func refRow(t *Text, col uint64, s string, dim int) ([]int32, []float32) {
	var idx []int32
	if t.Words > 0 {
		var toks []uint64
		h, n := uint64(0), 0
		for i := 0; i <= len(s); {
			r, size := rune(-1), 1
			if i < len(s) {
				r, size = utf8.DecodeRuneInString(s[i:])
			}
			if r >= 0 && (r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
				if n == 0 {
					h = fnvSeed(col)
				}
				if t.Lower {
					r = unicode.ToLower(r)
				}
				h = (h ^ uint64(r)) * fnvPrime
				n++
			} else {
				if n >= 2 {
					toks = append(toks, h)
				}
				n = 0
			}
			i += size
		}
		for a := range toks {
			g := uint64(0x9e3779b97f4a7c15) ^ col
			for k := 0; k < t.Words && a+k < len(toks); k++ {
				g = (g ^ toks[a+k]) * fnvPrime
				g = mix(g + uint64(k))
				idx = append(idx, bucket(g, dim))
			}
		}
	}
	if t.CharMax > 0 {
		var runes []rune
		for _, r := range s {
			if t.Lower {
				r = unicode.ToLower(r)
			}
			runes = append(runes, r)
		}
		for a := range runes {
			g := fnvSeed(col ^ 0xc4a2)
			for k := 0; k < t.CharMax && a+k < len(runes); k++ {
				g = (g ^ uint64(runes[a+k])) * fnvPrime
				if k+1 >= t.CharMin {
					idx = append(idx, bucket(g+uint64(k)<<56, dim))
				}
			}
		}
	}
	slices.Sort(idx)
	var outI []int32
	var outV []float32
	for _, j := range idx {
		if len(outI) > 0 && outI[len(outI)-1] == j {
			outV[len(outV)-1]++
			continue
		}
		outI, outV = append(outI, j), append(outV, 1)
	}
	return outI, outV
}

// FuzzTransformMatchesReference: for any text and word/char settings,
// Transform's row is exactly the reference implementation's.
func FuzzTransformMatchesReference(f *testing.F) {
	for _, s := range goldenTexts {
		f.Add(s, 2, 0, 0, true, 18)
	}
	f.Add("Check out my channel!! http://x.y", 3, 2, 4, true, 10)
	f.Add("\xff\xfe broken utf8 Ü \u212a ΣΣ", 2, 1, 3, false, 6)
	f.Add("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bb bb bb bb bb bb bb bb bb bb bb bb bb bb", 2, 1, 5, true, 4)
	f.Fuzz(func(t *testing.T, s string, words, cmin, cmax int, lower bool, bits int) {
		tx := Text{Column: "t", Words: words, CharMin: cmin, CharMax: cmax, Lower: lower}
		rec := batch(t, "t", []string{s})
		fz, err := Fit(Config{Text: []Text{tx}, Bits: bits}, []arrow.RecordBatch{rec})
		if err != nil {
			return // invalid config
		}
		m := NewMatrix(fz.Dim())
		// Twice into the same matrix: the second row must not see the
		// first's leftovers in the reused scratch.
		for range 2 {
			if err := fz.Transform(rec, m); err != nil {
				t.Fatal(err)
			}
		}
		wi, wv := refRow(&tx, 0, s, fz.Dim())
		for r := range 2 {
			gi, gv := m.Row(r)
			if !slices.Equal(gi, wi) || !slices.Equal(gv, wv) {
				t.Fatalf("row %d of %q:\n got %v %v\nwant %v %v", r, s, gi, gv, wi, wv)
			}
		}
	})
}
