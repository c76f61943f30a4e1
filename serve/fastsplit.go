package serve

import (
	"encoding/json"
	"strconv"
)

// parseSplitFast reads the commonest request, a lone dataframe_split
// object ({"dataframe_split": {"columns": [...], "data": [[...], ...]}},
// what MLflow's client sends for a DataFrame, "index" allowed) straight into
// a table, without building the generic tree of maps, slices and boxed
// values that parseJSON's other paths need: for a 1,000-row request that
// tree was a fifth of the server's time. It handles string values of
// string columns, numbers of double columns and nulls of optional columns;
// on anything else, valid or not, it reports false and parseJSON takes the
// general path, so every error and every unusual request is answered
// exactly as before. TestParseSplitFastMatchesGeneral and
// FuzzParseSplitFast check that the tables are identical.
//
// Past lim it also reports false, and the general path gives the error.
func parseSplitFast(body []byte, sig *signature, lim limits) (*table, bool) {
	if len(sig.cols) == 0 {
		return nil, false // the request's columns become the signature
	}
	p := &jsonParser{b: body, left: lim.values}
	if !p.expect('{') || p.key() != "dataframe_split" || !p.expect('{') {
		return nil, false
	}
	var names []string
	var pos, ctxAt []int
	var t *table
	seenData, seenIndex := false, false
	for {
		switch p.key() {
		case "columns":
			if names != nil || seenData {
				return nil, false // repeated, or after "data"
			}
			if names = p.names(); names == nil {
				return nil, false
			}
			var err error
			if _, pos, ctxAt, err = resolveColumns(names, -1, sig, nil); err != nil {
				return nil, false
			}
		case "index":
			if seenIndex {
				return nil, false
			}
			seenIndex = true
			p.ws()
			if _, err := p.value(2); err != nil { // the depth parseJSON would give it
				return nil, false
			}
		case "data":
			if names == nil || seenData {
				return nil, false
			}
			seenData = true
			if t = p.rows(sig, names, pos, ctxAt, lim.rows); t == nil {
				return nil, false
			}
		default:
			return nil, false
		}
		p.ws()
		if p.i >= len(p.b) {
			return nil, false
		}
		if p.b[p.i] == '}' {
			p.i++
			break
		}
		if p.b[p.i] != ',' {
			return nil, false
		}
		p.i++
	}
	if !seenData || !p.expect('}') {
		return nil, false
	}
	p.ws()
	if p.i != len(p.b) {
		return nil, false
	}
	// Signature columns the request leaves out are null in every row.
	for ci, at := range pos {
		if at < 0 {
			for range t.n {
				t.cols[ci].appendNull(sig.cols[ci].kind)
			}
		}
	}
	return t, true
}

// expect skips white space and the byte c.
func (p *jsonParser) expect(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// key reads an object key and its colon; "" when there is none.
func (p *jsonParser) key() string {
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return ""
	}
	k, err := p.str()
	if err != nil || !p.expect(':') {
		return ""
	}
	return k
}

// names reads a non-empty list of strings; nil otherwise.
func (p *jsonParser) names() []string {
	if !p.expect('[') {
		return nil
	}
	var out []string
	for {
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil
		}
		if p.left--; p.left < 0 {
			return nil
		}
		s, err := p.str()
		if err != nil {
			return nil
		}
		out = append(out, s)
		p.ws()
		if p.i >= len(p.b) {
			return nil
		}
		c := p.b[p.i]
		p.i++
		if c == ']' {
			return out
		}
		if c != ',' {
			return nil
		}
	}
}

// rows reads the "data" list, each row a list of len(names) values, the
// value at request position at[ci] going to signature column ci and the
// one at ctxAt[i] to context column i; nil past maxRows rows.
func (p *jsonParser) rows(sig *signature, names []string, at, ctxAt []int, maxRows int) *table {
	if !p.expect('[') {
		return nil
	}
	t := newTable(sig, 0)
	t.setContext(names, ctxAt)
	// col[k] is the signature column of request position k, -1-i for
	// context column i, or ignoredCell.
	col := make([]int, len(names))
	for k := range col {
		col[k] = ignoredCell
	}
	for ci, k := range at {
		if k >= 0 {
			col[k] = ci
		}
	}
	for i, k := range ctxAt {
		col[k] = -1 - i
	}
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return t
	}
	for {
		if !p.expect('[') {
			return nil
		}
		for k := range names {
			if k > 0 && !p.expect(',') {
				return nil
			}
			if !p.cell(t, col[k]) {
				return nil
			}
		}
		if !p.expect(']') {
			return nil
		}
		if t.n++; t.n > maxRows {
			return nil
		}
		p.ws()
		if p.i >= len(p.b) {
			return nil
		}
		c := p.b[p.i]
		p.i++
		if c == ']' {
			return t
		}
		if c != ',' {
			return nil
		}
	}
}

// ignoredCell marks a request position that is neither an input nor a
// context column (past MaxContextColumns).
const ignoredCell = -1 << 30

// cell reads one value into column ci of t (ci ≥ 0), into context column
// -1-ci (ci < 0), or skips it (ignoredCell), as table.addJSON and
// addContext would, and reports false for anything addJSON would not
// accept the same way.
func (p *jsonParser) cell(t *table, ci int) bool {
	p.ws()
	if p.i >= len(p.b) {
		return false
	}
	if ci < 0 {
		v, err := p.value(4) // the depth parseJSON would give it
		if err != nil {
			return false
		}
		if ci != ignoredCell {
			t.addContext(-1-ci, v)
		}
		return true
	}
	if p.left--; p.left < 0 {
		return false
	}
	spec, col := t.sig.cols[ci], &t.cols[ci]
	switch c := p.b[p.i]; {
	case c == '"' && spec.kind == kString:
		s, err := p.str()
		if err != nil {
			return false
		}
		col.strs = append(col.strs, s)
	case (c == '-' || c >= '0' && c <= '9') && (spec.kind == kDouble || spec.kind == kFloat):
		n, err := p.number()
		if err != nil {
			return false
		}
		f, err := strconv.ParseFloat(string(n.(json.Number)), 64)
		if err != nil {
			return false
		}
		col.nums = append(col.nums, f)
	case c == 'n' && spec.optional:
		if _, err := p.lit("null", nil); err != nil {
			return false
		}
		col.appendNull(spec.kind)
		return true
	default:
		return false
	}
	col.markValid()
	return true
}
