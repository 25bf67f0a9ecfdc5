package resolve

import (
	"strings"
	"testing"
)

func TestMembers(t *testing.T) {
	tests := []struct {
		name, text string
		want       string // key=value;… or the error's piece
		err        bool
	}{
		{"strings numbers and objects", `{"user":"u\"1","port":5432,"ok":true,"o":{"a":[1]}}`, `user=u"1;port=5432;ok=true;o={"a":[1]}`, false},
		{"duplicates: last wins, first place", `{"a":"1","b":"2","a":"3"}`, "a=3;b=2", false},
		{"empty object", `{}`, "", false},
		{"null member", `{"a":null}`, `JSON key "a" is null`, true},
		{"array", `[1,2]`, "not an object", true},
		{"string", `"x"`, "not an object", true},
		{"not JSON", `user=x`, "not valid JSON", true},
		{"too deep", strings.Repeat("[", maxDepth+1), "nests deeper", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := Members(tt.text)
			if tt.err {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Members = %v, want an error with %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var parts []string
			for _, m := range ms {
				parts = append(parts, m.Key+"="+string(m.Value))
			}
			if got := strings.Join(parts, ";"); got != tt.want {
				t.Errorf("Members = %s, want %s", got, tt.want)
			}
		})
	}
}
