package mask

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
)

// patterns returns every form of every secret of at least MinLen bytes,
// each form of at least MinLen bytes, without duplicates.
func patterns(secrets [][]byte) [][]byte {
	seen := map[string]bool{}
	var out [][]byte
	add := func(f []byte) {
		if len(f) >= MinLen && !seen[string(f)] {
			seen[string(f)] = true
			out = append(out, f)
		}
	}
	for _, v := range secrets {
		if len(v) < MinLen {
			continue
		}
		for _, f := range forms(v) {
			add(f)
		}
		// A value read from a file often ends in a newline that the child
		// drops before printing it.
		if t := bytes.TrimSpace(v); len(t) >= MinLen && len(t) < len(v) {
			for _, f := range forms(t) {
				add(f)
			}
		}
	}
	return out
}

// forms returns the ways v is commonly written out: raw, JSON-escaped,
// URL-escaped and base64 (see the package comment).
func forms(v []byte) [][]byte {
	fs := [][]byte{bytes.Clone(v)}

	// Inside a JSON string, as encoding/json writes it: with HTML
	// escaping (the default) and without.
	if q, err := json.Marshal(string(v)); err == nil {
		fs = append(fs, q[1:len(q)-1])
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(string(v)) == nil {
		q := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		fs = append(fs, q[1:len(q)-1])
	}

	// In a URL: a password in a DSN, a token in a query.
	fs = append(fs, []byte(url.QueryEscape(string(v))), []byte(url.PathEscape(string(v))))

	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		// v starts an encoded stream, or sits inside one ("user:password"
		// in a Basic auth header), at one of three offsets modulo 3. At
		// each, hide the characters whose six bits all come from v, and
		// those up to the end for when v also ends the stream (unpadded, so
		// a padded stream keeps only its "="). At offset 0 the latter is
		// the encoding of v alone.
		for k := range 3 {
			core, end := base64Forms(enc, v, k)
			fs = append(fs, core, end)
		}
	}
	return fs
}

// base64Forms returns the characters of enc's encoding of v preceded by k
// other bytes that depend on v alone (core), and those from the same start
// to the end of the encoding (end).
func base64Forms(enc *base64.Encoding, v []byte, k int) (core, end []byte) {
	in := append(make([]byte, k, k+len(v)), v...)
	e := []byte(enc.EncodeToString(in))
	first := (8*k + 5) / 6             // characters touching the k bytes before v
	last := max(first, 8*(k+len(v))/6) // characters made of whole input bits
	return e[first:last], e[min(first, len(e)):]
}
