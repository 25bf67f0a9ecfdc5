package mask

import (
	"unicode/utf16"
	"unicode/utf8"
)

// A lane runs the automaton over the stream as a program would have
// decoded it, so that one pattern, the value itself, stands for every way
// an escaper can write it:
//
//   - jsonLane decodes the escapes of a JSON string: \" \\ \/ \b \f \n \r
//     \t and \uXXXX in either case of hex, surrogate pairs included;
//   - percentLane decodes %XX in either case of hex (and '+', which the
//     automaton already takes for a space);
//   - wrapLane drops a line break ("\n", or "\r" before it) that follows at
//     least wrapMin base64 characters on its line: the wrapping of an
//     encoded stream, as GNU base64 (76 columns) and PEM (64) write it.
//
// Each unit a lane emits (a byte of the decoded stream) comes from a range
// of input bytes, and a match hides the input from the start of its first
// unit to the end of its last. The raw stream itself is matched by the
// Writer directly.
//
// Most of the time a lane sees nothing to decode, and then its state is
// the raw stream's: such a lane is in sync, and costs nothing until a byte
// it decodes comes. It leaves sync there, steps on its own, and joins
// again once its state is the raw stream's and everything that state
// stands for is bytes it copied as they were.
type lane struct {
	kind laneKind
	s    uint32 // automaton state
	sync bool

	// lit counts the last units that are input bytes copied as they are,
	// each right after the one before, up to the current input offset.
	lit int
	// While the lane is out of sync, starts holds where each of the last
	// units began, at least as many as the state's depth once the units it
	// had when it left sync are counted: those are the input bytes just
	// before preEnd.
	starts []int
	preEnd int

	pend   []byte // an escape begun and not finished
	pendAt int    // the input offset of pend[0]
	run    int    // wrapLane: base64 characters just before, on this line
}

type laneKind uint8

const (
	jsonLane laneKind = iota
	percentLane
	wrapLane
	nLanes
)

// wrapMin is the fewest base64 characters before a line break for the
// break to be taken as the wrapping of an encoded stream.
const wrapMin = 40

// special is the bytes at which some lane can leave sync.
var special = [...]byte{'\\', '%', '\n', '\r'}

var isBase64 = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_" {
		t[c] = true
	}
	return t
}()

// diverges reports whether b, next, makes the lane's stream differ from
// the raw one.
func (l *lane) diverges(b byte) bool {
	if len(l.pend) > 0 {
		return true
	}
	switch l.kind {
	case jsonLane:
		return b == '\\'
	case percentLane:
		return b == '%'
	}
	return (b == '\n' || b == '\r') && l.run >= wrapMin
}

// track counts base64 characters for wrapLane.
func (l *lane) track(b byte) {
	switch {
	case isBase64[b]:
		l.run++
	case b == '\r' && l.run >= wrapMin:
	default:
		l.run = 0
	}
}

// trackRun is track over a run of bytes with no line break in it.
func (l *lane) trackRun(p []byte) {
	k := len(p)
	for k > 0 && isBase64[p[k-1]] {
		k--
	}
	if k == 0 {
		l.run += len(p)
	} else {
		l.run = len(p) - k
	}
}

// runAfter is wrapLane's count of base64 characters after p, given the
// count before it. It looks back only as far as the last byte that ends
// a run.
func runAfter(run int, p []byte) int {
	i := len(p)
	for i > 0 && (isBase64[p[i-1]] || p[i-1] == '\r') {
		i--
	}
	if i > 0 {
		run = 0
	}
	l := lane{run: run}
	for _, b := range p[i:] {
		l.track(b)
	}
	return l.run
}

// feed gives lane l the input byte b at offset at.
func (m *Writer) feed(l *lane, b byte, at int) {
	switch l.kind {
	case wrapLane:
		if (b == '\n' || b == '\r') && l.run >= wrapMin {
			if b == '\n' {
				l.run = 0
			}
			l.lit = 0
			return
		}
		l.track(b)
		m.unit(l, b, at, at+1, true)
	case percentLane, jsonLane:
		if len(l.pend) == 0 {
			if b == '%' && l.kind == percentLane || b == '\\' && l.kind == jsonLane {
				l.pend, l.pendAt = append(l.pend, b), at
				return
			}
			m.unit(l, b, at, at+1, true)
			return
		}
		l.pend = append(l.pend, b)
		if l.kind == percentLane {
			m.percentEscape(l, at)
		} else {
			m.jsonEscape(l, at)
		}
	}
}

// percentEscape goes on with the %XX escape in l.pend, whose last byte
// is at offset at.
func (m *Writer) percentEscape(l *lane, at int) {
	if unhex(l.pend[len(l.pend)-1]) < 0 {
		m.reject(l)
		return
	}
	if len(l.pend) == 3 {
		v := byte(unhex(l.pend[1])<<4 | unhex(l.pend[2]))
		l.pend = l.pend[:0]
		m.unit(l, v, l.pendAt, at+1, false)
	}
}

// jsonEscape goes on with the escape in l.pend, whose last byte is at
// offset at.
func (m *Writer) jsonEscape(l *lane, at int) {
	p := l.pend
	b := p[len(p)-1]
	if len(p) == 2 {
		var v byte
		switch b {
		case '"', '\\', '/':
			v = b
		case 'b':
			v = '\b'
		case 'f':
			v = '\f'
		case 'n':
			v = '\n'
		case 'r':
			v = '\r'
		case 't':
			v = '\t'
		case 'u':
			return
		default:
			m.reject(l)
			return
		}
		l.pend = l.pend[:0]
		m.unit(l, v, l.pendAt, at+1, false)
		return
	}
	// \uXXXX, and \uXXXX\uXXXX for a surrogate pair.
	switch n := len(p); {
	case n == 7 && b != '\\', n == 8 && b != 'u', (n <= 6 || n >= 9) && unhex(b) < 0:
		m.reject(l)
		return
	case n != 6 && n != 12:
		return
	}
	r := rune(unhex4(p[2:6]))
	switch {
	case len(p) == 12:
		lo := rune(unhex4(p[8:12]))
		if !utf16.IsSurrogate(lo) || lo < 0xdc00 {
			m.reject(l)
			return
		}
		r = utf16.DecodeRune(r, lo)
	case r >= 0xd800 && r < 0xdc00:
		return // the low half should follow
	case utf16.IsSurrogate(r):
		m.reject(l)
		return
	}
	var enc [utf8.UTFMax]byte
	n := utf8.EncodeRune(enc[:], r)
	l.pend = l.pend[:0]
	for _, v := range enc[:n] {
		m.unit(l, v, l.pendAt, at+1, false)
	}
}

// reject takes the escape begun in l.pend for what it is, not an escape:
// its first byte is copied as it is, and the others are fed again (one
// may begin another escape).
func (m *Writer) reject(l *lane) {
	var rest [16]byte
	n := copy(rest[:], l.pend[1:])
	at, first := l.pendAt, l.pend[0]
	l.pend = l.pend[:0]
	m.unit(l, first, at, at+1, true)
	for i, b := range rest[:n] {
		m.feed(l, b, at+1+i)
	}
}

// unit steps lane l with the decoded byte v, which comes from input
// [start, end).
func (m *Writer) unit(l *lane, v byte, start, end int, literal bool) {
	a := m.set.a
	l.s = a.next(l.s, uint32(a.class[v]))
	if literal {
		l.lit++
	} else {
		l.lit = 0
	}
	l.starts = append(l.starts, start)
	if n := a.outOf(l.s); n > 0 {
		m.hide(l.startOf(n), end)
	}
	if len(l.starts) > 64 {
		if d := a.depthOf(l.s); len(l.starts) > 2*d+64 {
			l.starts = l.starts[:copy(l.starts, l.starts[len(l.starts)-d:])]
		}
	}
}

// startOf is where the unit n back from the last began.
func (l *lane) startOf(n int) int {
	if i := len(l.starts) - n; i >= 0 {
		return l.starts[i]
	}
	return l.preEnd - (n - len(l.starts))
}

func unhex(b byte) int {
	switch {
	case '0' <= b && b <= '9':
		return int(b - '0')
	case 'a' <= b && b <= 'f':
		return int(b - 'a' + 10)
	case 'A' <= b && b <= 'F':
		return int(b - 'A' + 10)
	}
	return -1
}

func unhex4(p []byte) int {
	return unhex(p[0])<<12 | unhex(p[1])<<8 | unhex(p[2])<<4 | unhex(p[3])
}
