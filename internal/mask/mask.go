// Package mask owns the streaming redactor that supervise mode puts between
// the child's stdout and stderr and the real ones (--mask): every form of
// every injected value is replaced by "***" before it reaches the output.
//
// The forms of a value v (each only if at least MinLen bytes long):
//   - v itself, and v with leading and trailing white space trimmed (a value
//     read from a file usually ends in a newline the child drops);
//   - v inside a JSON string as encoding/json writes it, with and without
//     HTML escaping ("\n" for a newline, so a PEM key logged as JSON is
//     caught; "\u003c" or "<");
//   - v URL-escaped, as a query value and as a path segment (a password in
//     a database URL);
//   - v in base64, standard and URL alphabets, alone or inside a longer
//     encoded stream such as a Basic auth header: at each of the three
//     offsets modulo 3, the characters that depend on v alone, and those
//     up to the end of the stream when v ends it (unpadded, so a padded
//     stream keeps only its "=").
//
// Matching is one pass of an Aho–Corasick automaton over the stream. The
// union of every match of every form is hidden, and each run of hidden
// bytes, however many matches it joins, becomes one "***": with secrets
// "abcd" and "cdef", "abcdef" becomes "***", and "abcdabcd" too.
//
// A value split over any number of writes is still caught: a Write holds
// back the shortest tail that could still grow into a match (at most the
// longest form less one byte, and nothing when the tail cannot start one),
// and passes everything before it straight through. Memory is that tail,
// a 64 KiB copy buffer and the automaton: a table of at most 1 MiB for the
// states nearest its root, and about 20 bytes for each byte of the forms,
// whose total is about ten times the value (about 10 MB for a 64 KiB
// value, the largest Secrets Manager stores).
//
// Limits:
//   - A held-back tail is released only by the next Write or by Flush, so a
//     prompt that ends in what could start a secret waits for more output.
//   - A value that straddles a Flush is hidden from the Flush on: the part
//     written before it is already out.
//   - In base64, a character at either edge of a value that also carries
//     bits of its neighbours stays visible. Other encodings (hex, other
//     escapers, a line of a multi-line value printed on its own) are not
//     recognised.
//   - Replacing can only create a value that itself contains "*".
//   - Update starts matching afresh from the held-back tail: a new value
//     that began before it is not caught.
package mask

import (
	"io"
	"sync"
)

// MinLen is the shortest value that is masked; shorter ones are skipped
// (too many false hits).
const MinLen = 4

// Replacement is what each hidden form is replaced with.
const Replacement = "***"

var replacement = []byte(Replacement)

// bufSize bounds the output gathered for one write to w; a longer clean
// stretch of input is written to w directly, without a copy.
const bufSize = 64 << 10

// Writer copies to an io.Writer with every form of every secret replaced by
// Replacement. It is safe for concurrent use.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
	a  *automaton

	state uint32 // of the automaton after the last byte seen
	// tail is the input held back: it could still be part of a match that
	// ends later. spans are the ranges already known hidden, relative to
	// tail[0].
	tail  []byte
	spans []span
	// open says the output written so far ends in a Replacement whose run
	// of hidden bytes reaches tail[0]: a span starting there joins it.
	open bool

	buf []byte
	err error // the first error from w; every later call returns it
}

// New returns a Writer that copies to w with every form of every secret
// replaced by "***". Values shorter than MinLen are ignored. A Writer masks
// one stream: give stdout and stderr one each, or a value written half to
// each would be joined.
func New(w io.Writer, secrets [][]byte) *Writer {
	return &Writer{w: w, a: build(patterns(secrets))}
}

// Write masks p. It may hold back a tail that could be the start of a
// secret until the next Write or Flush; it reports len(p) on success.
func (m *Writer) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return 0, m.err
	}
	m.state, m.spans = m.a.scan(m.state, p, len(m.tail), m.spans)
	m.release(p, len(m.tail)+len(p)-int(m.a.depth[m.a.ord(m.state)]))
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
	m.release(nil, len(m.tail))
	return m.err
}

// Update replaces the set of secrets (after a rotation). Safe to call
// concurrently with Write and Flush.
func (m *Writer) Update(secrets [][]byte) {
	a := build(patterns(secrets))
	m.mu.Lock()
	defer m.mu.Unlock()
	// The held-back tail is matched again with the new automaton; what the
	// old one found in it stays hidden.
	m.a = a
	var found []span
	m.state, found = a.scan(0, m.tail, 0, nil)
	for _, s := range found {
		m.spans = addSpan(m.spans, s.start, s.end)
	}
}

// release writes out the input before offset f of tail+p, which no later
// match can reach, with its spans replaced, and then any span that starts
// at f (its bytes are hidden whatever comes next). It keeps the rest as
// the new tail.
func (m *Writer) release(p []byte, f int) {
	f = max(f, 0) // matching state can reach into output already written
	if len(m.tail) == 0 && len(m.spans) == 0 {
		// Nothing held and nothing found: the usual case, without a copy.
		if f > 0 {
			m.write(p[:f])
			m.open = false
		}
		m.keep(p, f)
		return
	}
	at := 0
	k := 0
	for ; k < len(m.spans) && m.spans[k].start <= f; k++ {
		s := m.spans[k]
		if s.start > at {
			m.putRange(p, at, s.start)
			m.open = false
		}
		if !m.open {
			m.put(replacement)
			m.open = true
		}
		at = s.end
	}
	if at < f {
		m.putRange(p, at, f)
		m.open = false
		at = f
	}
	m.writeBuf()
	m.spans = m.spans[:copy(m.spans, m.spans[k:])]
	for i := range m.spans {
		m.spans[i].start -= at
		m.spans[i].end -= at
	}
	m.keep(p, at)
}

// keep makes tail+p from offset at the new tail.
func (m *Writer) keep(p []byte, at int) {
	if at < len(m.tail) {
		n := copy(m.tail, m.tail[at:])
		m.tail = append(m.tail[:n], p...)
		return
	}
	m.tail = append(m.tail[:0], p[at-len(m.tail):]...)
}

// putRange puts bytes [from, to) of tail+p.
func (m *Writer) putRange(p []byte, from, to int) {
	if n := len(m.tail); from < n {
		m.put(m.tail[from:min(to, n)])
		from = n
	}
	if from < to {
		m.put(p[from-len(m.tail) : to-len(m.tail)])
	}
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
