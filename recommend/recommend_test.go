package recommend

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/data"
)

func build(events [][2]string) *Interactions {
	x := NewInteractions()
	for _, e := range events {
		x.Add(e[0], e[1], 1, 0, false)
	}
	return x
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("%s = %.12g, want %.12g", what, got, want)
	}
}

// TestMetricsHandWorked checks Microsoft Recommenders' definitions on a
// case worked by hand. Popularity: E 4, D 3, C 2, A 1, B 1 (A before B on
// the tie: A appears first).
func TestMetricsHandWorked(t *testing.T) {
	train := build([][2]string{{"u1", "A"}, {"u2", "E"}, {"u2", "D"}, {"u2", "C"}, {"u2", "B"},
		{"u3", "E"}, {"u3", "D"}, {"u3", "C"}, {"u4", "E"}, {"u4", "D"}, {"u5", "E"}})
	m, err := Fit(train, Params{Algorithm: "popularity"}, false)
	if err != nil {
		t.Fatal(err)
	}
	// u1 (saw A) gets E, D, C; u5 (saw E) gets D, C, A.
	top := m.Recommend(4, nil, nil, 3, true, nil)
	if got := []string{m.Items[top[0].Item], m.Items[top[1].Item], m.Items[top[2].Item]}; !slices.Equal(got, []string{"D", "C", "A"}) {
		t.Fatalf("u5's list %v, want D C A", got)
	}
	test := build([][2]string{{"u1", "D"}, {"u1", "B"}, {"u1", "Z"}, {"u5", "D"}, {"u9", "E"}})
	mt := Evaluate(m, test, 3)
	if mt.NUsers != 2 {
		t.Fatalf("n_users %d, want 2 (u9 is unknown)", mt.NUsers)
	}
	// u1: one hit (D) at rank 2 of 3 relevant; u5: hit at rank 1 of 1.
	l2 := 1 / math.Log2(3)
	near(t, "precision", mt.Precision, (1.0/3+1.0/3)/2)
	near(t, "recall", mt.Recall, (1.0/3+1)/2)
	near(t, "ndcg", mt.NDCG, (l2/(1+l2+0.5)+1)/2)
	near(t, "map", mt.MAP, ((0.5)/3+1)/2)
	near(t, "coverage", mt.Coverage, 4.0/5) // E D C A
}

func TestStratifiedSplit(t *testing.T) {
	x := NewInteractions()
	sizes := map[string]int{"a": 1, "b": 2, "c": 4, "d": 10, "e": 6}
	for u, n := range sizes {
		for i := 0; i < n; i++ {
			x.Add(u, string(rune('A'+i)), 1, 0, false)
		}
	}
	s1, err := StratifiedSplit(x, 0.25, 7)
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := StratifiedSplit(x, 0.25, 7)
	if !slices.Equal(s1.Train, s2.Train) || !slices.Equal(s1.Test, s2.Test) {
		t.Fatal("the same seed gave different splits")
	}
	// round(n·0.75), half to even: 1→1 (0.75), 2→2 (1.5), 4→3, 10→8 (7.5), 6→4 (4.5).
	want := map[string]int{"a": 1, "b": 2, "c": 3, "d": 8, "e": 4}
	got := map[string]int{}
	for _, e := range s1.Train {
		got[x.Users[x.U[e]]]++
	}
	for u, n := range want {
		if got[u] != n {
			t.Errorf("user %s: %d train events, want %d", u, got[u], n)
		}
	}
	all := append(append([]int(nil), s1.Train...), s1.Test...)
	slices.Sort(all)
	for i, e := range all {
		if e != i {
			t.Fatalf("train and test do not partition the events: %v", all)
		}
	}
	if _, err := StratifiedSplit(x, 1, 1); err == nil {
		t.Error("test fraction 1 accepted")
	}
}

func TestChronoSplit(t *testing.T) {
	x := NewInteractions()
	for i, tm := range []int64{50, 10, 40, 20} { // one user, 4 events: earliest 3 to train
		x.Add("u", string(rune('A'+i)), 1, tm, true)
	}
	s, err := ChronoSplit(x, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Test, []int{0}) || !slices.Equal(s.Train, []int{1, 2, 3}) {
		t.Fatalf("split %+v, want test [0] (time 50)", s)
	}
	if _, err := ChronoSplit(build([][2]string{{"u", "i"}}), 0.25); err == nil {
		t.Error("split by time without times accepted")
	}
}

func TestCSRDuplicates(t *testing.T) {
	x := NewInteractions()
	x.Add("u", "a", 3, 0, false)
	x.Add("u", "b", 1, 0, false)
	x.Add("u", "a", 5, 0, false)
	sum := x.UserItems(true)
	last := x.UserItems(false)
	if i, v := sum.Row(0); !slices.Equal(i, []int32{0, 1}) || !slices.Equal(v, []float64{8, 1}) {
		t.Errorf("summed row %v %v, want [0 1] [8 1]", i, v)
	}
	if _, v := last.Row(0); !slices.Equal(v, []float64{5, 1}) {
		t.Errorf("last-wins row %v, want [5 1]", v)
	}
	tr := sum.Transpose()
	if i, v := tr.Row(0); !slices.Equal(i, []int32{0}) || v[0] != 8 {
		t.Errorf("transpose row %v %v", i, v)
	}
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadErrors(t *testing.T) {
	cols := Columns{User: "u", Item: "i", Rating: "r"}
	cases := []struct{ name, body, want string }{
		{"missing column", "u,i\n1,2\n", `"r"`},
		{"non-numeric rating", "u,i,r\n1,2,3\n1,3,great\n", `row 2, column "r": rating "great" is not a number`},
		{"empty input", "u,i,r\n", "no interactions"},
		{"empty user", "u,i,r\n1,2,3\n,3,4\n", `row 2, column "u": empty user id`},
		{"missing rating", "u,i,r\n1,2,3\n2,3,\n", `row 2, column "r": missing rating`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(writeFile(t, "x.csv", c.body), cols, data.Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %s", err, c.want)
			}
		})
	}
	x, err := Read(writeFile(t, "ok.jsonl", `{"u":"a","i":7,"r":4.5,"t":"2020-01-02T00:00:00Z"}`+"\n"), Columns{User: "u", Item: "i", Rating: "r", Time: "t"}, data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if x.Users[0] != "a" || x.Items[0] != "7" || x.R[0] != 4.5 || x.T[0] != 1577923200 {
		t.Fatalf("read %+v %+v %v %v", x.Users, x.Items, x.R, x.T)
	}
}

func FuzzRead(f *testing.F) {
	f.Add("u,i,r,t\n1,2,3.5,100\n2,2,1,5\n")
	f.Add("u,i,r,t\n1,,x,\n")
	f.Add("u,i,r,t\n\"a,b\",2,1e308,2020-01-01\n")
	f.Fuzz(func(t *testing.T, body string) {
		p := filepath.Join(t.TempDir(), "f.csv")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		x, err := Read(p, Columns{User: "u", Item: "i", Rating: "r", Time: "t"}, data.Options{})
		if err != nil {
			return
		}
		if x.Len() == 0 || len(x.I) != x.Len() || len(x.R) != x.Len() || len(x.T) != x.Len() {
			t.Fatalf("inconsistent interactions: %d events", x.Len())
		}
		for e := range x.U {
			if x.Users[x.U[e]] == "" || x.Items[x.I[e]] == "" || math.IsNaN(x.R[e]) {
				t.Fatalf("event %d: empty id or NaN accepted", e)
			}
		}
	})
}

func TestWriteRowsKeepsColumns(t *testing.T) {
	in := writeFile(t, "in.csv", "u,i,r,ok,note\n1,10,4.5,true,a\n2,20,,false,b\n3,30,1,true,\n")
	rec, err := data.ReadRecord(in, data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	out := filepath.Join(t.TempDir(), "out.parquet")
	if err := WriteRows(out, rec, []int{2, 1}); err != nil {
		t.Fatal(err)
	}
	got, err := data.ReadRecord(out, data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	if !got.Schema().Equal(rec.Schema()) && got.NumCols() != 5 {
		t.Fatalf("schema %v, want %v", got.Schema(), rec.Schema())
	}
	var rows []string
	for r := 0; r < int(got.NumRows()); r++ {
		var cells []string
		for c := 0; c < int(got.NumCols()); c++ {
			cells = append(cells, data.FormatValue(got.Column(c), r))
		}
		rows = append(rows, strings.Join(cells, ","))
	}
	if want := []string{"3,30,1,true,", "2,20,,false,b"}; !slices.Equal(rows, want) {
		t.Fatalf("rows %q, want %q", rows, want)
	}
	for c := 0; c < 4; c++ {
		if got.Schema().Field(c).Type.ID() != rec.Schema().Field(c).Type.ID() {
			t.Errorf("column %d: type %s, want %s", c, got.Schema().Field(c).Type, rec.Schema().Field(c).Type)
		}
	}
}

// TestPrequentialHandWorked replays u1's events in time order on the
// popularity model of TestMetricsHandWorked (E 4, D 3, C 2, A 1, B 1; u1 saw A).
func TestPrequentialHandWorked(t *testing.T) {
	train := build([][2]string{{"u1", "A"}, {"u2", "E"}, {"u2", "D"}, {"u2", "C"}, {"u2", "B"},
		{"u3", "E"}, {"u3", "D"}, {"u3", "C"}, {"u4", "E"}, {"u4", "D"}, {"u5", "E"}})
	m, err := Fit(train, Params{Algorithm: "popularity"}, false)
	if err != nil {
		t.Fatal(err)
	}
	test := NewInteractions()
	test.Add("u1", "D", 1, 2, true)
	test.Add("u1", "C", 1, 1, true)
	test.Add("u1", "Z", 1, 3, true)
	pq := EvaluatePrequential(m, test, 3, 0)
	// t=1 C: list E D C, hit at rank 3; C joins the history.
	// t=2 D: list E D B, hit at rank 2. t=3 Z: unknown item, a miss.
	if pq.Events != 3 {
		t.Fatalf("%d events", pq.Events)
	}
	near(t, "hit rate", pq.HitAtK, 2.0/3)
	near(t, "ndcg", pq.NDCG, (1/math.Log2(4)+1/math.Log2(3))/3)
	if one := EvaluatePrequential(m, test, 3, 1); one.Events != 1 || one.HitAtK != 1 {
		t.Errorf("maxEvents 1: %+v", one)
	}
}
