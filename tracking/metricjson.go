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
	var seen [5]bool
	i := 0
	skip := func() {
		for i < len(b) && isSpace(b[i]) {
			i++
		}
	}
	str := func() ([]byte, bool) {
		if i >= len(b) || b[i] != '"' {
			return nil, false
		}
		j := i + 1
		for j < len(b) && b[j] != '"' {
			if b[j] == '\\' || b[j] < 0x20 || b[j] >= 0x80 {
				return nil, false
			}
			j++
		}
		if j >= len(b) {
			return nil, false
		}
		s := b[i+1 : j]
		i = j + 1
		return s, true
	}
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
	skip()
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i++
	skip()
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			skip()
			name, ok := str()
			if !ok {
				return false
			}
			skip()
			if i >= len(b) || b[i] != ':' {
				return false
			}
			i++
			skip()
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
				return false
			}
			if seen[field] {
				return false
			}
			seen[field] = true
			switch field {
			case 0, 4:
				s, ok := str()
				if !ok {
					return false
				}
				if field == 0 {
					out.Key = string(s)
				} else {
					out.RunID = string(s)
				}
			case 1:
				s, ok := num()
				if !ok || !validNumber(s) {
					return false
				}
				v, err := strconv.ParseFloat(string(s), 64)
				if err != nil {
					return false
				}
				out.Value = Float(v)
			default:
				s, ok := num()
				if !ok || !validNumber(s) {
					return false
				}
				v, err := strconv.ParseInt(string(s), 10, 64)
				if err != nil {
					return false
				}
				if field == 2 {
					out.Timestamp = Int64(v)
				} else {
					out.Step = Int64(v)
				}
			}
			skip()
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
	skip()
	if i != len(b) {
		return false
	}
	out.fields = fieldDecoded
	for f, bit := range [3]uint8{fieldKey, fieldValue, fieldTimestamp} {
		if seen[f] {
			out.fields |= bit
		}
	}
	*m = out
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
