// Package live serves a recommender model directory over HTTP and keeps it
// current as interactions arrive:
//
//	POST /recommend     {"user": "42", "k": 10, "exclude_seen": true, "items": ["1", "2"]}
//	POST /similar       {"item": "1", "k": 10}
//	POST /interactions  {"user": "42", "item": "7", "weight": 1, "time": 1700000000}
//	                    or {"interactions": [{...}, ...]} (at most MaxBatch)
//	POST /retrain       retrain now on the training data plus the log
//	GET  /ping, /health, /version
//
// An interaction is appended to the interaction log (a CSV file with the
// training column names, so it can be fed to dawn recommend train) and
// fsynced before it is acknowledged; then the user's history is updated and,
// for factor models, the user's vector re-solved against the fixed item
// factors (fold-in), so the next /recommend reflects it. A new user gets a
// vector the same way. An item the model has never seen is logged and
// enters the catalogue at the next retrain. On start the log is replayed,
// so every acknowledged interaction survives a crash.
//
// Retraining (every RetrainEvery, or POST /retrain) fits the same
// algorithm and hyper-parameters on the training matrix plus the logged
// events in the background and swaps the new model in atomically: requests
// in flight finish on the snapshot they started with, none is dropped.
package live

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/dawn-ml/dawn/recommend"
	"github.com/dawn-ml/dawn/recommend/mips"
)

// Options tunes a Server.
type Options struct {
	LogPath      string        // the interaction log (required)
	RetrainEvery time.Duration // 0: retrain only on POST /retrain
	MaxK         int           // largest k a request may ask (1000 when 0)
	MaxBatch     int           // most interactions in one POST (10,000 when 0)
	MaxBodyBytes int64         // request body cap (1 MiB when 0)
	Version      string
	Logger       *slog.Logger
}

// Event is one logged interaction, by external ids.
type Event struct {
	User   string  `json:"user"`
	Item   string  `json:"item"`
	Weight float64 `json:"weight"`
	Time   int64   `json:"time"`
}

// snapshot is one model with the live state built on it.
type snapshot struct {
	m     *recommend.Model
	index *mips.Index // factor models
	mu    sync.RWMutex
	users map[string]*userState // users with events since the model was trained
	base  int                   // events[:base] are in the model's training data
}

type userState struct {
	u     int // training index, −1 for a new user
	items []int32
	vals  []float64
	vec   []float64 // factor models: the folded-in vector
}

// Server is a live recommender.
type Server struct {
	opt        Options
	log        *slog.Logger
	cur        atomic.Pointer[snapshot]
	mux        *http.ServeMux
	walMu      sync.Mutex
	wal        *os.File
	w          *csv.Writer
	events     []Event // every logged event, under walMu
	retraining atomic.Bool
	retrains   atomic.Int64
	stop       chan struct{}
	wg         sync.WaitGroup
}

// New opens (or creates) the interaction log, replays it on m, and
// returns a server ready to serve.
func New(m *recommend.Model, opt Options) (*Server, error) {
	if opt.LogPath == "" {
		return nil, errors.New("live: an interaction log path is required")
	}
	if opt.MaxK <= 0 {
		opt.MaxK = 1000
	}
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = 10000
	}
	if opt.MaxBodyBytes <= 0 {
		opt.MaxBodyBytes = 1 << 20
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	s := &Server{opt: opt, log: opt.Logger, stop: make(chan struct{})}
	evs, err := readLog(opt.LogPath)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(opt.LogPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("live: open interaction log: %w", err)
	}
	s.wal, s.w = f, csv.NewWriter(f)
	if st, err := f.Stat(); err == nil && st.Size() == 0 {
		c := m.Cols
		wcol := c.Rating
		if wcol == "" {
			wcol = "weight"
		}
		tcol := c.Time
		if tcol == "" {
			tcol = "time"
		}
		s.w.Write([]string{c.User, c.Item, wcol, tcol})
		if err := s.flushSync(); err != nil {
			f.Close()
			return nil, err
		}
	}
	s.events = evs
	s.cur.Store(s.newSnapshot(m, 0))
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /ping", s.handlePing)
	s.mux.HandleFunc("GET /health", s.handlePing)
	s.mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, opt.Version) })
	s.mux.HandleFunc("POST /recommend", s.handleRecommend)
	s.mux.HandleFunc("POST /similar", s.handleSimilar)
	s.mux.HandleFunc("POST /interactions", s.handleInteractions)
	s.mux.HandleFunc("POST /retrain", s.handleRetrain)
	if opt.RetrainEvery > 0 {
		s.wg.Add(1)
		go s.retrainLoop()
	}
	return s, nil
}

// readLog reads the interaction log written by a previous server; a
// missing file is an empty log. A torn last line (a crash mid-write, never
// acknowledged) is ignored.
func readLog(path string) ([]Event, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("live: read interaction log: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	r.FieldsPerRecord = -1
	var out []Event
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil || len(rec) != 4 {
			// Only a torn final record is tolerated.
			if _, err2 := r.Read(); errors.Is(err2, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("live: interaction log %s: line %d: malformed record", path, line)
		}
		if line == 1 {
			continue // header
		}
		wt, err1 := strconv.ParseFloat(rec[2], 64)
		tm, err2 := strconv.ParseInt(rec[3], 10, 64)
		if err1 != nil || err2 != nil {
			if _, err3 := r.Read(); errors.Is(err3, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("live: interaction log %s: line %d: bad weight or time", path, line)
		}
		out = append(out, Event{User: rec[0], Item: rec[1], Weight: wt, Time: tm})
	}
}

// newSnapshot builds the live state of events[base:] on m. Called with
// walMu held or before serving.
func (s *Server) newSnapshot(m *recommend.Model, base int) *snapshot {
	sn := &snapshot{m: m, users: map[string]*userState{}, base: base}
	if m.IsFactor() {
		sn.index = mips.New(m.ItemF, m.NItems(), m.F)
	}
	for _, e := range s.events[base:] {
		sn.apply(e)
	}
	return sn
}

// apply adds one event to the user's history and re-solves the user.
func (sn *snapshot) apply(e Event) {
	m := sn.m
	i, ok := m.ItemIndex(e.Item)
	if !ok {
		return // a new item: logged, in the catalogue after the next retrain
	}
	sn.mu.Lock()
	defer sn.mu.Unlock()
	st := sn.users[e.User]
	if st == nil {
		st = &userState{u: -1}
		if u, ok := m.UserIndex(e.User); ok {
			st.u = int(u)
			a, v := m.Seen.Row(int(u))
			st.items, st.vals = append([]int32(nil), a...), append([]float64(nil), v...)
		}
		sn.users[e.User] = st
	}
	// Copy on write: readers hold the old slices without the lock.
	p := 0
	for p < len(st.items) && st.items[p] < i {
		p++
	}
	if p < len(st.items) && st.items[p] == i {
		vals := append([]float64(nil), st.vals...)
		if m.Explicit {
			vals[p] = e.Weight
		} else {
			vals[p] += e.Weight
		}
		st.vals = vals
	} else {
		items := make([]int32, 0, len(st.items)+1)
		items = append(append(append(items, st.items[:p]...), i), st.items[p:]...)
		vals := make([]float64, 0, len(st.vals)+1)
		vals = append(append(append(vals, st.vals[:p]...), e.Weight), st.vals[p:]...)
		st.items, st.vals = items, vals
	}
	if m.IsFactor() {
		st.vec = m.FoldIn(st.items, st.vals)
	}
}

// Handler is the HTTP API.
func (s *Server) Handler() http.Handler { return s.mux }

// Close stops the retrain loop and closes the log.
func (s *Server) Close() error {
	close(s.stop)
	s.wg.Wait()
	s.walMu.Lock()
	defer s.walMu.Unlock()
	return s.wal.Close()
}

func (s *Server) flushSync() error {
	s.w.Flush()
	if err := s.w.Error(); err != nil {
		return fmt.Errorf("live: write interaction log: %w", err)
	}
	if err := s.wal.Sync(); err != nil {
		return fmt.Errorf("live: sync interaction log: %w", err)
	}
	return nil
}

// Add logs events durably (written and fsynced) and then applies them; an
// error means none was acknowledged.
func (s *Server) Add(evs []Event) error {
	s.walMu.Lock()
	defer s.walMu.Unlock()
	for _, e := range evs {
		s.w.Write([]string{e.User, e.Item, strconv.FormatFloat(e.Weight, 'g', -1, 64), strconv.FormatInt(e.Time, 10)})
	}
	if err := s.flushSync(); err != nil {
		return err
	}
	s.events = append(s.events, evs...)
	sn := s.cur.Load()
	for _, e := range evs {
		sn.apply(e)
	}
	return nil
}

// Recommend answers one /recommend request.
func (s *Server) Recommend(user string, k int, excludeSeen bool, candidates []string) []recommend.Rec {
	sn := s.cur.Load()
	m := sn.m
	sn.mu.RLock()
	st := sn.users[user]
	var items []int32
	var vals, vec []float64
	u := -1
	if st != nil {
		items, vals, vec, u = st.items, st.vals, st.vec, st.u
	} else if ui, ok := m.UserIndex(user); ok {
		u = int(ui)
		items, vals = m.Seen.Row(u)
		if m.IsFactor() {
			vec = m.UserVector(u)
		}
	}
	sn.mu.RUnlock()
	if u < 0 && st == nil {
		return m.RecommendID(user, k, excludeSeen) // cold start: most popular
	}
	var top []recommend.Scored
	switch {
	case candidates != nil:
		cand := make([]int32, 0, len(candidates))
		for _, c := range candidates {
			if i, ok := m.ItemIndex(c); ok {
				cand = append(cand, i)
			}
		}
		top = s.rank(m, u, items, vals, vec, k, excludeSeen, cand)
	case vec != nil && sn.index != nil:
		// Exact top-k from the index, the seen items skipped inside the scan.
		var skip []int32
		if excludeSeen {
			skip = items
		}
		h := heapPool.Get().(*recommend.TopHeap)
		top, _ = sn.index.TopKExcluding(vec, k, h, skip)
		heapPool.Put(h)
	default:
		top = s.rank(m, u, items, vals, vec, k, excludeSeen, nil)
	}
	out := make([]recommend.Rec, len(top))
	for r, sc := range top {
		out[r] = recommend.Rec{User: user, Item: m.Items[sc.Item], Rank: r + 1, Score: sc.Score}
	}
	return out
}

// heapPool recycles the top-k heaps of the index scan (Sorted copies out).
var heapPool = sync.Pool{New: func() any { return new(recommend.TopHeap) }}

func (s *Server) rank(m *recommend.Model, u int, items []int32, vals, vec []float64, k int, excludeSeen bool, cand []int32) []recommend.Scored {
	scores := make([]float64, m.NItems())
	if vec != nil {
		for i := range scores {
			scores[i] = mips.Dot(vec, m.ItemF[i*m.F:(i+1)*m.F])
		}
	} else {
		m.Scores(u, items, vals, scores)
	}
	if excludeSeen {
		for _, j := range items {
			scores[j] = math.Inf(-1)
		}
	}
	if cand != nil {
		var h recommend.TopHeap
		h.Reset(k)
		for _, c := range cand {
			h.Push(c, scores[c])
		}
		return h.Sorted()
	}
	return recommend.TopK(scores, k)
}

// Retrain fits the model again on its training matrix plus every logged
// event and swaps it in. Only one retrain runs at a time.
func (s *Server) Retrain() error {
	if !s.retraining.CompareAndSwap(false, true) {
		return errors.New("live: a retrain is already running")
	}
	defer s.retraining.Store(false)
	old := s.cur.Load().m
	s.walMu.Lock()
	n := len(s.events)
	evs := s.events[:n:n]
	s.walMu.Unlock()
	x := recommend.NewInteractions()
	for u := 0; u < old.Seen.Rows; u++ {
		items, vals := old.Seen.Row(u)
		for q, i := range items {
			x.Add(old.Users[u], old.Items[i], vals[q], 0, false)
		}
	}
	for _, e := range evs {
		x.Add(e.User, e.Item, e.Weight, 0, false)
	}
	m, err := recommend.FitColumns(x, old.Params, old.Explicit, old.Cols)
	if err != nil {
		return fmt.Errorf("live: retrain: %w", err)
	}
	s.walMu.Lock()
	// Events logged while fitting are replayed on the new model.
	sn := s.newSnapshot(m, n)
	s.cur.Store(sn)
	s.walMu.Unlock()
	s.retrains.Add(1)
	s.log.Info("recommender retrained", "interactions", x.Len(), "users", m.Seen.Rows, "items", m.NItems())
	return nil
}

func (s *Server) retrainLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.opt.RetrainEvery)
	defer t.Stop()
	last := -1
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.walMu.Lock()
			n := len(s.events)
			s.walMu.Unlock()
			if n == last {
				continue
			}
			if err := s.Retrain(); err != nil {
				s.log.Error("retrain", "err", err)
				continue
			}
			last = n
		}
	}
}

// Model is the model now serving.
func (s *Server) Model() *recommend.Model { return s.cur.Load().m }

// Retrains is how many retrains have been swapped in.
func (s *Server) Retrains() int64 { return s.retrains.Load() }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error_code": code, "message": msg})
}

func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.opt.MaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeError(w, http.StatusRequestEntityTooLarge, "INVALID_PARAMETER_VALUE", fmt.Sprintf("%s: body larger than %d bytes", r.URL.Path, s.opt.MaxBodyBytes))
			return false
		}
		writeError(w, http.StatusBadRequest, "MALFORMED_REQUEST", fmt.Sprintf("%s: invalid JSON: %v", r.URL.Path, err))
		return false
	}
	return true
}

func (s *Server) handlePing(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, "ok\n")
}

// id accepts a JSON string or number as an id.
type id string

func (i *id) UnmarshalJSON(b []byte) error {
	// The decoder has checked that b is one valid JSON value, so a string
	// without escapes is its bytes between the quotes, and a number is its
	// text: no second decode for the common ids.
	if n := len(b); n >= 2 && b[0] == '"' && bytes.IndexByte(b, '\\') < 0 && utf8.Valid(b) {
		*i = id(b[1 : n-1])
		return nil
	}
	if len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9') {
		*i = id(b)
		return nil
	}
	return i.decodeSlow(b)
}

// decodeSlow is UnmarshalJSON by encoding/json: strings with escapes, and
// everything that is not an id.
func (i *id) decodeSlow(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*i = id(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("an id must be a string or a number")
	}
	*i = id(n.String())
	return nil
}

type recommendReq struct {
	User        *id   `json:"user"`
	K           int   `json:"k"`
	ExcludeSeen *bool `json:"exclude_seen"`
	Items       []id  `json:"items"`
}

func (s *Server) checkK(w http.ResponseWriter, k *int) bool {
	if *k == 0 {
		*k = 10
	}
	if *k < 1 || *k > s.opt.MaxK {
		writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", fmt.Sprintf("k must be 1..%d, got %d", s.opt.MaxK, *k))
		return false
	}
	return true
}

// recommendResp is the /recommend answer (a struct, not a map: encoded
// without sorting keys or boxing).
type recommendResp struct {
	User  string       `json:"user"`
	Items []scoredItem `json:"items"`
}

type scoredItem struct {
	Item  string  `json:"item"`
	Score float64 `json:"score"`
}

func (s *Server) handleRecommend(w http.ResponseWriter, r *http.Request) {
	var q recommendReq
	if !s.decode(w, r, &q) {
		return
	}
	if q.User == nil || *q.User == "" {
		writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", `/recommend: "user" is required`)
		return
	}
	if !s.checkK(w, &q.K) {
		return
	}
	excl := q.ExcludeSeen == nil || *q.ExcludeSeen
	var cands []string
	if q.Items != nil {
		cands = make([]string, len(q.Items))
		for i, c := range q.Items {
			cands[i] = string(c)
		}
	}
	recs := s.Recommend(string(*q.User), q.K, excl, cands)
	out := make([]scoredItem, len(recs))
	for i, rc := range recs {
		out[i] = scoredItem{rc.Item, rc.Score}
	}
	writeJSON(w, http.StatusOK, recommendResp{User: string(*q.User), Items: out})
}

type similarReq struct {
	Item *id `json:"item"`
	K    int `json:"k"`
}

func (s *Server) handleSimilar(w http.ResponseWriter, r *http.Request) {
	var q similarReq
	if !s.decode(w, r, &q) {
		return
	}
	if q.Item == nil || *q.Item == "" {
		writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", `/similar: "item" is required`)
		return
	}
	if !s.checkK(w, &q.K) {
		return
	}
	m := s.cur.Load().m
	i, ok := m.ItemIndex(string(*q.Item))
	if !ok {
		writeError(w, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("/similar: item %q is not in the model's catalogue", string(*q.Item)))
		return
	}
	out := []scoredItem{}
	for _, sc := range m.Similar(int(i), q.K) {
		out = append(out, scoredItem{m.Items[sc.Item], sc.Score})
	}
	writeJSON(w, http.StatusOK, map[string]any{"item": string(*q.Item), "items": out})
}

type eventReq struct {
	User   *id      `json:"user"`
	Item   *id      `json:"item"`
	Weight *float64 `json:"weight"`
	Rating *float64 `json:"rating"`
	Time   *int64   `json:"time"`
}

type interactionsReq struct {
	eventReq
	Interactions []eventReq `json:"interactions"`
}

func (s *Server) handleInteractions(w http.ResponseWriter, r *http.Request) {
	var q interactionsReq
	if !s.decode(w, r, &q) {
		return
	}
	reqs := q.Interactions
	if q.User != nil || q.Item != nil {
		if reqs != nil {
			writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", `/interactions: give one interaction or "interactions", not both`)
			return
		}
		reqs = []eventReq{q.eventReq}
	}
	if len(reqs) == 0 || len(reqs) > s.opt.MaxBatch {
		writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", fmt.Sprintf("/interactions: want 1..%d interactions, got %d", s.opt.MaxBatch, len(reqs)))
		return
	}
	now := time.Now().Unix()
	evs := make([]Event, len(reqs))
	for n, e := range reqs {
		if e.User == nil || *e.User == "" || e.Item == nil || *e.Item == "" {
			writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", fmt.Sprintf(`/interactions: interaction %d: "user" and "item" are required`, n))
			return
		}
		wt := 1.0
		if e.Weight != nil {
			wt = *e.Weight
		} else if e.Rating != nil {
			wt = *e.Rating
		}
		if math.IsNaN(wt) || math.IsInf(wt, 0) {
			writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", fmt.Sprintf("/interactions: interaction %d: weight must be a finite number", n))
			return
		}
		t := now
		if e.Time != nil {
			t = *e.Time
		}
		evs[n] = Event{User: string(*e.User), Item: string(*e.Item), Weight: wt, Time: t}
	}
	if err := s.Add(evs); err != nil {
		s.log.Error("interactions", "err", err)
		writeError(w, http.StatusServiceUnavailable, "TEMPORARILY_UNAVAILABLE", "the interaction log could not be written; nothing was recorded")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"logged": len(evs)})
}

func (s *Server) handleRetrain(w http.ResponseWriter, r *http.Request) {
	go func() {
		if err := s.Retrain(); err != nil {
			s.log.Error("retrain", "err", err)
		}
	}()
	writeJSON(w, http.StatusAccepted, map[string]any{"retraining": true})
}
