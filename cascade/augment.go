package cascade

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Fragments returns the pieces of s that LinearTrainer.Augment has the
// reference label as extra training rows: its sentences (split at . ! ?
// and line breaks, when there are several), the first and second half of
// its words (from 4 words), and windows of 4 words every 2 words (from 7
// words). Pieces shorter than 3 bytes, equal to s, or repeated are left out.
//
// A reference that scores text by its parts (a linear model over n-grams,
// as most text classifiers are near their decision boundary) answers the
// pieces by the same evidence it uses for the whole; the cheap model,
// trained on many more of the reference's answers than the sample has
// rows, learns that evidence more exactly.
func Fragments(s string) []string {
	var out []string
	whole := strings.TrimSpace(s)
	seen := map[string]bool{whole: true}
	add := func(x string) {
		x = strings.TrimSpace(x)
		if len(x) < 3 || seen[x] {
			return
		}
		seen[x] = true
		out = append(out, x)
	}
	if sent := strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '!' || r == '?' || r == '\n' }); len(sent) > 1 {
		for _, x := range sent {
			add(x)
		}
	}
	w := strings.Fields(s)
	if len(w) >= 4 {
		add(strings.Join(w[:len(w)/2], " "))
		add(strings.Join(w[len(w)/2:], " "))
	}
	if len(w) > 6 {
		for a := 0; a+4 <= len(w); a += 2 {
			add(strings.Join(w[a:a+4], " "))
		}
	}
	return out
}

// stringColumn returns the values of rec's string column name ("" for
// nulls).
func stringColumn(rec arrow.RecordBatch, name string) ([]string, error) {
	idx := rec.Schema().FieldIndices(name)
	if len(idx) == 0 {
		return nil, fmt.Errorf("cascade: no column %q in the sample", name)
	}
	out := make([]string, rec.NumRows())
	switch a := rec.Column(idx[0]).(type) {
	case *array.String:
		for i := range out {
			if !a.IsNull(i) {
				out[i] = a.Value(i)
			}
		}
	case *array.LargeString:
		for i := range out {
			if !a.IsNull(i) {
				out[i] = a.Value(i)
			}
		}
	default:
		return nil, fmt.Errorf("cascade: column %q is %s, not text", name, a.DataType())
	}
	return out, nil
}

// stringBatch makes a one-column batch of texts.
func stringBatch(name string, texts []string) arrow.RecordBatch {
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(texts, nil)
	a := b.NewArray()
	defer a.Release()
	sch := arrow.NewSchema([]arrow.Field{{Name: name, Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	return array.NewRecordBatch(sch, []arrow.Array{a}, int64(len(texts)))
}
