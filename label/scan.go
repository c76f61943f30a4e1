package label

import (
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// fieldScan finds, in one pass over a field's text, every keyword of every
// keyword LF on that field and every literal of the regex prefilter.
//
// The regex prefilter is what ripgrep and Hyperscan do: from a regex's syntax
// tree take a set of literals one of which occurs in every match; a regex
// runs only on rows where one of its literals occurs. Regexes with no usable
// literal run on every row; regexes that are nothing but case-insensitive
// literals need no run at all. The automaton folds ASCII case, a superset of
// any case-sensitive literal, so the prefilter never drops a match.
type fieldScan struct {
	field int
	d     *dfa // over the raw text
	pats  []scanPat
	// Keywords with non-ASCII letters, matched case-insensitively, need the
	// text lower-cased as Unicode first: a second automaton.
	u      *dfa
	upats  []scanPat
	rx     []int // indices into Set.rx of the regexes on this field
	always []int // regexes to run on every row
	exact  []bool
}

type scanPat struct {
	lit                  string // as written (case-sensitive keywords are checked against it)
	caseSensitive        bool
	word                 bool // whole words only: check the characters around the match
	boundStart, boundEnd bool
	lfs, votes           []int32
	rx                   []int // regexes for which this literal is a prefilter hit
}

type scanBuilder struct {
	byField map[int]*fieldScan
	order   []int
}

func newScanBuilder() *scanBuilder { return &scanBuilder{byField: map[int]*fieldScan{}} }

func (b *scanBuilder) scan(field int) *fieldScan {
	fs := b.byField[field]
	if fs == nil {
		fs = &fieldScan{field: field}
		b.byField[field] = fs
		b.order = append(b.order, field)
	}
	return fs
}

func (b *scanBuilder) addKeyword(field int, k string, caseSensitive, substring bool, lf, vote int32) {
	fs := b.scan(field)
	first, _ := utf8.DecodeRuneInString(k)
	last, _ := utf8.DecodeLastRuneInString(k)
	p := scanPat{lit: k, caseSensitive: caseSensitive, word: !substring,
		boundStart: isWordRune(first), boundEnd: isWordRune(last),
		lfs: []int32{lf}, votes: []int32{vote}}
	if !caseSensitive && hasNonASCIILetter(k) {
		p.lit = strings.ToLower(k)
		fs.upats = append(fs.upats, p)
		return
	}
	fs.pats = append(fs.pats, p)
}

func (b *scanBuilder) addRegex(field, idx int, pattern string) {
	fs := b.scan(field)
	fs.rx = append(fs.rx, idx)
	for len(fs.exact) <= idx {
		fs.exact = append(fs.exact, false)
	}
	tree, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		fs.always = append(fs.always, idx)
		return
	}
	tree = tree.Simplify()
	lits, ok := requiredLiterals(tree)
	if !ok {
		fs.always = append(fs.always, idx)
		return
	}
	fs.exact[idx] = isFoldedLiterals(tree)
	for _, l := range lits {
		fs.pats = append(fs.pats, scanPat{lit: l, rx: []int{idx}})
	}
}

func (b *scanBuilder) build() []*fieldScan {
	var out []*fieldScan
	for _, f := range b.order {
		fs := b.byField[f]
		fs.d = newDFA(patStrings(fs.pats))
		if len(fs.upats) > 0 {
			fs.u = newDFA(patStrings(fs.upats))
		}
		out = append(out, fs)
	}
	return out
}

func patStrings(ps []scanPat) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.lit
	}
	return out
}

const maxPrefilterLits = 64

// requiredLiterals returns literals one of which occurs in every match of
// re, or ok=false when no such set was found.
func requiredLiterals(re *syntax.Regexp) (lits []string, ok bool) {
	switch re.Op {
	case syntax.OpLiteral:
		s := string(re.Rune)
		for _, r := range s {
			if r >= utf8.RuneSelf {
				return nil, false // the automaton folds ASCII case only
			}
		}
		if re.Flags&syntax.FoldCase != 0 {
			// Go folds k to the Kelvin sign and s to the long s, which ASCII
			// folding misses: require the longest run without them instead.
			best := ""
			for _, part := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune("kKsS", r) }) {
				if len(part) > len(best) {
					best = part
				}
			}
			s = best
		}
		return []string{s}, s != ""
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiterals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredLiterals(re.Sub[0])
		}
		return nil, false
	case syntax.OpConcat:
		best, bestScore := []string(nil), 0
		for _, sub := range re.Sub {
			l, ok := requiredLiterals(sub)
			if !ok {
				continue
			}
			score := 1 << 30
			for _, s := range l {
				score = min(score, len(s))
			}
			if score > bestScore {
				best, bestScore = l, score
			}
		}
		return best, best != nil
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			l, ok := requiredLiterals(sub)
			if !ok {
				return nil, false
			}
			all = append(all, l...)
		}
		if len(all) > maxPrefilterLits {
			return nil, false
		}
		return all, true
	}
	return nil, false
}

// isFoldedLiterals reports whether re matches exactly its ASCII literals in
// any ASCII case: then a hit of the automaton is a match.
func isFoldedLiterals(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			if r >= utf8.RuneSelf {
				return false
			}
			if unicode.IsLetter(r) && re.Flags&syntax.FoldCase == 0 {
				return false
			}
			// k and s also match the Kelvin sign and the long s.
			if re.Flags&syntax.FoldCase != 0 && (r == 'k' || r == 'K' || r == 's' || r == 'S') {
				return false
			}
		}
		return true
	case syntax.OpCapture:
		return isFoldedLiterals(re.Sub[0])
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			if !isFoldedLiterals(sub) {
				return false
			}
		}
		return true
	}
	return false
}

// scanner is one worker's state for scanning a field: the callbacks are
// built once so the per-row loop allocates nothing.
type scanner struct {
	fs   *fieldScan
	text string
	hit  func(pat int32, start, end int)
	uhit func(pat int32, start, end int)
	cand []bool
}

func (fs *fieldScan) newScanner(nrx int, set func(lf, v int32)) *scanner {
	sc := &scanner{fs: fs, cand: make([]bool, nrx)}
	keyword := func(p *scanPat, start, end int) {
		if p.caseSensitive && sc.text[start:end] != p.lit {
			return
		}
		if p.word && !boundaryOK(sc.text, p, start, end) {
			return
		}
		for q, lf := range p.lfs {
			set(lf, p.votes[q])
		}
	}
	sc.hit = func(id int32, start, end int) {
		p := &fs.pats[id]
		for _, j := range p.rx {
			sc.cand[j] = true
		}
		if p.lfs != nil {
			keyword(p, start, end)
		}
	}
	sc.uhit = func(id int32, start, end int) { keyword(&fs.upats[id], start, end) }
	return sc
}

// run scans text, votes for the keyword LFs found, and runs the regexes
// the prefilter lets through.
func (sc *scanner) run(text string, rx []*regexLF, voted func(lf int32) bool, set func(lf, v int32)) {
	fs := sc.fs
	sc.text = text
	fs.d.scan(text, sc.hit)
	if fs.u != nil {
		sc.text = strings.ToLower(text)
		fs.u.scan(sc.text, sc.uhit)
		sc.text = text
	}
	for _, j := range fs.always {
		sc.cand[j] = true
	}
	for _, j := range fs.rx {
		if !sc.cand[j] {
			continue
		}
		sc.cand[j] = false
		r := rx[j]
		if voted(r.lf) {
			continue
		}
		if fs.exact[j] || r.re.MatchString(text) {
			set(r.lf, r.vote)
		}
	}
}

func boundaryOK(text string, p *scanPat, start, end int) bool {
	if p.boundStart && start > 0 {
		if r, _ := utf8DecodeLast(text[:start]); isWordRune(r) {
			return false
		}
	}
	if p.boundEnd && end < len(text) {
		if r, _ := utf8Decode(text[end:]); isWordRune(r) {
			return false
		}
	}
	return true
}
