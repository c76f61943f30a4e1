package stream

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/dawn-ml/dawn/explain"
)

// Row is one observation: the attribute values and the metrics (NaN for
// an empty or missing one).
type Row struct {
	Values  []string
	Metrics []float64
}

// RowReader yields rows until io.EOF.
type RowReader interface {
	Next() (Row, error)
}

// Fields picks the attribute and metric fields out of parsed records.
type Fields struct {
	Attrs   []string
	Metrics []string
}

// NewReader reads CSV (with a header line) or JSON lines from r, telling
// them apart by the first non-blank byte.
func NewReader(r io.Reader, f Fields) (RowReader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	for {
		b, err := br.Peek(1)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("stream: empty input")
			}
			return nil, fmt.Errorf("stream: read: %w", err)
		}
		if b[0] == ' ' || b[0] == '\n' || b[0] == '\r' || b[0] == '\t' {
			br.ReadByte()
			continue
		}
		if b[0] == '{' {
			return &jsonReader{sc: bufio.NewScanner(br), f: f}, nil
		}
		return newCSVReader(br, f)
	}
}

type csvReader struct {
	cr      *csv.Reader
	idx     []int
	metrics []int
	line    int
	row     Row
}

func newCSVReader(r io.Reader, f Fields) (*csvReader, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("stream: read csv header: %w", err)
	}
	find := func(name string) (int, error) {
		for i, h := range head {
			if strings.EqualFold(strings.TrimSpace(h), name) {
				return i, nil
			}
		}
		return 0, fmt.Errorf("stream: csv header has no column %q (has %s)", name, strings.Join(head, ", "))
	}
	c := &csvReader{cr: cr, line: 1, row: Row{Values: make([]string, len(f.Attrs)), Metrics: make([]float64, len(f.Metrics))}}
	for _, a := range f.Attrs {
		i, err := find(a)
		if err != nil {
			return nil, err
		}
		c.idx = append(c.idx, i)
	}
	for _, m := range f.Metrics {
		i, err := find(m)
		if err != nil {
			return nil, err
		}
		c.metrics = append(c.metrics, i)
	}
	return c, nil
}

func (c *csvReader) Next() (Row, error) {
	rec, err := c.cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return Row{}, io.EOF
		}
		return Row{}, fmt.Errorf("stream: csv line %d: %w", c.line+1, err)
	}
	c.line++
	for j, i := range c.idx {
		if i < len(rec) {
			c.row.Values[j] = strings.Clone(rec[i])
		} else {
			c.row.Values[j] = ""
		}
	}
	for j, i := range c.metrics {
		c.row.Metrics[j] = math.NaN()
		if i < len(rec) {
			v, err := parseMetric(rec[i])
			if err != nil {
				return Row{}, fmt.Errorf("stream: csv line %d: %w", c.line, err)
			}
			c.row.Metrics[j] = v
		}
	}
	return c.row, nil
}

// parseMetric reads a number; an empty cell is NaN (never an outlier).
func parseMetric(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("metric %q is not a number", s)
	}
	return v, nil
}

type jsonReader struct {
	sc   *bufio.Scanner
	f    Fields
	line int
}

func (j *jsonReader) Next() (Row, error) {
	for j.sc.Scan() {
		j.line++
		b := strings.TrimSpace(j.sc.Text())
		if b == "" {
			continue
		}
		r, err := ParseJSON([]byte(b), j.f)
		if err != nil {
			return Row{}, fmt.Errorf("stream: json line %d: %w", j.line, err)
		}
		return r, nil
	}
	if err := j.sc.Err(); err != nil {
		return Row{}, fmt.Errorf("stream: read: %w", err)
	}
	return Row{}, io.EOF
}

// ParseJSON reads one JSON object: attributes as strings (numbers and
// booleans are formatted, null and missing are no value), the metrics as
// numbers (null or missing is NaN).
func ParseJSON(b []byte, f Fields) (Row, error) {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return Row{}, err
	}
	r := Row{Values: make([]string, len(f.Attrs)), Metrics: make([]float64, len(f.Metrics))}
	for i, a := range f.Attrs {
		switch v := m[a].(type) {
		case string:
			r.Values[i] = v
		case float64:
			r.Values[i] = strconv.FormatFloat(v, 'g', -1, 64)
		case bool:
			r.Values[i] = strconv.FormatBool(v)
		}
	}
	for i, name := range f.Metrics {
		r.Metrics[i] = math.NaN()
		switch v := m[name].(type) {
		case float64:
			r.Metrics[i] = v
		case string:
			x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return Row{}, fmt.Errorf("metric %q is %q, not a number", name, v)
			}
			r.Metrics[i] = x
		case nil:
		default:
			return Row{}, fmt.Errorf("metric %q is not a number", name)
		}
	}
	return r, nil
}

// Model is a streaming explainer Run can drive: this package's Explainer,
// or package classic's MacroBase pipeline.
type Model interface {
	// ObserveRow consumes a row and returns an explanation when a period
	// ends, else nil.
	ObserveRow(Row) (*explain.Result, error)
	// Explain returns the current explanation.
	Explain() *explain.Result
	// Rows is the number of rows consumed.
	Rows() int64
}

// Committer is a RowReader whose rows are kept by their source until
// Commit, which Run calls once the final explanation is emitted.
type Committer interface {
	Commit() error
}

// Run feeds rows to x until the reader ends or ctx is cancelled, calling
// emit with each explanation: every period (the model's), and every
// interval of wall time when interval > 0 (checked as rows arrive), and
// once at the end of the input.
func Run(ctx context.Context, rr RowReader, x Model, interval time.Duration, emit func(*Result) error) error {
	last := time.Now()
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		row, err := rr.Next()
		if errors.Is(err, io.EOF) {
			if err := emit(&Result{Rows: x.Rows(), Result: x.Explain(), Final: true}); err != nil {
				return err
			}
			if c, ok := rr.(Committer); ok {
				return c.Commit()
			}
			return nil
		}
		if err != nil {
			return err
		}
		r, err := x.ObserveRow(row)
		if err != nil {
			return err
		}
		if r == nil && interval > 0 && x.Rows()%1024 == 0 && time.Since(last) >= interval {
			r = x.Explain()
		}
		if r != nil {
			last = time.Now()
			if err := emit(&Result{Rows: x.Rows(), Result: r}); err != nil {
				return err
			}
		}
	}
}
