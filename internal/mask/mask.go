// Package mask owns the streaming redactor that supervise mode puts between
// the child's stdout and stderr and the real ones (--mask): every form of
// every injected value is replaced by "***" before it reaches the output.
//
// A value is masked when it holds at least MinLen bytes once the white
// space around it is trimmed; what is hidden is the trimmed value, so a
// file's final newline stays in the output and lines stay lines. Hidden:
//   - the value itself;
//   - the value inside a JSON string, however escaped: \" \\ \/ \b \f \n \r
//     \t and \uXXXX in either case of hex, surrogate pairs included (Go,
//     Python's ensure_ascii, PHP's \/, HTML escaping);
//   - the value percent-encoded, any bytes of it, in either case of hex,
//     with a space as %20 or "+";
//   - the value in base64, standard or URL alphabet, alone or inside a
//     longer encoded stream (a Basic auth header) at any offset, also
//     wrapped over lines ("\n" or "\r\n" after 40 or more base64
//     characters, as GNU base64 and PEM write it), and percent-encoded or
//     with "\/" escaped.
//
// One Aho–Corasick automaton over the values and their base64 forms is run
// over the raw stream and over three decodings of it (lanes, see lane.go);
// a lane costs nothing while it has nothing to decode. The automaton takes
// '-' for '+', '_' for '/' and ' ' for '+', so a value holding one of them
// also hides where another takes its place: a little more than the value,
// never less. The union of every match is hidden, and each run of hidden
// bytes, however many matches it joins, becomes one "***": with secrets
// "abcd" and "cdef", "abcdef" becomes "***", and "abcdabcd" too.
//
// A value split over any number of writes is still caught: a Write holds
// back the shortest tail that a match in progress can still reach, and
// passes everything before it straight through. Swap (a rotation) matches
// that tail again with the new values, so a match in progress that both
// sets share is not lost.
//
// Memory is that tail, a 64 KiB copy buffer, and the Set, shared by both
// streams: a dense table of at most 1 MiB for the states nearest the
// root, and about 9 bytes for every other state, of which a value of n
// bytes makes about 5n (n for itself, 4n for its base64 at three offsets):
// 50 to 70 bytes a byte of value (BenchmarkSetMemory).
//
// Limits:
//   - A held-back tail is released only by the next Write or by Flush, so a
//     prompt that ends in what could start a secret waits for more output.
//   - A value that straddles a Flush is hidden from the Flush on: the part
//     written before it is already out.
//   - Encodings do not nest beyond base64 in a percent-encoded or JSON
//     string: a percent-encoded value inside a JSON string, say, is not
//     recognised. Nor are hex, other escapers, compression, a value split
//     over lines other than wrapped base64, or one line of a multi-line
//     value printed on its own.
//   - In base64, a character at either edge of a value that also carries
//     bits of its neighbours stays visible, and so does "=" padding.
//   - A value that is not valid UTF-8 is not recognised in JSON: encoders
//     replace its invalid bytes.
//   - A value written half to stdout and half to stderr is not recognised:
//     each stream has its own Writer.
//   - Replacing can only create a value that itself contains "*".
package mask

import (
	"bytes"
	"io"
	"sync"
	"sync/atomic"
)

// MinLen is the shortest value that is masked, once trimmed of the white
// space around it; shorter ones are skipped (too many false hits).
const MinLen = 4

// Replacement is what each hidden form is replaced with.
const Replacement = "***"

var replacement = []byte(Replacement)

// bufSize bounds the output gathered for one write to w; a longer stretch
// is written to w directly.
const bufSize = 64 << 10

// Set is the matcher for a set of values. One Set serves any number of
// Writers (a command's stdout and stderr), so the values' automaton is
// built and held once.
type Set struct{ a *automaton }

// Compile builds the Set for secrets. Values that are not Masked are
// ignored.
func Compile(secrets [][]byte) *Set {
	return &Set{a: build(patterns(secrets))}
}

// Writer copies to an io.Writer with every form of every secret replaced by
// Replacement. It is safe for concurrent use.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	set *Set
	// pending is a Set that Swap left while a Write was busy.
	pending atomic.Pointer[Set]

	raw   uint32 // the automaton's state on the raw stream
	lanes [nLanes]lane

	// tail is the input from offset off on (offsets count every byte ever
	// written): what a match may still reach, and the context a new Set
	// is matched over after Swap. Its first sent bytes are written out
	// already. spans are the ranges known hidden, by offset, from off+sent.
	off   int
	tail  []byte
	sent  int
	spans []span
	// runAtOff is the base64 characters just before off on its line, for
	// wrapLane when the tail is matched again.
	runAtOff int
	// open says the output written so far ends in a Replacement whose run
	// of hidden bytes reaches off+sent: a span starting there joins it.
	open bool

	buf []byte
	err error // the first error from w; every later call returns it
}

// NewWriter returns a Writer that copies to w masking what s matches
// (with Compile: every form of every secret, replaced by "***"). A
// Writer masks one stream: give stdout and stderr one each, or a value
// written half to each would be joined.
func NewWriter(w io.Writer, s *Set) *Writer {
	m := &Writer{w: w, set: s}
	m.reset()
	return m
}

// reset puts every lane at the automaton's root, in sync.
func (m *Writer) reset() {
	m.raw = 0
	for k := range m.lanes {
		l := &m.lanes[k]
		*l = lane{kind: laneKind(k), sync: true, starts: l.starts[:0], pend: l.pend[:0]}
	}
}

// Write masks p. It may hold back a tail that could be the start of a
// secret until the next Write or Flush; it reports len(p) on success.
func (m *Writer) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return 0, m.err
	}
	m.takePending()
	from := len(m.tail)
	m.tail = append(m.tail, p...)
	m.scan(from)
	need := m.need()
	m.release(need, need)
	if m.err != nil {
		return 0, m.err
	}
	return len(p), nil
}

// Flush writes whatever is held back (the caller calls it at EOF of the
// child's stream).
func (m *Writer) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.takePending()
	m.release(m.off+len(m.tail), m.need())
	return m.err
}

// Swap replaces the Set the Writer masks with. The input held as context
// (everything a match in progress may still reach) is matched again with
// the new Set, so a value in both Sets that began before the swap is still
// found; what the old Set found stays hidden. Safe to call concurrently
// with Write and Flush, and it does not wait for a Write that is busy (an
// output nobody reads blocks it for as long): the next Write or Flush
// takes the new Set up before it matches anything, so whatever is
// written after Swap returns is masked with it.
func (m *Writer) Swap(s *Set) {
	m.pending.Store(s)
	if m.mu.TryLock() {
		m.takePending()
		m.mu.Unlock()
	}
}

// takePending puts in place the Set that Swap left, if any.
func (m *Writer) takePending() {
	s := m.pending.Swap(nil)
	if s == nil {
		return
	}
	m.set = s
	m.reset()
	m.lanes[wrapLane].run = m.runAtOff
	m.scan(0)
}

// scan matches tail[from:] on the raw stream and every lane.
func (m *Writer) scan(from int) {
	a := m.set.a
	lim := m.off + m.sent
	// next[k] is the index in tail of the next special[k] at or after i
	// (len(tail) if none), found with IndexByte and kept until passed.
	next := [len(special)]int{-1, -1, -1, -1}
	for i := from; i < len(m.tail); {
		if m.lanes[0].sync && m.lanes[1].sync && m.lanes[2].sync {
			// The usual case: no lane has anything to decode up to the
			// next special byte, so only the raw stream is matched.
			j := len(m.tail)
			for k, c := range special {
				if next[k] < i {
					next[k] = len(m.tail)
					if n := bytes.IndexByte(m.tail[i:], c); n >= 0 {
						next[k] = i + n
					}
				}
				j = min(j, next[k])
			}
			if j > i {
				m.raw, m.spans = a.scan(m.raw, m.tail[i:j], m.off+i, lim, m.spans)
				for k := range m.lanes {
					m.lanes[k].s = m.raw
				}
				m.lanes[wrapLane].trackRun(m.tail[i:j])
				i = j
				continue
			}
		}
		m.step(m.tail[i], m.off+i)
		i++
	}
}

// step matches the byte b at offset at on the raw stream and every lane.
func (m *Writer) step(b byte, at int) {
	a := m.set.a
	m.raw = a.next(m.raw, uint32(a.class[b]))
	if n := a.outOf(m.raw); n > 0 {
		m.hide(at+1-n, at+1)
	}
	for k := range m.lanes {
		l := &m.lanes[k]
		if l.sync {
			if !l.diverges(b) {
				l.track(b)
				l.s = m.raw
				continue
			}
			// The lane's last units are the raw stream's bytes.
			d := a.depthOf(l.s)
			l.starts, l.preEnd = l.starts[:0], at
			l.lit, l.sync = d, false
		}
		m.feed(l, b, at)
		if len(l.pend) == 0 && l.s == m.raw && a.depthOf(l.s) <= l.lit {
			l.sync = true
		}
	}
}

// hide adds the input range [start, end) to the spans, cut at what is
// written out already.
func (m *Writer) hide(start, end int) {
	lim := m.off + m.sent
	if end <= lim {
		return
	}
	m.spans = addSpan(m.spans, max(start, lim), end)
}

// need is the first input offset a match in progress can still reach, on
// the raw stream or on any lane.
func (m *Writer) need() int {
	a := m.set.a
	if a.n == 1 { // no patterns: nothing can match
		return m.off + len(m.tail)
	}
	n := m.off + len(m.tail) - a.depthOf(m.raw)
	for k := range m.lanes {
		l := &m.lanes[k]
		if l.sync {
			continue
		}
		if len(l.pend) > 0 {
			n = min(n, l.pendAt)
		}
		if d := a.depthOf(l.s); d > 0 {
			n = min(n, l.startOf(d))
		}
	}
	return max(n, m.off)
}

// release writes out the input before offset f, which no later match can
// reach, with its spans replaced, and then any span that starts at f (its
// bytes are hidden whatever comes next). It keeps the input from offset
// keep on as the new tail.
func (m *Writer) release(f, keep int) {
	lim := m.off + m.sent
	f = max(f, lim)
	at := lim
	k := 0
	for ; k < len(m.spans) && m.spans[k].start <= f; k++ {
		s := m.spans[k]
		if s.start > at {
			m.put(m.tail[at-m.off : s.start-m.off])
			m.open = false
		}
		if !m.open {
			m.put(replacement)
			m.open = true
		}
		at = max(at, s.end)
	}
	if at < f {
		m.put(m.tail[at-m.off : f-m.off])
		m.open = false
		at = f
	}
	m.writeBuf()
	m.spans = m.spans[:copy(m.spans, m.spans[k:])]
	keep = min(max(keep, m.off), at)
	m.runAtOff = runAfter(m.runAtOff, m.tail[:keep-m.off])
	if rest := m.tail[keep-m.off:]; cap(m.tail) > 4*bufSize && len(rest) < cap(m.tail)/4 {
		m.tail = append([]byte(nil), rest...) // after one very large write
	} else {
		m.tail = m.tail[:copy(m.tail, rest)]
	}
	m.sent = at - keep
	m.off = keep
}

// put adds b to the output, gathering small pieces into one write to w.
func (m *Writer) put(b []byte) {
	if len(m.buf)+len(b) <= bufSize {
		m.buf = append(m.buf, b...)
		return
	}
	m.writeBuf()
	if len(b) >= bufSize {
		m.write(b)
		return
	}
	m.buf = append(m.buf, b...)
}

func (m *Writer) writeBuf() {
	m.write(m.buf)
	m.buf = m.buf[:0]
}

func (m *Writer) write(b []byte) {
	if m.err != nil || len(b) == 0 {
		return
	}
	n, err := m.w.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	m.err = err
}
