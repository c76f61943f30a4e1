package live

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dawn-ml/dawn/recommend"
)

// groups is implicit data in g blocks: user uG_N clicks 40% of group G's items.
func groups(seed uint64, g, usersPer, itemsPer int) *recommend.Interactions {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := recommend.NewInteractions()
	for gi := 0; gi < g; gi++ {
		for u := 0; u < usersPer; u++ {
			for it := 0; it < itemsPer; it++ {
				if rng.Float64() < 0.4 {
					x.Add(fmt.Sprintf("u%d_%d", gi, u), fmt.Sprintf("i%d_%d", gi, it), 1, 0, false)
				}
			}
		}
	}
	return x
}

func newServer(t testing.TB, algo string) (*Server, *httptest.Server) {
	t.Helper()
	m, err := recommend.FitColumns(groups(1, 4, 30, 50), recommend.Params{Algorithm: algo, Factors: 8}, false, recommend.Columns{User: "userId", Item: "movieId"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(m, Options{LogPath: filepath.Join(t.TempDir(), "interactions.csv")})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.Close(); s.Close() })
	return s, ts
}

func post(t testing.TB, url string, body string, out any) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

type recResp struct {
	User  string `json:"user"`
	Items []struct {
		Item  string  `json:"item"`
		Score float64 `json:"score"`
	} `json:"items"`
}

func ids(r recResp) []string {
	var out []string
	for _, it := range r.Items {
		out = append(out, it.Item)
	}
	return out
}

// TestClickChangesNextRecommendation: after a click is acknowledged, the
// same user's next /recommend (answered from the index with the folded-in
// vector) no longer holds the clicked item and equals a fresh fold-in.
func TestClickChangesNextRecommendation(t *testing.T) {
	for _, algo := range []string{"als", "itemknn", "ease"} {
		t.Run(algo, func(t *testing.T) {
			s, ts := newServer(t, algo)
			var before, after recResp
			if c := post(t, ts.URL+"/recommend", `{"user": "u1_3", "k": 5}`, &before); c != 200 || len(before.Items) != 5 {
				t.Fatalf("status %d, %+v", c, before)
			}
			clicked := before.Items[0].Item
			var ack map[string]any
			if c := post(t, ts.URL+"/interactions", fmt.Sprintf(`{"user": "u1_3", "item": %q}`, clicked), &ack); c != 200 || ack["logged"] != 1.0 {
				t.Fatalf("status %d, %v", c, ack)
			}
			post(t, ts.URL+"/recommend", `{"user": "u1_3", "k": 5}`, &after)
			if slices.Contains(ids(after), clicked) || slices.Equal(ids(after), ids(before)) {
				t.Fatalf("after clicking %s: %v (before %v)", clicked, ids(after), ids(before))
			}
			// The served list is exactly the model's ranking of the new history.
			m := s.Model()
			u, _ := m.UserIndex("u1_3")
			items, vals := m.Seen.Row(int(u))
			ci, _ := m.ItemIndex(clicked)
			p := sort.Search(len(items), func(q int) bool { return items[q] >= ci })
			items = slices.Insert(slices.Clone(items), p, ci)
			vals = slices.Insert(slices.Clone(vals), p, 1)
			want := m.Recommend(int(u), items, vals, 5, true, nil)
			for r, sc := range want {
				if m.Items[sc.Item] != after.Items[r].Item {
					t.Fatalf("served %v, model ranks %v", ids(after), want)
				}
			}
		})
	}
}

func TestNewUserFoldIn(t *testing.T) {
	_, ts := newServer(t, "als")
	var cold, warm recResp
	post(t, ts.URL+"/recommend", `{"user": "stranger", "k": 10}`, &cold)
	body := `{"interactions": [`
	for i := 0; i < 8; i++ {
		if i > 0 {
			body += ","
		}
		body += fmt.Sprintf(`{"user": "stranger", "item": "i2_%d"}`, i*3)
	}
	if c := post(t, ts.URL+"/interactions", body+`]}`, nil); c != 200 {
		t.Fatalf("status %d", c)
	}
	post(t, ts.URL+"/recommend", `{"user": "stranger", "k": 10}`, &warm)
	in := 0
	for _, it := range ids(warm) {
		if strings.HasPrefix(it, "i2_") {
			in++
		}
	}
	if in < 9 {
		t.Errorf("a new user who clicked group 2 gets %v (%d of group 2)", ids(warm), in)
	}
	var cand recResp
	post(t, ts.URL+"/recommend", `{"user": "stranger", "k": 2, "items": ["i0_1", "i2_1", "i2_2", "nope"]}`, &cand)
	if len(cand.Items) != 2 || !strings.HasPrefix(cand.Items[0].Item, "i2_") || !strings.HasPrefix(cand.Items[1].Item, "i2_") {
		t.Errorf("candidate ranking %v", ids(cand))
	}
}

func TestSimilarAndBadRequests(t *testing.T) {
	_, ts := newServer(t, "itemknn")
	var sim recResp
	if c := post(t, ts.URL+"/similar", `{"item": "i3_4", "k": 5}`, &sim); c != 200 || len(sim.Items) != 5 {
		t.Fatalf("status %d %+v", c, sim)
	}
	for _, it := range ids(sim) {
		if !strings.HasPrefix(it, "i3_") || it == "i3_4" {
			t.Errorf("similar to i3_4: %v", ids(sim))
		}
	}
	cases := []struct {
		path, body string
		code       int
	}{
		{"/recommend", `{"k": 5}`, 400},
		{"/recommend", `{"user": "u1_1", "k": 100000}`, 400},
		{"/recommend", `{"user": "u1_1", "bogus": 1}`, 400},
		{"/recommend", `not json`, 400},
		{"/similar", `{"item": "nope"}`, 404},
		{"/interactions", `{"user": "a"}`, 400},
		{"/interactions", `{"interactions": []}`, 400},
		{"/interactions", `{"user": "a", "item": "b", "weight": "x"}`, 400},
	}
	for _, c := range cases {
		var e map[string]string
		if got := post(t, ts.URL+c.path, c.body, &e); got != c.code || e["message"] == "" {
			t.Errorf("%s %s: status %d (%v), want %d with a message", c.path, c.body, got, e, c.code)
		}
	}
}

// TestRetrainSwapsWithoutDropping: /recommend keeps answering 200 while a
// retrain runs and swaps; the new model knows the item that was new.
func TestRetrainSwapsWithoutDropping(t *testing.T) {
	s, ts := newServer(t, "als")
	if c := post(t, ts.URL+"/interactions", `{"interactions": [{"user": "u0_1", "item": "brand-new"}, {"user": "u0_2", "item": "brand-new"}]}`, nil); c != 200 {
		t.Fatal(c)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	bad, n := 0, 0
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := http.Post(ts.URL+"/recommend", "application/json", strings.NewReader(`{"user": "u0_1", "k": 10}`))
				mu.Lock()
				n++
				if err != nil || resp.StatusCode != 200 {
					bad++
				}
				mu.Unlock()
				if err == nil {
					resp.Body.Close()
				}
			}
		}()
	}
	if err := s.Retrain(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	close(stop)
	wg.Wait()
	if bad > 0 || n == 0 {
		t.Fatalf("%d of %d requests failed during the retrain", bad, n)
	}
	if _, ok := s.Model().ItemIndex("brand-new"); !ok || s.Retrains() != 1 {
		t.Fatal("the retrained model does not hold the logged new item")
	}
}

// TestKill9KeepsAcknowledged runs a server in a child process, posts
// interactions from 8 clients, kills the child with SIGKILL mid-stream and
// checks that every acknowledged interaction is in the log, and that a new
// server replays them.
func TestKill9KeepsAcknowledged(t *testing.T) {
	if os.Getenv("DAWN_LIVE_CHILD") != "" {
		t.Skip("in the child")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLiveChild$")
	cmd.Env = append(os.Environ(), "DAWN_LIVE_CHILD="+dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var addr string
	for i := 0; i < 400 && addr == ""; i++ {
		b, _ := os.ReadFile(filepath.Join(dir, "addr"))
		addr = strings.TrimSpace(string(b))
		time.Sleep(25 * time.Millisecond)
	}
	if addr == "" {
		t.Fatal("the child server did not start")
	}
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := &http.Client{Timeout: 2 * time.Second}
			for i := 0; ; i++ {
				key := fmt.Sprintf("c%d-%d", c, i)
				resp, err := cl.Post("http://"+addr+"/interactions", "application/json",
					strings.NewReader(fmt.Sprintf(`{"user": %q, "item": "i0_1"}`, key)))
				if err != nil {
					return
				}
				var b bytes.Buffer
				b.ReadFrom(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					acked[key] = true
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(400 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	wg.Wait()
	evs, err := readLog(filepath.Join(dir, "interactions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	logged := map[string]bool{}
	for _, e := range evs {
		logged[e.User] = true
	}
	missing := 0
	for k := range acked {
		if !logged[k] {
			missing++
		}
	}
	if len(acked) == 0 || missing > 0 {
		t.Fatalf("%d acknowledged, %d of them missing from the log (%d logged)", len(acked), missing, len(evs))
	}
	t.Logf("%d acknowledged before SIGKILL, all in the log (%d lines)", len(acked), len(evs))
	m, _ := recommend.Fit(groups(1, 4, 30, 50), recommend.Params{Algorithm: "als", Factors: 8}, false)
	s, err := New(m, Options{LogPath: filepath.Join(dir, "interactions.csv")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := len(s.cur.Load().users); got < len(acked) {
		t.Fatalf("restart replayed %d users, want ≥ %d", got, len(acked))
	}
}

// TestLiveChild is the server process of TestKill9KeepsAcknowledged.
func TestLiveChild(t *testing.T) {
	dir := os.Getenv("DAWN_LIVE_CHILD")
	if dir == "" {
		t.Skip("run by TestKill9KeepsAcknowledged")
	}
	m, _ := recommend.Fit(groups(1, 4, 30, 50), recommend.Params{Algorithm: "als", Factors: 8}, false)
	s, err := New(m, Options{LogPath: filepath.Join(dir, "interactions.csv")})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "addr.tmp"), []byte(ln.Addr().String()), 0o644)
	os.Rename(filepath.Join(dir, "addr.tmp"), filepath.Join(dir, "addr"))
	go func() {
		time.Sleep(30 * time.Second) // never outlive the parent for long
		os.Exit(3)
	}()
	http.Serve(ln, s.Handler())
}

// Every ml-latest-small user's /recommend answer (the pruned index scan
// with the seen bitset) equals the model's brute-force ranking exactly.
func TestMovieLensRecommendEqualsBruteForce(t *testing.T) {
	if testing.Short() {
		t.Skip("trains ALS on ml-latest-small")
	}
	s, _ := movieLensServer(t)
	m := s.Model()
	for u := 0; u < m.Seen.Rows; u++ {
		for _, excl := range []bool{true, false} {
			want := m.Recommend(u, nil, nil, 10, excl, nil) // the trained vector, every item scored
			got := s.Recommend(m.Users[u], 10, excl, nil)
			if len(got) != len(want) {
				t.Fatalf("user %s: %d items, want %d", m.Users[u], len(got), len(want))
			}
			for r := range want {
				if got[r].Item != m.Items[want[r].Item] || got[r].Score != want[r].Score {
					t.Fatalf("user %s exclude=%v rank %d: %s %v, want %s %v", m.Users[u], excl, r+1, got[r].Item, got[r].Score, m.Items[want[r].Item], want[r].Score)
				}
			}
		}
	}
}
