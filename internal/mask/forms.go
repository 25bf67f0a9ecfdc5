package mask

import (
	"bytes"
	"encoding/base64"
)

// Masked reports whether v is masked: whether it holds at least MinLen
// bytes once the white space around it is trimmed.
func Masked(v []byte) bool {
	return len(bytes.TrimSpace(v)) >= MinLen
}

// patterns returns the byte strings the automaton looks for (a duplicate
// costs the automaton nothing): each masked value trimmed of the white space around it
// (which is not secret, and is often a file's final newline that must
// stay in the output), and the base64 forms of the value and of the
// trimmed value. JSON escapes and percent-encoding are not forms: the
// lanes decode them from the stream (see lane.go).
func patterns(secrets [][]byte) [][]byte {
	var out [][]byte
	add := func(f []byte) {
		if len(f) >= MinLen {
			out = append(out, f)
		}
	}
	for _, v := range secrets {
		if !Masked(v) {
			continue
		}
		t := bytes.TrimSpace(v)
		add(t)
		for _, f := range base64Forms(t) {
			add(f)
		}
		if len(t) < len(v) {
			for _, f := range base64Forms(v) {
				add(f)
			}
		}
	}
	return out
}

// base64Forms returns v's base64 forms in the standard alphabet (the
// automaton takes '-' for '+' and '_' for '/', so they stand for the URL
// alphabet too). v starts an encoded stream, or sits inside one
// ("user:password" in a Basic auth header), at one of three offsets
// modulo 3. At each, the forms are the characters whose six bits all come
// from v, and those up to the end for when v also ends the stream
// (unpadded, so a padded stream keeps only its "="). At offset 0 the
// latter is the encoding of v alone.
func base64Forms(v []byte) [][]byte {
	var fs [][]byte
	for k := range 3 {
		in := append(make([]byte, k, k+len(v)), v...)
		e := []byte(base64.RawStdEncoding.EncodeToString(in))
		first := (8*k + 5) / 6             // characters touching the k bytes before v
		last := max(first, 8*(k+len(v))/6) // characters made of whole input bits
		fs = append(fs, e[first:last], e[min(first, len(e)):])
	}
	return fs
}
