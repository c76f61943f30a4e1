package tracking

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Entity is what a search clause or ordering key refers to.
type Entity int

// Entities of MLflow's search grammar.
const (
	EntityAttribute Entity = iota
	EntityMetric
	EntityParam
	EntityTag
	EntityDataset
)

func (e Entity) String() string {
	return [...]string{"attribute", "metric", "param", "tag", "dataset"}[e]
}

// Clause is one comparison of a search filter: Entity.Key Op value. A numeric
// comparison sets Num; a string one Str; IN and NOT IN set List.
type Clause struct {
	Entity Entity
	Key    string
	Op     string // = != > >= < <= LIKE ILIKE IN "NOT IN"
	Num    float64
	Str    string
	List   []string
	IsNum  bool
}

// OrderBy is one ordering key.
type OrderBy struct {
	Entity Entity
	Key    string
	Desc   bool
}

type tokKind int

const (
	tWord tokKind = iota
	tString
	tQuotedIdent
	tOp
	tLParen
	tRParen
	tComma
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func tokenize(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			var b strings.Builder
			closed := false
			for j < len(s) {
				if s[j] == '\\' && j+1 < len(s) {
					b.WriteByte(s[j+1])
					j += 2
					continue
				}
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c && c != '`' {
						b.WriteByte(c)
						j += 2
						continue
					}
					closed = true
					j++
					break
				}
				b.WriteByte(s[j])
				j++
			}
			if !closed {
				return nil, InvalidParameterf("Invalid filter '%s': unterminated quote at position %d", quoteShort(s), i)
			}
			k := tString
			if c == '`' {
				k = tQuotedIdent
			}
			toks = append(toks, token{k, b.String(), i})
			i = j
		case c == '=' || c == '!' || c == '<' || c == '>':
			j := i + 1
			if j < len(s) && (s[j] == '=' || (c == '<' && s[j] == '>')) {
				j++
			}
			op := s[i:j]
			if op == "!" {
				return nil, InvalidParameterf("Invalid filter '%s': bad operator at position %d", quoteShort(s), i)
			}
			if op == "<>" {
				op = "!="
			}
			if op == "==" {
				op = "="
			}
			toks = append(toks, token{tOp, op, i})
			i = j
		case c == '(':
			toks = append(toks, token{tLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, token{tRParen, ")", i})
			i++
		case c == ',':
			toks = append(toks, token{tComma, ",", i})
			i++
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r'\"`=!<>(),", rune(s[j])) {
				j++
			}
			toks = append(toks, token{tWord, s[i:j], i})
			i = j
		}
	}
	return toks, nil
}

// rawClause is a parsed comparison before its entity's rules are applied.
type rawClause struct {
	prefix, key string
	op          string
	val         token
	list        []string
}

// parseIdent reads an identifier at toks[i]: prefix.key, prefix.`key`,
// prefix."key", `key` or key. It returns the next index.
func parseIdent(src string, toks []token, i int) (prefix, key string, next int, err error) {
	if i >= len(toks) {
		return "", "", i, InvalidParameterf("Invalid filter '%s': expected an identifier at the end", quoteShort(src))
	}
	t := toks[i]
	switch t.kind {
	case tQuotedIdent:
		if t.text == "" {
			return "", "", i, InvalidParameterf("Invalid filter '%s': empty identifier at position %d", quoteShort(src), t.pos)
		}
		return "", t.text, i + 1, nil
	case tWord:
		if strings.HasSuffix(t.text, ".") && i+1 < len(toks) && (toks[i+1].kind == tString || toks[i+1].kind == tQuotedIdent) && toks[i+1].pos == t.pos+len(t.text) {
			if toks[i+1].text == "" {
				// MLflow answers 400 for metric."" as for metric.
				return "", "", i, InvalidParameterf("Invalid filter '%s': identifier '%s' has an empty key", quoteShort(src), t.text+`""`)
			}
			return strings.TrimSuffix(t.text, "."), toks[i+1].text, i + 2, nil
		}
		p, k, ok := strings.Cut(t.text, ".")
		if !ok {
			return "", t.text, i + 1, nil
		}
		if k == "" {
			return "", "", i, InvalidParameterf("Invalid filter '%s': identifier '%s' has no key", quoteShort(src), t.text)
		}
		return p, k, i + 1, nil
	}
	return "", "", i, InvalidParameterf("Invalid filter '%s': expected an identifier at position %d, got '%s'", quoteShort(src), t.pos, t.text)
}

func parseRaw(src string) ([]rawClause, error) {
	toks, err := tokenize(src)
	if err != nil {
		return nil, err
	}
	var out []rawClause
	i, listValues := 0, 0
	for i < len(toks) {
		if len(out) > 0 {
			if toks[i].kind != tWord || !strings.EqualFold(toks[i].text, "AND") {
				return nil, InvalidParameterf("Invalid filter '%s': expected AND at position %d, got '%s' (only AND joins clauses)", quoteShort(src), toks[i].pos, toks[i].text)
			}
			i++
		}
		if len(out) == MaxFilterClauses {
			return nil, InvalidParameterf("Invalid filter '%s': more than %d clauses; a filter may join at most %d comparisons with AND",
				quoteShort(src), MaxFilterClauses, MaxFilterClauses)
		}
		var c rawClause
		c.prefix, c.key, i, err = parseIdent(src, toks, i)
		if err != nil {
			return nil, err
		}
		if i >= len(toks) {
			return nil, InvalidParameterf("Invalid filter '%s': expected a comparison operator after '%s'", quoteShort(src), c.key)
		}
		t := toks[i]
		switch {
		case t.kind == tOp:
			c.op = t.text
			i++
		case t.kind == tWord && (strings.EqualFold(t.text, "LIKE") || strings.EqualFold(t.text, "ILIKE") || strings.EqualFold(t.text, "IN")):
			c.op = strings.ToUpper(t.text)
			i++
		case t.kind == tWord && strings.EqualFold(t.text, "NOT") && i+1 < len(toks) && strings.EqualFold(toks[i+1].text, "IN"):
			c.op = "NOT IN"
			i += 2
		default:
			return nil, InvalidParameterf("Invalid filter '%s': expected a comparison operator at position %d, got '%s'", quoteShort(src), t.pos, t.text)
		}
		if i >= len(toks) {
			return nil, InvalidParameterf("Invalid filter '%s': expected a value after '%s'", quoteShort(src), c.op)
		}
		if c.op == "IN" || c.op == "NOT IN" {
			if toks[i].kind != tLParen {
				return nil, InvalidParameterf("Invalid filter '%s': %s needs a parenthesized list of quoted strings", quoteShort(src), c.op)
			}
			i++
			for {
				if i >= len(toks) || toks[i].kind != tString {
					return nil, InvalidParameterf("Invalid filter '%s': %s needs a parenthesized list of quoted strings", quoteShort(src), c.op)
				}
				if listValues++; listValues > MaxFilterListValues {
					return nil, InvalidParameterf("Invalid filter '%s': more than %d values in IN lists", quoteShort(src), MaxFilterListValues)
				}
				c.list = append(c.list, toks[i].text)
				i++
				if i < len(toks) && toks[i].kind == tComma {
					i++
					continue
				}
				if i < len(toks) && toks[i].kind == tRParen {
					i++
					break
				}
				return nil, InvalidParameterf("Invalid filter '%s': unterminated list after %s", quoteShort(src), c.op)
			}
		} else {
			if toks[i].kind != tString && toks[i].kind != tWord {
				return nil, InvalidParameterf("Invalid filter '%s': expected a value at position %d, got '%s'", quoteShort(src), toks[i].pos, toks[i].text)
			}
			c.val = toks[i]
			i++
		}
		out = append(out, c)
	}
	return out, nil
}

// entityOf maps a filter prefix to its entity.
func entityOf(prefix string) (Entity, bool) {
	switch strings.ToLower(prefix) {
	case "", "attribute", "attributes", "attr", "run":
		return EntityAttribute, true
	case "metric", "metrics":
		return EntityMetric, true
	case "param", "params", "parameter", "parameters":
		return EntityParam, true
	case "tag", "tags":
		return EntityTag, true
	case "dataset", "datasets":
		return EntityDataset, true
	}
	return 0, false
}

// attrKind says how an attribute is compared: "num", "str" or "id" (a
// string that also allows IN / NOT IN).
type attrSet map[string]string

var runAttrs = attrSet{
	"start_time": "num", "end_time": "num", "created": "num", "creation_time": "num",
	"run_id": "id", "run_name": "str", "status": "str", "user_id": "str", "artifact_uri": "str", "lifecycle_stage": "str",
}

var datasetAttrs = attrSet{"name": "id", "digest": "id", "context": "id"}

var experimentAttrs = attrSet{"name": "str", "creation_time": "num", "last_update_time": "num", "experiment_id": "id"}

var registeredModelAttrs = attrSet{"name": "str"}

var modelVersionAttrs = attrSet{"name": "str", "run_id": "id", "source_path": "str", "version_number": "num"}

func numOps(op string) bool {
	switch op {
	case "=", "!=", ">", ">=", "<", "<=":
		return true
	}
	return false
}

func strOps(op string) bool {
	switch op {
	case "=", "!=", "LIKE", "ILIKE":
		return true
	}
	return false
}

func (rc rawClause) finish(src string, e Entity, kind string) (Clause, error) {
	c := Clause{Entity: e, Key: rc.key, Op: rc.op, List: rc.list}
	switch kind {
	case "num":
		if !numOps(rc.op) {
			return c, InvalidParameterf("Invalid comparator '%s' for %s '%s' in filter '%s'; expected one of =, !=, >, >=, <, <=", rc.op, e, rc.key, quoteShort(src))
		}
		if rc.val.kind != tWord {
			return c, InvalidParameterf("Expected numeric value for %s '%s' in filter '%s', got quoted '%s'", e, rc.key, quoteShort(src), rc.val.text)
		}
		f, err := strconv.ParseFloat(rc.val.text, 64)
		if err != nil {
			return c, InvalidParameterf("Expected numeric value for %s '%s' in filter '%s', got '%s'", e, rc.key, quoteShort(src), rc.val.text)
		}
		c.Num, c.IsNum = f, true
	case "str", "id":
		if rc.op == "IN" || rc.op == "NOT IN" {
			if kind != "id" {
				return c, InvalidParameterf("Invalid comparator '%s' for %s '%s' in filter '%s'; IN is only supported for run_id and dataset fields", rc.op, e, rc.key, quoteShort(src))
			}
			return c, nil
		}
		if !strOps(rc.op) {
			return c, InvalidParameterf("Invalid comparator '%s' for %s '%s' in filter '%s'; expected one of =, !=, LIKE, ILIKE", rc.op, e, rc.key, quoteShort(src))
		}
		if rc.val.kind != tString {
			return c, InvalidParameterf("Value for %s '%s' in filter '%s' must be a quoted string, got '%s'", e, rc.key, quoteShort(src), rc.val.text)
		}
		c.Str = rc.val.text
	}
	return c, nil
}

func parseFilterWith(src string, attrs attrSet, allowed map[Entity]bool) ([]Clause, error) {
	if strings.TrimSpace(src) == "" {
		return nil, nil
	}
	raw, err := parseRaw(src)
	if err != nil {
		return nil, err
	}
	out := make([]Clause, 0, len(raw))
	for _, rc := range raw {
		e, ok := entityOf(rc.prefix)
		if !ok || !allowed[e] {
			return nil, InvalidParameterf("Invalid entity type '%s' in filter '%s'", rc.prefix, quoteShort(src))
		}
		kind := ""
		switch e {
		case EntityAttribute:
			k, ok := attrs[rc.key]
			if !ok {
				return nil, InvalidParameterf("Invalid attribute key '%s' in filter '%s'", rc.key, quoteShort(src))
			}
			kind = k
		case EntityDataset:
			k, ok := datasetAttrs[rc.key]
			if !ok {
				return nil, InvalidParameterf("Invalid dataset key '%s' in filter '%s'; expected name, digest or context", rc.key, quoteShort(src))
			}
			kind = k
		case EntityMetric:
			kind = "num"
		default:
			kind = "str"
		}
		c, err := rc.finish(src, e, kind)
		if err != nil {
			return nil, err
		}
		if e == EntityAttribute && (c.Key == "created" || c.Key == "creation_time") && attrs["start_time"] != "" {
			c.Key = "start_time"
		}
		out = append(out, c)
	}
	return out, nil
}

// ParseRunFilter parses a runs/search filter.
func ParseRunFilter(s string) ([]Clause, error) {
	return parseFilterWith(s, runAttrs, map[Entity]bool{EntityAttribute: true, EntityMetric: true, EntityParam: true, EntityTag: true, EntityDataset: true})
}

// ParseExperimentFilter parses an experiments/search filter.
func ParseExperimentFilter(s string) ([]Clause, error) {
	return parseFilterWith(s, experimentAttrs, map[Entity]bool{EntityAttribute: true, EntityTag: true})
}

// ParseRegisteredModelFilter parses a registered-models/search filter.
func ParseRegisteredModelFilter(s string) ([]Clause, error) {
	return parseFilterWith(s, registeredModelAttrs, map[Entity]bool{EntityAttribute: true, EntityTag: true})
}

// ParseModelVersionFilter parses a model-versions/search filter.
func ParseModelVersionFilter(s string) ([]Clause, error) {
	return parseFilterWith(s, modelVersionAttrs, map[Entity]bool{EntityAttribute: true, EntityTag: true})
}

func parseOrderWith(s string, attrs attrSet, allowed map[Entity]bool) (OrderBy, error) {
	toks, err := tokenize(s)
	if err != nil {
		return OrderBy{}, err
	}
	prefix, key, i, err := parseIdent(s, toks, 0)
	if err != nil {
		return OrderBy{}, InvalidParameterf("Invalid order_by clause '%s'", quoteShort(s))
	}
	var o OrderBy
	e, ok := entityOf(prefix)
	if !ok || !allowed[e] {
		return o, InvalidParameterf("Invalid order_by clause '%s': unknown entity '%s'", quoteShort(s), prefix)
	}
	if e == EntityAttribute {
		if _, ok := attrs[key]; !ok {
			return o, InvalidParameterf("Invalid order_by clause '%s': unknown attribute '%s'", quoteShort(s), key)
		}
		if (key == "created" || key == "creation_time") && attrs["start_time"] != "" {
			key = "start_time"
		}
	}
	o.Entity, o.Key = e, key
	o.Desc, err = orderDirection(s, toks, i)
	return o, err
}

// orderDirection reads what follows an order_by key at toks[i]: nothing,
// ASC or DESC, and reports whether it is DESC.
func orderDirection(s string, toks []token, i int) (bool, error) {
	desc := false
	if i < len(toks) {
		switch {
		case toks[i].kind == tWord && strings.EqualFold(toks[i].text, "DESC"):
			desc = true
		case toks[i].kind == tWord && strings.EqualFold(toks[i].text, "ASC"):
		default:
			return false, InvalidParameterf("Invalid order_by clause '%s': expected ASC or DESC, got '%s'", quoteShort(s), toks[i].text)
		}
		i++
	}
	if i != len(toks) {
		return false, InvalidParameterf("Invalid order_by clause '%s'", quoteShort(s))
	}
	return desc, nil
}

// ParseRunOrderBy parses runs/search order_by entries.
func ParseRunOrderBy(list []string) ([]OrderBy, error) {
	return parseOrders(list, runAttrs, map[Entity]bool{EntityAttribute: true, EntityMetric: true, EntityParam: true, EntityTag: true})
}

// ParseExperimentOrderBy parses experiments/search order_by entries.
func ParseExperimentOrderBy(list []string) ([]OrderBy, error) {
	return parseOrders(list, experimentAttrs, map[Entity]bool{EntityAttribute: true})
}

var registeredModelOrderAttrs = attrSet{"name": "str", "timestamp": "num", "last_updated_timestamp": "num", "creation_timestamp": "num"}
var modelVersionOrderAttrs = attrSet{"name": "str", "version_number": "num", "timestamp": "num", "last_updated_timestamp": "num", "creation_timestamp": "num", "run_id": "str"}

// ParseRegisteredModelOrderBy parses registered-models/search order_by entries.
func ParseRegisteredModelOrderBy(list []string) ([]OrderBy, error) {
	return parseOrders(list, registeredModelOrderAttrs, map[Entity]bool{EntityAttribute: true})
}

// ParseModelVersionOrderBy parses model-versions/search order_by entries.
func ParseModelVersionOrderBy(list []string) ([]OrderBy, error) {
	return parseOrders(list, modelVersionOrderAttrs, map[Entity]bool{EntityAttribute: true})
}

func parseOrders(list []string, attrs attrSet, allowed map[Entity]bool) ([]OrderBy, error) {
	var out []OrderBy
	for _, s := range list {
		if strings.TrimSpace(s) == "" {
			continue
		}
		o, err := parseOrderWith(s, attrs, allowed)
		if err != nil {
			return nil, err
		}
		if o.Key == "timestamp" {
			o.Key = "last_updated_timestamp"
		}
		out = append(out, o)
	}
	return out, nil
}

// Bounds of one search filter, so that a small request cannot make a
// query that runs for minutes or exceeds the databases' bound-variable
// limits (PostgreSQL 65,535, SQLite 32,766).
const (
	MaxFilterClauses    = 200    // comparisons joined by AND
	MaxFilterListValues = 10_000 // strings in all IN / NOT IN lists together
)

// maxQuoted is the most of a filter an error message repeats.
const maxQuoted = 200

// quoteShort shortens a long filter for an error message.
func quoteShort(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("... (%d bytes)", len(s))
}
