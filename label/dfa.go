package label

// dfa is an Aho–Corasick automaton compiled to a full transition table over
// ASCII-case-folded bytes: scanning costs one table load per byte and
// reports every (overlapping) occurrence of every pattern. The generic
// library's iterator cost several times more per row, and this loop is
// the hot path of `dawn label apply`.
type dfa struct {
	delta    []uint32 // state·256 + byte -> next state·256 | matchFlag
	outStart []uint32 // outputs of state s: outIDs[outStart[s]:outStart[s+1]]
	outIDs   []int32
	patLen   []int
}

var asciiFold [256]byte

func init() {
	for i := range asciiFold {
		c := byte(i)
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		asciiFold[i] = c
	}
}

// newDFA builds the automaton for pats (matched ASCII-case-insensitively).
func newDFA(pats []string) *dfa {
	type node struct {
		next [256]int32
		fail int32
		out  []int32
	}
	newNode := func() *node {
		n := &node{}
		for i := range n.next {
			n.next[i] = -1
		}
		return n
	}
	nodes := []*node{newNode()}
	d := &dfa{patLen: make([]int, len(pats))}
	for id, p := range pats {
		d.patLen[id] = len(p)
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := asciiFold[p[i]]
			if nodes[s].next[c] < 0 {
				nodes[s].next[c] = int32(len(nodes))
				nodes = append(nodes, newNode())
			}
			s = nodes[s].next[c]
		}
		nodes[s].out = append(nodes[s].out, int32(id))
	}
	// Breadth-first: fill failure links and complete the transition table.
	queue := []int32{}
	for c := 0; c < 256; c++ {
		if t := nodes[0].next[c]; t >= 0 {
			nodes[t].fail = 0
			queue = append(queue, t)
		} else {
			nodes[0].next[c] = 0
		}
	}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		f := nodes[u].fail
		nodes[u].out = append(nodes[u].out, nodes[f].out...)
		for c := 0; c < 256; c++ {
			if t := nodes[u].next[c]; t >= 0 {
				nodes[t].fail = nodes[f].next[c]
				queue = append(queue, t)
			} else {
				nodes[u].next[c] = nodes[f].next[c]
			}
		}
	}
	// delta holds the next state premultiplied by 256, with matchFlag set
	// when that state has outputs, so scanning needs one load per byte.
	d.delta = make([]uint32, len(nodes)<<8)
	d.outStart = make([]uint32, len(nodes)+1)
	for s, n := range nodes {
		for c := 0; c < 256; c++ {
			t := n.next[c]
			v := uint32(t) << 8
			if len(nodes[t].out) > 0 {
				v |= matchFlag
			}
			d.delta[s<<8|c] = v
		}
		d.outIDs = append(d.outIDs, n.out...)
		d.outStart[s+1] = uint32(len(d.outIDs))
	}
	return d
}

const matchFlag = 1 << 31

// scan calls hit(pattern, start, end) for every occurrence in text.
func (d *dfa) scan(text string, hit func(pat int32, start, end int)) {
	s := uint32(0)
	delta := d.delta
	for i := 0; i < len(text); i++ {
		s = delta[s&^matchFlag|uint32(asciiFold[text[i]])]
		if s&matchFlag != 0 {
			st := (s &^ matchFlag) >> 8
			a, b := d.outStart[st], d.outStart[st+1]
			for _, id := range d.outIDs[a:b] {
				hit(id, i+1-d.patLen[id], i+1)
			}
		}
	}
}
