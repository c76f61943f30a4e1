package monitor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/explain"
)

func writeFile(t testing.TB, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLabelsJoin(t *testing.T) {
	dir := t.TempDir()
	rows, err := explain.ReadFrame(writeFile(t, dir, "rows.csv",
		"request_id,request_row,own\na,0,\na,1,\nb,0,x\nc,0,\nd,0,\n"), explain.ReadOptions{Kinds: map[string]explain.Kind{"own": explain.String}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, labels string
		want         []string // "" = no label
		n            int
	}{
		// With request_row a label is one row's; a later file wins.
		{"by row", "request_id,request_row,label\na,1,pos\nb,0,neg\nzz,0,pos\n", []string{"", "pos", "x", "", ""}, 2},
		// Without it, every row of the request.
		{"by request", "request_id,label\na,pos\nd,neg\n", []string{"pos", "pos", "x", "", "neg"}, 4},
		{"empty label skipped", "request_id,label\nc,\n", []string{"", "", "x", "", ""}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			os.MkdirAll(sub, 0o755)
			writeFile(t, sub, "l-1.csv", tc.labels)
			l, err := ReadLabels(sub, LabelOptions{})
			if err != nil {
				t.Fatal(err)
			}
			f, n, err := l.Join(rows, "own")
			if err != nil {
				t.Fatal(err)
			}
			c, _ := f.Strings("own")
			var got []string
			for i := range f.Rows {
				v, _ := c.Value(i)
				got = append(got, v)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") || n != tc.n {
				t.Errorf("joined %q (%d labelled), want %q (%d)", got, n, tc.want, tc.n)
			}
			if f.Rows != rows.Rows || len(f.Cols) != len(rows.Cols) {
				t.Errorf("frame shape %d×%d", f.Rows, len(f.Cols))
			}
		})
	}
	// A later file replaces an earlier label.
	later := filepath.Join(dir, "later")
	os.MkdirAll(later, 0o755)
	writeFile(t, later, "l-1.csv", "request_id,label\nd,neg\n")
	writeFile(t, later, "l-2.csv", "request_id,label\nd,pos\n")
	l, err := ReadLabels(later, LabelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f, _, _ := l.Join(rows, "truth")
	if c, _ := f.Strings("truth"); c == nil {
		t.Fatal("no truth column")
	} else if v, _ := c.Value(4); v != "pos" {
		t.Errorf("d's label %q, want the later file's pos", v)
	}
	// An empty (or missing) directory holds no labels yet.
	empty := filepath.Join(dir, "empty")
	os.MkdirAll(empty, 0o755)
	if l, err := ReadLabels(empty, LabelOptions{}); err != nil || l.Len() != 0 {
		t.Errorf("empty directory: %v %v", l, err)
	}
}

func TestLabelsErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ body, want string }{
		{"id,label\na,pos\n", `no "request_id" column`},
		{"request_id,class\na,pos\n", `no "label" column`},
		{"request_id,request_row,label\na,1.5,pos\n", "row 1: request_row 1.5 is not a row number"},
		{"request_id,request_row,label\na,x,pos\n", `column "request_row" must hold row numbers`},
		{"request_id,label\n,pos\n", "row 1: empty request_id"},
	} {
		p := writeFile(t, dir, "bad.csv", tc.body)
		if _, err := ReadLabels(p, LabelOptions{}); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "bad.csv") {
			t.Errorf("%q: %v, want %q naming the file", tc.body, err, tc.want)
		}
	}
	l, _ := ReadLabels(writeFile(t, dir, "ok.csv", "request_id,label\na,pos\n"), LabelOptions{})
	f, _ := explain.ReadFrame(writeFile(t, dir, "rows.csv", "x\n1\n"), explain.ReadOptions{})
	if _, _, err := l.Join(f, "y"); err == nil || !strings.Contains(err.Error(), `no "request_id" column`) {
		t.Errorf("rows without ids: %v", err)
	}
}

func FuzzReadLabels(f *testing.F) {
	f.Add("request_id,request_row,label\na,0,pos\nb,1,neg\n")
	f.Add("request_id,label\na,pos\n")
	f.Add("request_id,request_row,label\na,-1,pos\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, body string) {
		p := writeFile(t, dir, "l.csv", body)
		l, err := ReadLabels(p, LabelOptions{})
		if err != nil {
			return
		}
		if l.Len() > strings.Count(body, "\n")+1 {
			t.Errorf("%d labels from %d lines", l.Len(), strings.Count(body, "\n")+1)
		}
	})
}
