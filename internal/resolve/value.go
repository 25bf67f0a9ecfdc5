package resolve

import (
	"errors"
	"fmt"

	"github.com/tidwall/gjson"
)

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
func Field(text, jsonKey string) ([]byte, error) {
	if !gjson.Valid(text) {
		return nil, fmt.Errorf("JSON key %q given but the secret value is not valid JSON", jsonKey)
	}
	v := gjson.Get(text, jsonKey)
	switch {
	case !v.Exists():
		return nil, fmt.Errorf("JSON key %q not found in the secret", jsonKey)
	case v.Type == gjson.Null:
		return nil, fmt.Errorf("JSON key %q is null", jsonKey)
	case v.Type == gjson.String:
		return []byte(v.Str), nil
	}
	return []byte(v.Raw), nil
}
