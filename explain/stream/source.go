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
)

// Row is one observation: the attribute values and the metric.
type Row struct {
	Values []string
	Metric float64
}

// RowReader yields rows until io.EOF.
type RowReader interface {
	Next() (Row, error)
}

// Fields picks the attribute and metric fields out of parsed records.
type Fields struct {
	Attrs  []string
	Metric string
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
	cr     *csv.Reader
	idx    []int
	metric int
	line   int
	row    Row
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
	c := &csvReader{cr: cr, line: 1, row: Row{Values: make([]string, len(f.Attrs))}}
	for _, a := range f.Attrs {
		i, err := find(a)
		if err != nil {
			return nil, err
		}
		c.idx = append(c.idx, i)
	}
	if c.metric, err = find(f.Metric); err != nil {
		return nil, err
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
	c.row.Metric = math.NaN()
	if c.metric < len(rec) {
		v, err := parseMetric(rec[c.metric])
		if err != nil {
			return Row{}, fmt.Errorf("stream: csv line %d: %w", c.line, err)
		}
		c.row.Metric = v
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
// booleans are formatted, null and missing are no value), the metric as a
// number (null or missing is NaN).
func ParseJSON(b []byte, f Fields) (Row, error) {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return Row{}, err
	}
	r := Row{Values: make([]string, len(f.Attrs)), Metric: math.NaN()}
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
	switch v := m[f.Metric].(type) {
	case float64:
		r.Metric = v
	case string:
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return Row{}, fmt.Errorf("metric %q is %q, not a number", f.Metric, v)
		}
		r.Metric = x
	case nil:
	default:
		return Row{}, fmt.Errorf("metric %q is not a number", f.Metric)
	}
	return r, nil
}

// Run feeds rows to x until the reader ends or ctx is cancelled, calling
// emit with each explanation: every Config.Period rows, and every interval
// of wall time when interval > 0 (checked as rows arrive), and once at the
// end of the input.
func Run(ctx context.Context, rr RowReader, x *Explainer, interval time.Duration, emit func(*Result) error) error {
	last := time.Now()
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		row, err := rr.Next()
		if errors.Is(err, io.EOF) {
			return emit(&Result{Rows: x.Rows(), Result: x.Explain(), Final: true})
		}
		if err != nil {
			return err
		}
		r := x.Observe(row.Values, row.Metric)
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
