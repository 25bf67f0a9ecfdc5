package resolve

import (
	"errors"
	"fmt"

	"github.com/tidwall/gjson"
)

// Member is one top-level member of a secret's JSON object.
type Member struct {
	Key   string
	Value []byte
}

// Members returns every top-level member of a JSON object text, each
// value as Field renders it, in the order the keys first appear; of
// duplicate keys the last value wins, as for Field. A member that is
// null is an error, as it is for Field. Errors never quote a value.
func Members(text string) ([]Member, error) {
	if depth(text) > maxDepth {
		return nil, fmt.Errorf("the secret value nests deeper than %d levels", maxDepth)
	}
	if !gjson.Valid(text) {
		return nil, errors.New("the secret value is not valid JSON, and a whole secret as env vars needs a JSON object")
	}
	top := gjson.Parse(text)
	if !top.IsObject() {
		return nil, errors.New("the secret value is JSON but not an object, and a whole secret as env vars needs one")
	}
	var out []Member
	at := map[string]int{}
	var err error
	top.ForEach(func(k, v gjson.Result) bool {
		var val []byte
		switch v.Type {
		case gjson.Null:
			err = fmt.Errorf("JSON key %q is null", k.Str)
			return false
		case gjson.String:
			val = []byte(v.Str)
		default:
			val = []byte(v.Raw)
		}
		if i, ok := at[k.Str]; ok {
			out[i].Value = val
			return true
		}
		at[k.Str] = len(out)
		out = append(out, Member{Key: k.Str, Value: val})
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
