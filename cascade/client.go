package cascade

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/dawn-ml/dawn/model"
)

// Client is a reference model behind any HTTP endpoint speaking MLflow's
// scoring protocol (POST /invocations with dataframe_split), such as
// `dawn serve` or `mlflow models serve`. It implements model.Model.
//
// Rows are sent in chunks of BatchRows with at most Concurrency requests in
// flight; each attempt has its own Timeout; 5xx, 408, 429, timeouts and
// connection errors are retried with exponential backoff (Retries times),
// other errors fail at once. Answers are cached by the row's values, so a
// repeated input costs nothing.
type Client struct {
	URL         string         // the server's base URL or its /invocations URL
	Classes     []string       // class names; learned from the first answer when nil
	Inputs      []model.Column // the columns sent (all of the batch's when nil)
	Concurrency int            // requests in flight (4 when 0)
	BatchRows   int            // rows per request (64 when 0)
	Timeout     time.Duration  // per attempt (30 s when 0)
	Retries     int            // retries after the first attempt (4 when 0; <0 none)
	Backoff     time.Duration  // first retry delay, doubled each time (100 ms when 0)
	CacheSize   int            // cached answers (100,000 when 0; <0 none)
	HTTP        *http.Client   // http.DefaultClient-like with keep-alive when nil

	once     sync.Once
	mu       sync.Mutex
	cache    map[string]answer
	requests atomic.Int64
	rowsSent atomic.Int64
}

type answer struct {
	label int
	probs []float64
}

// Stats are counts of what a Client did.
type Stats struct {
	Requests int64 // HTTP attempts
	Rows     int64 // rows sent (cache misses)
}

// Stats returns the client's counts so far.
func (c *Client) Stats() Stats {
	return Stats{Requests: c.requests.Load(), Rows: c.rowsSent.Load()}
}

func (c *Client) init() {
	c.once.Do(func() {
		if c.Concurrency <= 0 {
			c.Concurrency = 4
		}
		if c.BatchRows <= 0 {
			c.BatchRows = 64
		}
		if c.Timeout <= 0 {
			c.Timeout = 30 * time.Second
		}
		if c.Retries == 0 {
			c.Retries = 4
		}
		if c.Backoff <= 0 {
			c.Backoff = 100 * time.Millisecond
		}
		if c.CacheSize == 0 {
			c.CacheSize = 100_000
		}
		if c.HTTP == nil {
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.MaxIdleConnsPerHost = c.Concurrency
			c.HTTP = &http.Client{Transport: tr}
		}
		c.cache = map[string]answer{}
		u := strings.TrimRight(c.URL, "/")
		if !strings.HasSuffix(u, "/invocations") {
			u += "/invocations"
		}
		c.URL = u
	})
}

// Info describes the reference as far as the client knows it.
func (c *Client) Info() *model.Info {
	c.mu.Lock()
	defer c.mu.Unlock()
	return &model.Info{Type: "reference", Classes: append([]string(nil), c.Classes...), Inputs: c.Inputs}
}

// Predict asks the reference about every row of rec.
func (c *Client) Predict(ctx context.Context, rec arrow.RecordBatch) (*model.Prediction, error) {
	c.init()
	cols, names, err := c.columns(rec)
	if err != nil {
		return nil, err
	}
	n := int(rec.NumRows())
	keys := make([]string, n)
	for i := 0; i < n; i++ {
		b := []byte{'['}
		for j, col := range cols {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, col, i)
		}
		keys[i] = string(append(b, ']'))
	}
	got := make([]answer, n)
	have := make([]bool, n)
	var miss []int
	firstOf := map[string]int{}
	var dupOf []int // for each miss-duplicate row, the row it copies
	c.mu.Lock()
	for i, k := range keys {
		if a, ok := c.cache[k]; ok {
			got[i], have[i] = a, true
			continue
		}
		if f, ok := firstOf[k]; ok {
			dupOf = append(dupOf, i, f)
			continue
		}
		firstOf[k] = i
		miss = append(miss, i)
	}
	c.mu.Unlock()

	if len(miss) > 0 {
		if err := c.fetch(ctx, names, keys, miss, got); err != nil {
			return nil, err
		}
		c.mu.Lock()
		for _, i := range miss {
			have[i] = true
			if c.CacheSize > 0 && len(c.cache) < c.CacheSize {
				c.cache[keys[i]] = got[i]
			}
		}
		c.mu.Unlock()
		for k := 0; k < len(dupOf); k += 2 {
			got[dupOf[k]], have[dupOf[k]] = got[dupOf[k+1]], true
		}
	}
	c.mu.Lock()
	classes := append([]string(nil), c.Classes...)
	c.mu.Unlock()
	k := len(classes)
	p := &model.Prediction{Classes: classes, Labels: make([]int, n), Probs: make([]float64, n*k)}
	for i, a := range got {
		p.Labels[i] = a.label
		if len(a.probs) == k {
			copy(p.Probs[i*k:], a.probs)
		} else if a.label >= 0 && a.label < k {
			p.Probs[i*k+a.label] = 1
		}
	}
	return p, nil
}

func (c *Client) columns(rec arrow.RecordBatch) ([]arrow.Array, []string, error) {
	sch := rec.Schema()
	if len(c.Inputs) == 0 {
		cols := make([]arrow.Array, rec.NumCols())
		names := make([]string, rec.NumCols())
		for i := range cols {
			cols[i], names[i] = rec.Column(i), sch.Field(i).Name
		}
		return cols, names, nil
	}
	var cols []arrow.Array
	var names []string
	for _, in := range c.Inputs {
		idx := sch.FieldIndices(in.Name)
		if len(idx) == 0 {
			if in.Optional {
				continue
			}
			return nil, nil, fmt.Errorf("cascade: reference %s: input has no column %q", c.URL, in.Name)
		}
		cols = append(cols, rec.Column(idx[0]))
		names = append(names, in.Name)
	}
	return cols, names, nil
}

// appendValue appends row i of col as a JSON value.
func appendValue(b []byte, col arrow.Array, i int) []byte {
	if col.IsNull(i) {
		return append(b, "null"...)
	}
	switch a := col.(type) {
	case *array.String:
		q, _ := json.Marshal(a.Value(i))
		return append(b, q...)
	case *array.LargeString:
		q, _ := json.Marshal(a.Value(i))
		return append(b, q...)
	case *array.Float64:
		return appendNum(b, a.Value(i))
	case *array.Float32:
		return appendNum(b, float64(a.Value(i)))
	case *array.Int64:
		return strconv.AppendInt(b, a.Value(i), 10)
	case *array.Int32:
		return strconv.AppendInt(b, int64(a.Value(i)), 10)
	case *array.Boolean:
		return strconv.AppendBool(b, a.Value(i))
	default:
		q, _ := json.Marshal(col.ValueStr(i))
		return append(b, q...)
	}
}

func appendNum(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// fetch asks the reference about the rows miss, in concurrent chunks.
func (c *Client) fetch(ctx context.Context, names, keys []string, miss []int, got []answer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	head, _ := json.Marshal(names)
	sem := make(chan struct{}, c.Concurrency)
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	for start := 0; start < len(miss); start += c.BatchRows {
		chunk := miss[start:min(start+c.BatchRows, len(miss))]
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var body bytes.Buffer
			body.WriteString(`{"dataframe_split":{"columns":`)
			body.Write(head)
			body.WriteString(`,"data":[`)
			for j, i := range chunk {
				if j > 0 {
					body.WriteByte(',')
				}
				body.WriteString(keys[i])
			}
			body.WriteString("]}}")
			ans, err := c.post(ctx, body.Bytes(), len(chunk))
			if err != nil {
				errOnce.Do(func() { firstErr = err; cancel() })
				return
			}
			for j, i := range chunk {
				got[i] = ans[j]
			}
			c.rowsSent.Add(int64(len(chunk)))
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// permanent marks an error that retrying cannot fix.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// post sends one request, retrying transient failures.
func (c *Client) post(ctx context.Context, body []byte, rows int) ([]answer, error) {
	delay := c.Backoff
	var last error
	attempts := 1 + max(c.Retries, 0)
	for a := 0; a < attempts; a++ {
		if a > 0 {
			// Full jitter keeps many clients from retrying in lockstep.
			d := delay/2 + time.Duration(rand.Int64N(int64(delay)))
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("cascade: reference %s: %w (after %d attempts; last error: %v)", c.URL, ctx.Err(), a, last)
			case <-t.C:
			}
			delay *= 2
		}
		ans, err := c.attempt(ctx, body, rows)
		if err == nil {
			return ans, nil
		}
		var p permanent
		if errors.As(err, &p) {
			return nil, fmt.Errorf("cascade: reference %s: %w", c.URL, p.error)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("cascade: reference %s: %w (last error: %v)", c.URL, ctx.Err(), err)
		}
		last = err
	}
	return nil, fmt.Errorf("cascade: reference %s: gave up after %d attempts: %w", c.URL, attempts, last)
}

func (c *Client) attempt(ctx context.Context, body []byte, rows int) ([]answer, error) {
	actx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, "POST", c.URL, bytes.NewReader(body))
	if err != nil {
		return nil, permanent{err}
	}
	req.Header.Set("Content-Type", "application/json")
	c.requests.Add(1)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("no answer within %v", c.Timeout)
		}
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		if actx.Err() != nil {
			return nil, fmt.Errorf("no complete answer within %v", c.Timeout)
		}
		return nil, err
	}
	if resp.StatusCode != 200 {
		msg := strings.TrimSpace(string(b))
		var e struct {
			Code string `json:"error_code"`
			Msg  string `json:"message"`
		}
		if json.Unmarshal(b, &e) == nil && e.Msg != "" {
			msg = e.Code + ": " + e.Msg
		}
		if len(msg) > 300 {
			msg = msg[:300] + "..."
		}
		err := fmt.Errorf("HTTP %d: %s", resp.StatusCode, msg)
		switch {
		case resp.StatusCode >= 500, resp.StatusCode == 408, resp.StatusCode == 429:
			return nil, err
		}
		return nil, permanent{err}
	}
	ans, err := c.parse(b, rows)
	if err != nil {
		return nil, permanent{err}
	}
	return ans, nil
}

// parse reads {"predictions": [...]}: objects with "label" and
// "prob_<class>" (dawn, MLflow classifiers returning a DataFrame), or bare
// labels.
func (c *Client) parse(b []byte, rows int) ([]answer, error) {
	var resp struct {
		Predictions []json.RawMessage `json:"predictions"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		return nil, fmt.Errorf("the answer is not MLflow's {\"predictions\": [...]}: %v", err)
	}
	if len(resp.Predictions) != rows {
		return nil, fmt.Errorf("%d predictions for %d rows", len(resp.Predictions), rows)
	}
	out := make([]answer, rows)
	c.mu.Lock()
	defer c.mu.Unlock()
	for r, raw := range resp.Predictions {
		label, probs, err := decodeItem(raw)
		if err != nil {
			return nil, fmt.Errorf("prediction %d: %v", r, err)
		}
		if c.Classes == nil && len(probs) > 0 {
			for _, p := range probs {
				c.Classes = append(c.Classes, p.class)
			}
		}
		a := answer{label: -1}
		if len(probs) > 0 && len(probs) == len(c.Classes) {
			a.probs = make([]float64, len(probs))
			for _, p := range probs {
				ci := indexOf(c.Classes, p.class)
				if ci < 0 {
					return nil, fmt.Errorf("prediction %d: class %q is not one of %v", r, p.class, c.Classes)
				}
				a.probs[ci] = p.v
			}
		}
		if label != nil {
			a.label = indexOf(c.Classes, *label)
			if a.label < 0 {
				if len(probs) > 0 {
					return nil, fmt.Errorf("prediction %d: label %q is not one of %v", r, *label, c.Classes)
				}
				c.Classes = append(c.Classes, *label)
				a.label = len(c.Classes) - 1
			}
		} else if a.probs != nil {
			a.label = 0
			for ci, v := range a.probs {
				if v > a.probs[a.label] {
					a.label = ci
				}
			}
		}
		out[r] = a
	}
	return out, nil
}

type classProb struct {
	class string
	v     float64
}

// decodeItem reads one prediction, keeping the order of its prob_ keys.
func decodeItem(raw json.RawMessage) (*string, []classProb, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, nil, errors.New("empty")
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, nil, err
		}
		return &s, nil, nil
	case '{':
	case 'n':
		return nil, nil, errors.New("null prediction (the reference abstained)")
	default:
		// A bare number or boolean is a label too (e.g. 0/1 classifiers).
		s := string(raw)
		return &s, nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if _, err := d.Token(); err != nil {
		return nil, nil, err
	}
	var label *string
	var probs []classProb
	for d.More() {
		kt, err := d.Token()
		if err != nil {
			return nil, nil, err
		}
		key := kt.(string)
		var v any
		if err := d.Decode(&v); err != nil {
			return nil, nil, err
		}
		switch {
		case key == "label" || key == "prediction" || key == "predicted_label":
			switch x := v.(type) {
			case string:
				label = &x
			case json.Number:
				s := x.String()
				label = &s
			case bool:
				s := strconv.FormatBool(x)
				label = &s
			case nil:
				return nil, nil, errors.New("null label (the reference abstained)")
			}
		case strings.HasPrefix(key, "prob_"):
			num, ok := v.(json.Number)
			if !ok {
				return nil, nil, fmt.Errorf("%s is not a number", key)
			}
			f, _ := num.Float64()
			probs = append(probs, classProb{class: strings.TrimPrefix(key, "prob_"), v: f})
		}
	}
	if label == nil && len(probs) == 0 {
		return nil, nil, errors.New("no \"label\" and no \"prob_<class>\" fields")
	}
	return label, probs, nil
}

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}
