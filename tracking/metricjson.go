package tracking

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// metricAlias decodes a Metric the general way, without recursing into
// Metric.UnmarshalJSON.
type metricAlias Metric

// UnmarshalJSON decodes one metric object. log-batch bodies are thousands
// of these, so the common shape (plain strings and numbers) is scanned
// directly; anything else falls back to encoding/json, which gives the
// same result and the same errors.
func (m *Metric) UnmarshalJSON(b []byte) error {
	if fastMetric(b, m) {
		return nil
	}
	var a metricAlias
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	*m = Metric(a)
	m.fields = fieldDecoded
	var present map[string]json.RawMessage
	if json.Unmarshal(b, &present) == nil {
		for k, bit := range map[string]uint8{"key": fieldKey, "value": fieldValue, "timestamp": fieldTimestamp} {
			if v, ok := present[k]; ok && string(v) != "null" {
				m.fields |= bit
			}
		}
	}
	return nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// fastMetric scans {"key": "...", "value": n, "timestamp": n, "step": n}
// in any order, with no escapes, nested values or duplicate keys; it
// reports false (leaving m untouched) for anything else.
func fastMetric(b []byte, m *Metric) bool {
	var out Metric
	i, ok := scanMetric(b, skipSpace(b, 0), &out)
	if !ok || skipSpace(b, i) != len(b) {
		return false
	}
	*m = out
	return true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// scanString reads a string with no escapes, control or non-ASCII bytes
// starting at b[i] (the opening quote): its bytes and the index after it.
func scanString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	j := i + 1
	for j < len(b) && b[j] != '"' {
		if b[j] == '\\' || b[j] < 0x20 || b[j] >= 0x80 {
			return nil, i, false
		}
		j++
	}
	if j >= len(b) {
		return nil, i, false
	}
	return b[i+1 : j], j + 1, true
}

// scanMetric reads one metric object of fastMetric's shape starting at
// b[i] and returns the index after it.
func scanMetric(b []byte, i int, m *Metric) (int, bool) {
	var out Metric
	var seen [5]bool
	num := func() ([]byte, bool) {
		j := i
		for j < len(b) && (b[j] == '-' || b[j] == '+' || b[j] == '.' || b[j] == 'e' || b[j] == 'E' || (b[j] >= '0' && b[j] <= '9')) {
			j++
		}
		if j == i {
			return nil, false
		}
		s := b[i:j]
		i = j
		return s, true
	}
	if i >= len(b) || b[i] != '{' {
		return i, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			i = skipSpace(b, i)
			name, j, ok := scanString(b, i)
			if !ok {
				return i, false
			}
			i = skipSpace(b, j)
			if i >= len(b) || b[i] != ':' {
				return i, false
			}
			i = skipSpace(b, i+1)
			field := -1
			switch string(name) {
			case "key":
				field = 0
			case "value":
				field = 1
			case "timestamp":
				field = 2
			case "step":
				field = 3
			case "run_id":
				field = 4
			default:
				return i, false
			}
			if seen[field] {
				return i, false
			}
			seen[field] = true
			switch field {
			case 0, 4:
				s, j, ok := scanString(b, i)
				if !ok {
					return i, false
				}
				i = j
				if field == 0 {
					out.Key = string(s)
				} else {
					out.RunID = string(s)
				}
			case 1:
				s, ok := num()
				if !ok || !validNumber(s) {
					return i, false
				}
				v, err := strconv.ParseFloat(string(s), 64)
				if err != nil {
					return i, false
				}
				out.Value = Float(v)
			default:
				s, ok := num()
				if !ok || !validNumber(s) {
					return i, false
				}
				v, err := strconv.ParseInt(string(s), 10, 64)
				if err != nil {
					return i, false
				}
				if field == 2 {
					out.Timestamp = Int64(v)
				} else {
					out.Step = Int64(v)
				}
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return i, false
			}
			if b[i] == ',' {
				i++
				continue
			}
			if b[i] == '}' {
				i++
				break
			}
			return i, false
		}
	}
	out.fields = fieldDecoded
	for f, bit := range [3]uint8{fieldKey, fieldValue, fieldTimestamp} {
		if seen[f] {
			out.fields |= bit
		}
	}
	*m = out
	return i, true
}

// decodeFast decodes the common log-batch body, {"run_id": "...",
// "metrics": [...]} with metrics of fastMetric's shape and params and tags
// empty or null, in one pass; it reports false (leaving r untouched) for
// anything else, which the general decoder then handles with the same
// result and errors. A 1000-metric body went through encoding/json, the
// case-folding check and fastMetric in three scans.
func (r *logBatchReq) decodeFast(b []byte) bool {
	var out logBatchReq
	var seen [4]bool
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			name, j, ok := scanString(b, skipSpace(b, i))
			if !ok {
				return false
			}
			i = skipSpace(b, j)
			if i >= len(b) || b[i] != ':' {
				return false
			}
			i = skipSpace(b, i+1)
			field := -1
			switch string(name) {
			case "run_id":
				field = 0
			case "metrics":
				field = 1
			case "params":
				field = 2
			case "tags":
				field = 3
			default:
				return false
			}
			if seen[field] {
				return false
			}
			seen[field] = true
			switch {
			case field == 0:
				s, j, ok := scanString(b, i)
				if !ok {
					return false
				}
				out.RunID, i = string(s), j
			case bytes.HasPrefix(b[i:], []byte("null")):
				i += len("null")
			case i < len(b) && b[i] == '[':
				i = skipSpace(b, i+1)
				if field != 1 {
					// Params and tags take the general path unless empty.
					if i >= len(b) || b[i] != ']' {
						return false
					}
					if field == 2 {
						out.Params = []Param{}
					} else {
						out.Tags = []Tag{}
					}
					i++
					break
				}
				out.Metrics = []Metric{}
				if i < len(b) && b[i] == ']' {
					i++
					break
				}
				if n := bytes.Count(b[i:], []byte("{")); n > 0 {
					out.Metrics = make([]Metric, 0, n)
				}
				for {
					var m Metric
					j, ok := scanMetric(b, i, &m)
					if !ok {
						return false
					}
					out.Metrics = append(out.Metrics, m)
					i = skipSpace(b, j)
					if i >= len(b) {
						return false
					}
					if b[i] == ',' {
						i = skipSpace(b, i+1)
						continue
					}
					if b[i] == ']' {
						i++
						break
					}
					return false
				}
			default:
				return false
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return false
			}
			if b[i] == ',' {
				i++
				continue
			}
			if b[i] == '}' {
				i++
				break
			}
			return false
		}
	}
	if skipSpace(b, i) != len(b) {
		return false
	}
	*r = out
	return true
}

// validNumber checks JSON's number grammar, which ParseFloat is laxer than
// (it takes "1.", "+1", ".5", "1_0" is already excluded by the scanner).
func validNumber(s []byte) bool {
	if bytes.HasPrefix(s, []byte("+")) {
		return false
	}
	return json.Valid(s)
}
