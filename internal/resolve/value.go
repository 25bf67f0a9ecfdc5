package resolve

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// MaxValueSize is the most bytes Secrets Manager holds in a SecretString
// or a SecretBinary. The sources that are not Secrets Manager (the agent,
// a local file) refuse more, so that what works there works in AWS.
const MaxValueSize = 65536

// maxDepth is how deeply a secret's JSON may nest before a JSON key is
// refused: the limit of Go's encoding/json, which the ECS agent decodes
// secrets with. Checking it first, without recursion, keeps a hostile
// value from overflowing the stack of the recursive parser that follows.
const maxDepth = 10000

// Render returns the bytes a reference asks for: the whole value without
// a JSON key, or the field the key names. Errors never quote the value.
func Render(s *Secret, jsonKey string) ([]byte, error) {
	if jsonKey == "" {
		if s.String != nil {
			return []byte(*s.String), nil
		}
		return s.Binary, nil
	}
	if s.String == nil {
		return nil, errors.New("binary secrets have no JSON fields; drop the JSON key")
	}
	return Field(*s.String, jsonKey)
}

// Field extracts one field of a JSON text: a string as its unescaped text,
// a number as the literal written, true or false, an object or array as
// its JSON text.
//
// The key is read as ECS reads it: a key that names a member of the
// top-level object exactly means that member, the last one of duplicates,
// whatever characters it holds (db.host, key*, @keys). Only a key that
// names no top-level member is a path: members of nested objects and
// indexes of arrays, separated by dots (db.primary.host, hosts.0), with
// no wildcards, modifiers, queries or escapes.
func Field(text, jsonKey string) ([]byte, error) {
	if depth(text) > maxDepth {
		return nil, fmt.Errorf("JSON key %q given but the secret value nests deeper than %d levels", jsonKey, maxDepth)
	}
	if !gjson.Valid(text) {
		return nil, fmt.Errorf("JSON key %q given but the secret value is not valid JSON", jsonKey)
	}
	top := gjson.Parse(text)
	v, ok := member(top, jsonKey)
	if !ok {
		v, ok = path(top, jsonKey)
	}
	switch {
	case !ok:
		return nil, fmt.Errorf("JSON key %q not found in the secret", jsonKey)
	case v.Type == gjson.Null:
		return nil, fmt.Errorf("JSON key %q is null", jsonKey)
	case v.Type == gjson.String:
		return []byte(v.Str), nil
	}
	return []byte(v.Raw), nil
}

// member returns the member of object v named exactly name, the last of
// duplicates, as Go's, Python's and JavaScript's decoders keep it.
func member(v gjson.Result, name string) (found gjson.Result, ok bool) {
	if !v.IsObject() {
		return gjson.Result{}, false
	}
	v.ForEach(func(k, val gjson.Result) bool {
		if k.Str == name {
			found, ok = val, true
		}
		return true
	})
	return found, ok
}

// element returns element i of array v, i written in decimal digits.
func element(v gjson.Result, index string) (found gjson.Result, ok bool) {
	if !v.IsArray() || index == "" || strings.Trim(index, "0123456789") != "" || len(index) > 1 && index[0] == '0' {
		return gjson.Result{}, false
	}
	i, err := strconv.Atoi(index)
	if err != nil {
		return gjson.Result{}, false
	}
	v.ForEach(func(_, val gjson.Result) bool {
		if i == 0 {
			found, ok = val, true
			return false
		}
		i--
		return true
	})
	return found, ok
}

// path follows a dotted path of member names and array indexes.
func path(v gjson.Result, key string) (gjson.Result, bool) {
	for _, seg := range strings.Split(key, ".") {
		next, ok := member(v, seg)
		if !ok {
			next, ok = element(v, seg)
		}
		if !ok {
			return gjson.Result{}, false
		}
		v = next
	}
	return v, true
}

// depth is how deeply text's arrays and objects nest, counted without
// recursion and without checking that text is JSON.
func depth(text string) int {
	d, most := 0, 0
	inString := false
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case inString && c == '\\':
			i++
		case inString && c == '"':
			inString = false
		case inString:
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			if d++; d > most {
				most = d
			}
		case c == ']' || c == '}':
			d--
		}
	}
	return most
}
