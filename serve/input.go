package serve

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/dawn-ml/dawn/model"
)

// MLflow's error codes used by the scoring protocol.
const (
	codeBadRequest   = "BAD_REQUEST"             // malformed request
	codeInvalidParam = "INVALID_PARAMETER_VALUE" // request does not match the signature
	codeInternal     = "INTERNAL_ERROR"
)

// RequestError is an error with an HTTP status and an MLflow error code whose
// message is safe to show the client.
type RequestError struct {
	Status int
	Code   string
	Msg    string
}

func (e *RequestError) Error() string { return e.Msg }

func badRequest(format string, args ...any) error {
	return &RequestError{Status: 400, Code: codeBadRequest, Msg: fmt.Sprintf(format, args...)}
}

func invalidParam(format string, args ...any) error {
	return &RequestError{Status: 400, Code: codeInvalidParam, Msg: fmt.Sprintf(format, args...)}
}

// kind is a column's storage kind, from MLflow's signature types.
type kind uint8

const (
	kString kind = iota
	kBinary
	kDouble
	kFloat
	kLong
	kInt
	kBool
	kDatetime
)

var kindNames = map[string]kind{
	"string": kString, "str": kString, "binary": kBinary, "bytes": kBinary,
	"double": kDouble, "float64": kDouble, "float": kFloat, "float32": kFloat,
	"long": kLong, "int64": kLong, "integer": kInt, "int32": kInt, "int": kInt,
	"boolean": kBool, "bool": kBool, "datetime": kDatetime,
}

func (k kind) String() string {
	return [...]string{"string", "binary", "double", "float", "long", "integer", "boolean", "datetime"}[k]
}

func (k kind) arrow() arrow.DataType {
	switch k {
	case kString:
		return arrow.BinaryTypes.String
	case kBinary:
		return arrow.BinaryTypes.Binary
	case kDouble:
		return arrow.PrimitiveTypes.Float64
	case kFloat:
		return arrow.PrimitiveTypes.Float32
	case kLong:
		return arrow.PrimitiveTypes.Int64
	case kInt:
		return arrow.PrimitiveTypes.Int32
	case kBool:
		return arrow.FixedWidthTypes.Boolean
	default:
		return arrow.FixedWidthTypes.Timestamp_us
	}
}

type colSpec struct {
	name     string
	kind     kind
	optional bool
}

// signature is a model's input signature compiled for request parsing. An
// empty signature (a model saved without one) takes the request's columns,
// typed from their first non-null value.
type signature struct {
	cols   []colSpec
	index  map[string]int
	schema *arrow.Schema
}

func newSignature(inputs []model.Column) (*signature, error) {
	s := &signature{index: make(map[string]int, len(inputs))}
	fields := make([]arrow.Field, 0, len(inputs))
	for _, c := range inputs {
		k, ok := kindNames[strings.ToLower(c.Type)]
		if !ok {
			return nil, fmt.Errorf("serve: input column %q: unsupported signature type %q", c.Name, c.Type)
		}
		if _, dup := s.index[c.Name]; dup {
			return nil, fmt.Errorf("serve: input column %q appears twice in the signature", c.Name)
		}
		s.index[c.Name] = len(s.cols)
		s.cols = append(s.cols, colSpec{name: c.Name, kind: k, optional: c.Optional})
		fields = append(fields, arrow.Field{Name: c.Name, Type: k.arrow(), Nullable: true})
	}
	s.schema = arrow.NewSchema(fields, nil)
	return s, nil
}

func (s *signature) describe() string {
	parts := make([]string, len(s.cols))
	for i, c := range s.cols {
		parts[i] = c.name + " " + c.kind.String()
	}
	return strings.Join(parts, ", ")
}

// column holds one input column's values for the rows of a request.
type column struct {
	strs  []string  // string, binary
	nums  []float64 // double, float
	ints  []int64   // long, integer, datetime (µs since the epoch)
	bools []bool
	null  []bool // nil while no value is null
}

// table is a parsed request: n rows of the signature's columns, and the
// request's context columns (see ContextColumn).
type table struct {
	sig  *signature
	n    int
	cols []column
	ctx  []ContextColumn
}

func newTable(sig *signature, n int) *table {
	t := &table{sig: sig, n: n, cols: make([]column, len(sig.cols))}
	for i, c := range sig.cols {
		col := &t.cols[i]
		switch c.kind {
		case kString, kBinary:
			col.strs = make([]string, 0, n)
		case kDouble, kFloat:
			col.nums = make([]float64, 0, n)
		case kLong, kInt, kDatetime:
			col.ints = make([]int64, 0, n)
		case kBool:
			col.bools = make([]bool, 0, n)
		}
	}
	return t
}

func (c *column) len() int {
	return max(len(c.strs), len(c.nums), len(c.ints), len(c.bools))
}

func (c *column) appendNull(k kind) {
	if c.null == nil {
		n := c.len()
		c.null = make([]bool, n, n+1)
	}
	c.null = append(c.null, true)
	switch k {
	case kString, kBinary:
		c.strs = append(c.strs, "")
	case kDouble, kFloat:
		c.nums = append(c.nums, 0)
	case kLong, kInt, kDatetime:
		c.ints = append(c.ints, 0)
	case kBool:
		c.bools = append(c.bools, false)
	}
}

func (c *column) markValid() {
	if c.null != nil {
		c.null = append(c.null, false)
	}
}

func jsonTypeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case json.Number, float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "list"
	case map[string]any:
		return "object"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// addJSON appends one decoded JSON value (decoded with UseNumber).
func (t *table) addJSON(ci, row int, v any) error {
	spec := t.sig.cols[ci]
	col := &t.cols[ci]
	if v == nil {
		if !spec.optional {
			return invalidParam("column %q row %d: missing value for required %s input", spec.name, row, spec.kind)
		}
		col.appendNull(spec.kind)
		return nil
	}
	mismatch := func() error {
		shown := truncate(fmt.Sprint(v))
		if str, ok := v.(string); ok {
			shown = strconv.Quote(truncate(str))
		}
		return invalidParam("column %q row %d: expected %s, got %s %s", spec.name, row, spec.kind, jsonTypeName(v), shown)
	}
	switch spec.kind {
	case kString:
		s, ok := v.(string)
		if !ok {
			return mismatch()
		}
		col.strs = append(col.strs, s)
	case kBinary:
		s, ok := v.(string)
		if !ok {
			return mismatch()
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return invalidParam("column %q row %d: binary values must be base64: %v", spec.name, row, err)
		}
		col.strs = append(col.strs, string(b))
	case kDouble, kFloat:
		n, ok := v.(json.Number)
		if !ok {
			return mismatch()
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return invalidParam("column %q row %d: %s out of range for %s", spec.name, row, n, spec.kind)
		}
		col.nums = append(col.nums, f)
	case kLong, kInt:
		n, ok := v.(json.Number)
		if !ok {
			return mismatch()
		}
		i, err := parseInt(string(n), spec.kind)
		if err != nil {
			return invalidParam("column %q row %d: %v", spec.name, row, err)
		}
		col.ints = append(col.ints, i)
	case kBool:
		b, ok := v.(bool)
		if !ok {
			return mismatch()
		}
		col.bools = append(col.bools, b)
	case kDatetime:
		s, ok := v.(string)
		if !ok {
			return mismatch()
		}
		us, err := parseTime(s)
		if err != nil {
			return invalidParam("column %q row %d: %v", spec.name, row, err)
		}
		col.ints = append(col.ints, us)
	}
	col.markValid()
	return nil
}

// addText appends one CSV cell; the empty cell is null.
func (t *table) addText(ci, row int, s string) error {
	spec := t.sig.cols[ci]
	col := &t.cols[ci]
	if s == "" && spec.kind != kString {
		if !spec.optional {
			return invalidParam("column %q row %d: missing value for required %s input", spec.name, row, spec.kind)
		}
		col.appendNull(spec.kind)
		return nil
	}
	switch spec.kind {
	case kString:
		col.strs = append(col.strs, s)
	case kBinary:
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return invalidParam("column %q row %d: binary values must be base64: %v", spec.name, row, err)
		}
		col.strs = append(col.strs, string(b))
	case kDouble, kFloat:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return invalidParam("column %q row %d: expected %s, got %q", spec.name, row, spec.kind, truncate(s))
		}
		col.nums = append(col.nums, f)
	case kLong, kInt:
		i, err := parseInt(strings.TrimSpace(s), spec.kind)
		if err != nil {
			return invalidParam("column %q row %d: %v", spec.name, row, err)
		}
		col.ints = append(col.ints, i)
	case kBool:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "1":
			col.bools = append(col.bools, true)
		case "false", "0":
			col.bools = append(col.bools, false)
		default:
			return invalidParam("column %q row %d: expected boolean, got %q", spec.name, row, truncate(s))
		}
	case kDatetime:
		us, err := parseTime(s)
		if err != nil {
			return invalidParam("column %q row %d: %v", spec.name, row, err)
		}
		col.ints = append(col.ints, us)
	}
	col.markValid()
	return nil
}

func parseInt(s string, k kind) (int64, error) {
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// 3.0 is an integer written as a float; 3.5 is not.
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return 0, fmt.Errorf("expected %s, got %s", k, truncate(s))
		}
		i = int64(f)
	}
	if k == kInt && (i < math.MinInt32 || i > math.MaxInt32) {
		return 0, fmt.Errorf("%d out of range for integer (32-bit)", i)
	}
	return i, nil
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"}

func parseTime(s string) (int64, error) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, strings.TrimSpace(s)); err == nil {
			return t.UnixMicro(), nil
		}
	}
	return 0, fmt.Errorf("expected datetime (RFC 3339 or YYYY-MM-DD[ HH:MM:SS]), got %q", truncate(s))
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:61] + "..."
	}
	return s
}

// The input fields of a JSON request, as MLflow names them.
var inputFields = []string{"dataframe_split", "dataframe_records", "instances", "inputs"}

const requiredFormat = "The input must be a JSON dictionary with exactly one of the input fields {'dataframe_split', 'dataframe_records', 'instances', 'inputs'}"

// DefaultMaxRows is the rows one scoring request may hold when
// Options.MaxRows is 0.
const DefaultMaxRows = 100_000

// sigLessColumns is the width assumed, for the value budget, of a request
// to a model saved without a signature (whose columns come from the request).
const sigLessColumns = 64

// limits bounds the work one request can cause: its rows, and the JSON
// values (or CSV fields) parsing may create before the rows are counted,
// rows × (columns + 2) + 1,024 (a row's values, its list or object and an
// index entry, and room for names), so that a body of tiny values ("" or 0)
// cannot make a tree a hundred times its size.
type limits struct{ rows, values int }

func newLimits(maxRows int, sig *signature) limits {
	cols := len(sig.cols)
	if cols == 0 {
		cols = sigLessColumns
	}
	if maxRows > (math.MaxInt-1024)/(cols+2) {
		return limits{rows: maxRows, values: math.MaxInt}
	}
	return limits{rows: maxRows, values: maxRows*(cols+2) + 1024}
}

// unlimited is for callers (tests, tools) that bound the input themselves.
var unlimited = limits{rows: math.MaxInt, values: math.MaxInt}

func (l limits) tooManyValues() error {
	return &RequestError{Status: 413, Code: codeBadRequest, Msg: fmt.Sprintf(
		"request too large: more than %d values; a request may hold at most %d rows (--max-rows)", l.values, l.rows)}
}

func (l limits) checkRows(n int) error {
	if n > l.rows {
		return &RequestError{Status: 413, Code: codeBadRequest, Msg: fmt.Sprintf(
			"request has %d rows; a request may hold at most %d (--max-rows); split it into smaller requests", n, l.rows)}
	}
	return nil
}

// parseJSON parses an application/json scoring request.
func parseJSON(body []byte, sig *signature, lim limits) (*table, error) {
	if t, ok := parseSplitFast(body, sig, lim); ok {
		return t, nil
	}
	v, err := parseValueLimit(body, lim.values)
	if errors.Is(err, errTooManyValues) {
		return nil, lim.tooManyValues()
	}
	if err != nil {
		if len(bytes.TrimSpace(body)) == 0 {
			return nil, badRequest("%s. Received an empty body.", requiredFormat)
		}
		return nil, badRequest("Failed to parse input from JSON. Ensure that input is a valid JSON formatted string. Error: %v", err)
	}
	top, ok := v.(map[string]any)
	if !ok {
		if _, isList := v.([]any); isList {
			return nil, badRequest("%s. Received a list.", requiredFormat)
		}
		return nil, badRequest("%s. Received a JSON %s.", requiredFormat, jsonTypeName(v))
	}
	var field string
	n := 0
	for _, f := range inputFields {
		if _, ok := top[f]; ok {
			field = f
			n++
		}
	}
	if n != 1 {
		keys := make([]string, 0, len(top))
		for k := range top {
			keys = append(keys, "'"+k+"'")
		}
		sort.Strings(keys)
		return nil, badRequest("%s. Received dictionary with input fields: [%s].", requiredFormat, strings.Join(keys, ", "))
	}
	if p, ok := top["params"]; ok && p != nil {
		if _, isObj := p.(map[string]any); !isObj {
			return nil, badRequest("params must be a JSON object of parameter names to values, got %s", jsonTypeName(p))
		}
	}
	v = top[field]
	var t *table
	switch field {
	case "dataframe_split":
		t, err = fromSplit(v, sig)
	case "dataframe_records":
		recs, ok := v.([]any)
		if !ok {
			return nil, badRequest("dataframe_records must be a list of records (objects of column to value), got %s", jsonTypeName(v))
		}
		t, err = fromRecords(field, recs, sig)
	default:
		t, err = fromTensorInput(field, v, sig)
	}
	if err != nil {
		return nil, err
	}
	if err := lim.checkRows(t.n); err != nil {
		return nil, err
	}
	return t, nil
}

// resolveColumns maps the signature's columns to positions in the request's
// columns, and picks the request positions that are context columns; an
// empty signature adopts the request's columns.
func resolveColumns(names []string, nrows int, sig *signature, firstRow func(int) any) (*signature, []int, []int, error) {
	if len(sig.cols) == 0 {
		inputs := make([]model.Column, len(names))
		for i, n := range names {
			typ := "string"
			switch v := firstRow(i).(type) {
			case json.Number:
				typ = "double"
			case bool:
				typ = "boolean"
			case nil:
				typ = "string"
			case string:
				_ = v
			}
			inputs[i] = model.Column{Name: n, Type: typ, Optional: true}
		}
		s, err := newSignature(inputs)
		if err != nil {
			return nil, nil, nil, invalidParam("%v", err)
		}
		pos := make([]int, len(names))
		for i := range pos {
			pos[i] = i
		}
		return s, pos, nil, nil
	}
	if len(names) == 0 && nrows == 0 {
		pos := make([]int, len(sig.cols))
		for i := range pos {
			pos[i] = -1
		}
		return sig, pos, nil, nil
	}
	at := make(map[string]int, len(names))
	for i, n := range names {
		at[n] = i
	}
	pos := make([]int, len(sig.cols))
	taken := make([]bool, len(names))
	var missing []string
	for i, c := range sig.cols {
		p, ok := at[c.name]
		if !ok {
			p = -1
			if !c.optional {
				missing = append(missing, strconv.Quote(c.name))
			}
		} else {
			taken[p] = true
		}
		pos[i] = p
	}
	if len(missing) > 0 {
		return nil, nil, nil, invalidParam("Model is missing inputs [%s]; the request has columns %s and the model takes: %s",
			strings.Join(missing, ", "), quoteList(names), sig.describe())
	}
	return sig, pos, contextAt(names, taken), nil
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func fromSplit(v any, sig *signature) (*table, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, badRequest("dataframe_split must be an object with \"columns\" and \"data\", got %s", jsonTypeName(v))
	}
	rowsV, ok := obj["data"]
	if !ok {
		return nil, badRequest("dataframe_split has no \"data\" field")
	}
	rows, ok := rowsV.([]any)
	if !ok {
		return nil, badRequest("dataframe_split \"data\" must be a list of rows, got %s", jsonTypeName(rowsV))
	}
	var names []string
	if cv, ok := obj["columns"]; ok && cv != nil {
		cl, ok := cv.([]any)
		if !ok {
			return nil, badRequest("dataframe_split \"columns\" must be a list of names, got %s", jsonTypeName(cv))
		}
		names = make([]string, len(cl))
		for i, c := range cl {
			s, ok := c.(string)
			if !ok {
				return nil, badRequest("dataframe_split \"columns\"[%d] must be a string, got %s", i, jsonTypeName(c))
			}
			names[i] = s
		}
	} else {
		// Without column names the values are positional, in signature order.
		for _, c := range sig.cols {
			names = append(names, c.name)
		}
	}
	for r, row := range rows {
		rl, ok := row.([]any)
		if !ok {
			return nil, badRequest("dataframe_split \"data\" row %d must be a list of values, got %s", r, jsonTypeName(row))
		}
		if len(rl) != len(names) {
			return nil, badRequest("dataframe_split \"data\" row %d has %d values for %d columns", r, len(rl), len(names))
		}
	}
	s, pos, ctxAt, err := resolveColumns(names, len(rows), sig, func(i int) any { return firstNonNull(rows, func(r any) any { return r.([]any)[i] }) })
	if err != nil {
		return nil, err
	}
	t := newTable(s, len(rows))
	for ci, p := range pos {
		for r, row := range rows {
			var val any
			if p >= 0 {
				val = row.([]any)[p]
			}
			if err := t.addJSON(ci, r, val); err != nil {
				return nil, err
			}
		}
	}
	t.setContext(names, ctxAt)
	for i, k := range ctxAt {
		for _, row := range rows {
			t.addContext(i, row.([]any)[k])
		}
	}
	return t, nil
}

func firstNonNull(rows []any, get func(any) any) any {
	for _, r := range rows {
		if v := get(r); v != nil {
			return v
		}
	}
	return nil
}

func fromRecords(field string, recs []any, sig *signature) (*table, error) {
	var names []string
	seen := map[string]bool{}
	for r, rec := range recs {
		m, ok := rec.(map[string]any)
		if !ok {
			return nil, badRequest("%s item %d must be a record (an object of column to value), got %s", field, r, jsonTypeName(rec))
		}
		for k := range m {
			if !seen[k] {
				seen[k] = true
				names = append(names, k)
			}
		}
	}
	// Objects have no order: by name, for the adopted columns of a model
	// without a signature and for the context columns.
	sort.Strings(names)
	s, pos, ctxAt, err := resolveColumns(names, len(recs), sig, func(i int) any {
		return firstNonNull(recs, func(r any) any { return r.(map[string]any)[names[i]] })
	})
	if err != nil {
		return nil, err
	}
	t := newTable(s, len(recs))
	for ci, c := range s.cols {
		for r, rec := range recs {
			var val any
			if pos[ci] >= 0 {
				val = rec.(map[string]any)[c.name]
			}
			if err := t.addJSON(ci, r, val); err != nil {
				return nil, err
			}
		}
	}
	t.setContext(names, ctxAt)
	for i, k := range ctxAt {
		for _, rec := range recs {
			t.addContext(i, rec.(map[string]any)[names[k]])
		}
	}
	return t, nil
}

// fromTensorInput parses the TF-serving forms, "instances" and "inputs": a
// list of records, an object of column to values (or to one value), a list
// of scalars for a one-column model, or a list of rows in signature order.
func fromTensorInput(field string, v any, sig *signature) (*table, error) {
	switch x := v.(type) {
	case map[string]any:
		names := make([]string, 0, len(x))
		for k := range x {
			names = append(names, k)
		}
		sort.Strings(names)
		n := -1
		cols := make([][]any, len(names))
		for i, k := range names {
			switch vals := x[k].(type) {
			case []any:
				cols[i] = vals
			default:
				cols[i] = []any{vals}
			}
			if n >= 0 && len(cols[i]) != n {
				return nil, badRequest("%s: column %q has %d values but column %q has %d; all columns must have the same length", field, k, len(cols[i]), names[0], n)
			}
			n = len(cols[i])
		}
		if n < 0 {
			n = 0
		}
		s, pos, ctxAt, err := resolveColumns(names, n, sig, func(i int) any { return firstNonNull(cols[i], func(v any) any { return v }) })
		if err != nil {
			return nil, err
		}
		t := newTable(s, n)
		for ci, p := range pos {
			for r := 0; r < n; r++ {
				var val any
				if p >= 0 {
					val = cols[p][r]
				}
				if err := t.addJSON(ci, r, val); err != nil {
					return nil, err
				}
			}
		}
		t.setContext(names, ctxAt)
		for i, k := range ctxAt {
			for r := 0; r < n; r++ {
				t.addContext(i, cols[k][r])
			}
		}
		return t, nil
	case []any:
		if len(x) == 0 {
			return newTable(sig, 0), nil
		}
		switch x[0].(type) {
		case map[string]any:
			return fromRecords(field, x, sig)
		case []any:
			if len(sig.cols) == 0 {
				return nil, badRequest("%s: rows given as lists need a model signature to name their columns; send records or dataframe_split with columns", field)
			}
			names := make([]string, len(sig.cols))
			for i, c := range sig.cols {
				names[i] = c.name
			}
			return fromSplit(map[string]any{"columns": toAny(names), "data": x}, sig)
		default:
			return fromValues(field, x, sig)
		}
	default:
		return fromValues(field, []any{v}, sig)
	}
}

// fromValues takes plain values as the rows of a model's one required
// column (its optional columns are left null).
func fromValues(field string, vals []any, sig *signature) (*table, error) {
	only := -1
	for i, c := range sig.cols {
		if !c.optional {
			if only >= 0 {
				only = -2
				break
			}
			only = i
		}
	}
	if only < 0 {
		if len(sig.cols) == 1 {
			only = 0
		} else {
			return nil, badRequest("%s: plain values fit only a model with one required input column; send records or columns by name; this model takes: %s", field, sig.describe())
		}
	}
	t := newTable(sig, len(vals))
	for r, val := range vals {
		switch val.(type) {
		case map[string]any, []any:
			return nil, badRequest("%s item %d: a %s among plain values", field, r, jsonTypeName(val))
		}
		for ci := range sig.cols {
			v := val
			if ci != only {
				v = nil
			}
			if err := t.addJSON(ci, r, v); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// parseCSV parses a text/csv scoring request: a header row naming the
// columns, then one row per input.
func parseCSV(body []byte, sig *signature, lim limits) (*table, error) {
	r := csv.NewReader(bytes.NewReader(body))
	r.ReuseRecord = false
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, badRequest("Failed to parse input as a CSV table: the body is empty; send a header row and then the rows")
	}
	if err != nil {
		return nil, badRequest("Failed to parse input as a CSV table: %v", err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	fields := len(header)
	if fields > lim.values {
		return nil, lim.tooManyValues()
	}
	var recs [][]string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, badRequest("Failed to parse input as a CSV table: %v", err)
		}
		if err := lim.checkRows(len(recs) + 1); err != nil {
			return nil, err
		}
		if fields += len(rec); fields > lim.values {
			return nil, lim.tooManyValues()
		}
		recs = append(recs, rec)
	}
	s, pos, ctxAt, err := resolveColumns(header, len(recs), sig, func(i int) any {
		for _, rec := range recs {
			if rec[i] != "" {
				if _, err := strconv.ParseFloat(rec[i], 64); err == nil {
					return json.Number(rec[i])
				}
				return rec[i]
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	t := newTable(s, len(recs))
	for ci, p := range pos {
		for r, rec := range recs {
			if p < 0 {
				t.cols[ci].appendNull(s.cols[ci].kind)
				continue
			}
			if err := t.addText(ci, r+1, rec[p]); err != nil {
				return nil, err
			}
		}
	}
	t.setContext(header, ctxAt)
	for i, k := range ctxAt {
		for _, rec := range recs {
			t.addContext(i, csvCell(rec[k]))
		}
	}
	return t, nil
}

// buildRecord assembles the rows of one or more parsed requests (all of the
// same signature) into one Arrow record batch.
func buildRecord(sig *signature, tabs []*table, alloc memory.Allocator) arrow.RecordBatch {
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
	n := 0
	for _, t := range tabs {
		n += t.n
	}
	cols := make([]arrow.Array, len(sig.cols))
	for ci, c := range sig.cols {
		if c.kind == kString {
			if a := stringColumn(tabs, ci, n); a != nil {
				cols[ci] = a
				continue
			}
		}
		cols[ci] = builtColumn(sig.schema.Field(ci).Type, c.kind, tabs, ci, alloc)
	}
	rec := array.NewRecordBatch(sig.schema, cols, int64(n))
	for _, a := range cols {
		a.Release()
	}
	return rec
}

// stringColumn makes column ci of tabs (n rows) an Arrow string array
// straight from the parsed strings: one offsets buffer, one data buffer and
// a validity bitmap only when a value is null. For a single-row request
// the array builder's bookkeeping cost more than featurizing and scoring
// the row. It returns nil when the text exceeds 32-bit offsets.
func stringColumn(tabs []*table, ci, n int) arrow.Array {
	size, nulls := 0, 0
	for _, t := range tabs {
		col := &t.cols[ci]
		for _, s := range col.strs {
			size += len(s)
		}
		for _, isNull := range col.null {
			if isNull {
				nulls++
			}
		}
	}
	if size > math.MaxInt32 {
		return nil
	}
	offsets := make([]int32, n+1)
	data := make([]byte, 0, size)
	var valid []byte
	if nulls > 0 {
		valid = make([]byte, bitutil.BytesForBits(int64(n)))
	}
	i := 0
	for _, t := range tabs {
		col := &t.cols[ci]
		for k, s := range col.strs {
			data = append(data, s...)
			if valid != nil && (col.null == nil || !col.null[k]) {
				bitutil.SetBit(valid, i)
			}
			i++
			offsets[i] = int32(len(data))
		}
	}
	bufs := []*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offsets)), memory.NewBufferBytes(data)}
	if valid != nil {
		bufs[0] = memory.NewBufferBytes(valid)
	}
	d := array.NewData(arrow.BinaryTypes.String, n, bufs, nil, nulls, 0)
	defer d.Release()
	return array.NewStringData(d)
}

// builtColumn makes column ci of tabs with an Arrow array builder.
func builtColumn(typ arrow.DataType, k kind, tabs []*table, ci int, alloc memory.Allocator) arrow.Array {
	fb := array.NewBuilder(alloc, typ)
	defer fb.Release()
	for _, t := range tabs {
		col := &t.cols[ci]
		var valid []bool
		if col.null != nil {
			valid = make([]bool, len(col.null))
			for i, isNull := range col.null {
				valid[i] = !isNull
			}
		}
		switch k {
		case kString:
			fb.(*array.StringBuilder).AppendValues(col.strs, valid)
		case kBinary:
			bb := fb.(*array.BinaryBuilder)
			for i, s := range col.strs {
				if valid != nil && !valid[i] {
					bb.AppendNull()
				} else {
					bb.Append([]byte(s))
				}
			}
		case kDouble:
			fb.(*array.Float64Builder).AppendValues(col.nums, valid)
		case kFloat:
			f32 := make([]float32, len(col.nums))
			for i, v := range col.nums {
				f32[i] = float32(v)
			}
			fb.(*array.Float32Builder).AppendValues(f32, valid)
		case kLong:
			fb.(*array.Int64Builder).AppendValues(col.ints, valid)
		case kInt:
			i32 := make([]int32, len(col.ints))
			for i, v := range col.ints {
				i32[i] = int32(v)
			}
			fb.(*array.Int32Builder).AppendValues(i32, valid)
		case kBool:
			fb.(*array.BooleanBuilder).AppendValues(col.bools, valid)
		case kDatetime:
			ts := make([]arrow.Timestamp, len(col.ints))
			for i, v := range col.ints {
				ts[i] = arrow.Timestamp(v)
			}
			fb.(*array.TimestampBuilder).AppendValues(ts, valid)
		}
	}
	return fb.NewArray()
}
