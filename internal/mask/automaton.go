package mask

import "slices"

// automaton is an Aho–Corasick matcher: one pass over the input finds, at
// each byte, the longest pattern that ends there.
//
// Bytes are first mapped to classes (one per byte that occurs in some
// pattern, plus one for all the others), so a row of the transition table
// is as wide as the patterns' alphabet, not 256. The states nearest the
// root, where ordinary output keeps the automaton, have full rows; deeper
// states, which are reached only inside a near-match and usually have one
// child, keep their children and a failure link. That caps the table at
// denseEntries however many and however long the patterns are.
//
// A state is a uint32: for a dense state, the offset of its row in table,
// so a step is one load; for a sparse one, dense plus its index among the
// sparse states. Dense states that end no pattern are numbered first, so
// the scan loop tells "nothing to do" with one comparison (s < plain).
type automaton struct {
	class [256]uint8
	nc    uint32   // number of classes: the width of a row
	table []uint32 // rows of the dense states
	plain uint32   // states below plain are dense and end no pattern
	dense uint32   // states below dense are dense; len(table) == dense
	nd    uint32   // number of dense states: dense / nc

	// Sparse state k (the state dense+k) has failure link fail[k] and its
	// children's classes in kidClass[kids[k]:kids[k+1]]. Sparse states are
	// numbered breadth first, so the children of the sparse states, in
	// order, are the sparse states from firstKid on: the j-th entry of
	// kidClass leads to state firstKid+j. That, and depths read off the
	// breadth-first order, keeps a sparse state at about 9 bytes.
	fail     []uint32
	kids     []uint32
	kidClass []uint8
	firstKid uint32

	// A dense state's output (the length of the longest pattern ending
	// there) and depth (the length of the prefix it stands for), by row.
	denseOut   []int32
	denseDepth []int32
	// A sparse state's output: hasOut marks the states that have one.
	hasOut    []uint64
	sparseOut map[uint32]int32
	// levels[d] is the first sparse state, less dense, of depth d or more.
	levels []uint32
	n      int // states

	maxLen int // longest pattern
}

// canon maps each byte to the one that stands for its class: '-' and '_'
// (the URL alphabet of base64) match '+' and '/' (the standard one), and
// a space matches '+' (a query-escaped space), so one base64 form serves
// both alphabets and the percent lane needs no second form for a space.
// A value with a space or a dash is then also hidden where a '+' takes its
// place: a little more than the value, never less.
func canon(b byte) byte {
	switch b {
	case '-', ' ':
		return '+'
	case '_':
		return '/'
	}
	return b
}

// denseEntries bounds the dense table (4 bytes an entry), so memory stays
// small with many or long patterns.
const denseEntries = 1 << 18

// build returns the automaton for patterns; empty patterns are ignored.
func build(patterns [][]byte) *automaton {
	a := &automaton{}

	var used [256]bool
	for _, p := range patterns {
		for _, b := range p {
			used[canon(b)] = true
		}
		a.maxLen = max(a.maxLen, len(p))
	}
	// Class 0 is every byte that occurs in no pattern (if there is one).
	nc := 0
	for b := range 256 {
		if !used[b] {
			nc = 1
			break
		}
	}
	for b := range 256 {
		if used[b] && canon(byte(b)) == byte(b) {
			a.class[b] = uint8(nc)
			nc++
		}
	}
	for b := range 256 {
		a.class[b] = a.class[canon(byte(b))]
	}
	a.nc = uint32(nc)

	// The trie, in flat arrays indexed by node (numbered in creation
	// order): each node's children are a list through first and sibling,
	// and class is that of the edge into the node.
	total := 1
	for _, p := range patterns {
		total += len(p)
	}
	first := make([]int32, 1, total)
	sibling := make([]int32, 1, total)
	class := make([]uint8, 1, total)
	first[0] = -1
	var rootKids [256]int32 // the root's children by class, for speed
	for i := range rootKids {
		rootKids[i] = -1
	}
	child := func(u int32, c uint8) int32 {
		if u == 0 {
			return rootKids[c]
		}
		for v := first[u]; v >= 0; v = sibling[v] {
			if class[v] == c {
				return v
			}
		}
		return -1
	}
	// out is the length of the longest pattern ending at a node, for the
	// few nodes that have one (a map: a slice would cost 4 bytes a node).
	out := map[int32]int32{}
	for _, p := range patterns {
		if len(p) == 0 {
			continue
		}
		u := int32(0)
		for _, b := range p {
			c := a.class[b]
			v := child(u, c)
			if v < 0 {
				v = int32(len(first))
				first = append(first, -1)
				sibling = append(sibling, first[u])
				class = append(class, c)
				first[u] = v
				if u == 0 {
					rootKids[c] = v
				}
			}
			u = v
		}
		out[u] = int32(len(p))
	}
	n := len(first)

	// Failure links and outputs, breadth first: a node's failure link is
	// shallower, so it is complete by the time the node is reached.
	fail := make([]int32, n)
	step := func(u int32, c uint8) int32 {
		for {
			if v := child(u, c); v >= 0 {
				return v
			}
			if u == 0 {
				return 0
			}
			u = fail[u]
		}
	}
	// has marks the nodes in out, so most nodes skip the map.
	has := make([]uint64, (n+63)/64)
	for u := range out {
		has[u/64] |= 1 << (u % 64)
	}
	// Breadth first; levelStart[d] is the position in order of the first
	// node of depth d: when the first node of a level is reached, every
	// child of the level before is in order.
	order := make([]int32, 1, n)
	levelStart := make([]int32, 2, a.maxLen+3)
	levelStart[1] = 1
	for i := 0; i < len(order); i++ {
		if i > 0 && i == int(levelStart[len(levelStart)-1]) {
			levelStart = append(levelStart, int32(len(order)))
		}
		u := order[i]
		for v := first[u]; v >= 0; v = sibling[v] {
			if u != 0 {
				fail[v] = step(fail[u], class[v])
			}
			if f := fail[v]; has[f/64]&(1<<(f%64)) != 0 && out[f] > out[v] {
				out[v] = out[f]
				has[v/64] |= 1 << (v % 64)
			}
			order = append(order, v)
		}
	}
	depthAt := func(pos int) int32 { // of the node at pos in order
		d, _ := slices.BinarySearch(levelStart, int32(pos+1))
		return int32(d - 1)
	}

	// The first nd nodes breadth first get full rows; among them, those that
	// end no pattern come first (the root, which ends none, is state 0).
	nd := min(n, max(1, denseEntries/nc))
	a.n = n
	a.nd = uint32(nd)
	a.dense = a.nd * a.nc
	a.denseOut = make([]int32, nd)
	a.denseDepth = make([]int32, nd)
	id := make([]uint32, n)
	k := uint32(0)
	for _, match := range []bool{false, true} {
		if match {
			a.plain = k * a.nc
		}
		for pos, u := range order[:nd] {
			if (out[u] != 0) == match {
				a.denseOut[k], a.denseDepth[k], id[u] = out[u], depthAt(pos), k*a.nc
				k++
			}
		}
	}
	sparse := order[nd:]
	a.hasOut = make([]uint64, (len(sparse)+63)/64)
	a.sparseOut = map[uint32]int32{}
	for i, u := range sparse {
		id[u] = a.dense + uint32(i)
		if o := out[u]; o != 0 {
			a.hasOut[i/64] |= 1 << (i % 64)
			a.sparseOut[uint32(i)] = o
		}
	}
	a.levels = make([]uint32, 0, len(levelStart))
	for _, pos := range levelStart {
		if int(pos) >= n {
			break
		}
		a.levels = append(a.levels, uint32(max(int(pos)-nd, 0)))
	}

	// Full rows, breadth first, so the row of a failure link is filled
	// before it is copied from.
	a.table = make([]uint32, a.dense)
	for _, u := range order[:nd] {
		row := a.table[id[u] : id[u]+a.nc]
		if u != 0 {
			copy(row, a.table[id[fail[u]]:id[fail[u]]+a.nc])
		}
		for v := first[u]; v >= 0; v = sibling[v] {
			row[class[v]] = id[v]
		}
	}

	a.fail = make([]uint32, len(sparse))
	a.kids = make([]uint32, len(sparse)+1)
	a.kidClass = make([]uint8, 0, len(sparse))
	for i, u := range sparse {
		a.fail[i] = id[fail[u]]
		for v := first[u]; v >= 0; v = sibling[v] {
			if len(a.kidClass) == 0 {
				a.firstKid = id[v]
			}
			a.kidClass = append(a.kidClass, class[v])
		}
		a.kids[i+1] = uint32(len(a.kidClass))
	}
	return a
}

// depthOf is the length of the prefix state s stands for.
func (a *automaton) depthOf(s uint32) int {
	if s < a.dense {
		return int(a.denseDepth[s/a.nc])
	}
	k := s - a.dense
	d, _ := slices.BinarySearch(a.levels, k+1)
	return d - 1
}

// outOf is the length of the longest pattern that ends at state s, or 0.
func (a *automaton) outOf(s uint32) int {
	if s < a.dense {
		return int(a.denseOut[s/a.nc])
	}
	k := s - a.dense
	if a.hasOut[k/64]&(1<<(k%64)) == 0 {
		return 0
	}
	return int(a.sparseOut[k])
}

// next is the state after class c from any state s. From a sparse state
// it is its child, or else what its failure link would do, which ends at a
// dense row.
//
//go:noinline
func (a *automaton) next(s, c uint32) uint32 {
	for s >= a.dense {
		k := s - a.dense
		for j := a.kids[k]; j < a.kids[k+1]; j++ {
			if uint32(a.kidClass[j]) == c {
				return a.firstKid + j
			}
		}
		s = a.fail[k]
	}
	return a.table[s+c]
}

// span is a half-open range [start, end) of input bytes to hide.
type span struct{ start, end int }

// scan runs the automaton from state s over p, whose first byte is at
// offset base, and adds the range of every match to spans. A match that
// would begin before offset lim (in bytes already written) is cut there.
func (a *automaton) scan(s uint32, p []byte, base, lim int, spans []span) (uint32, []span) {
	if a.n == 1 { // no patterns: the root is the only state
		return s, spans
	}
	table, class, plain := a.table, &a.class, a.plain
	for i := 0; i < len(p); {
		if s < plain {
			// Dense states that end nothing: where ordinary output keeps
			// the automaton, so this loop is one load a byte.
			for {
				s = table[s+uint32(class[p[i]])]
				i++
				if s >= plain || i == len(p) {
					break
				}
			}
			if s < plain {
				break
			}
		} else {
			s = a.next(s, uint32(class[p[i]]))
			i++
		}
		if n := a.outOf(s); n > 0 {
			if end := base + i; end > lim {
				spans = addSpan(spans, max(lim, end-n), end)
			}
		}
	}
	return s, spans
}

// addSpan adds [s, e) to spans, which are sorted and neither overlap nor
// touch, and keeps them so. Matches arrive by their end, so the usual case
// is to extend or follow the last span.
func addSpan(spans []span, s, e int) []span {
	n := len(spans)
	if n == 0 || s > spans[n-1].end {
		return append(spans, span{s, e})
	}
	if last := &spans[n-1]; s >= last.start {
		last.end = max(last.end, e)
		return spans
	}
	// The first span that touches or follows [s, e), and the first one
	// wholly after it: near the end, as only spans after s are passed.
	i := n
	for i > 0 && spans[i-1].end >= s {
		i--
	}
	j := n
	for j > i && spans[j-1].start > e {
		j--
	}
	if i == j {
		spans = append(spans, span{})
		copy(spans[i+1:], spans[i:])
		spans[i] = span{s, e}
		return spans
	}
	spans[i] = span{min(s, spans[i].start), max(e, spans[j-1].end)}
	return append(spans[:i+1], spans[j:]...)
}
