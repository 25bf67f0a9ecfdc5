package cli

import (
	"encoding/json"
	"io"

	"github.com/smexec/smexec/internal/target"
)

// checkRow is one mapping in check --format json: what the table shows,
// with the REF, never the value.
type checkRow struct {
	Kind      string   `json:"kind"`           // env or file
	Name      string   `json:"name,omitempty"` // of an env target
	Path      string   `json:"path,omitempty"` // of a file target
	Ref       string   `json:"ref"`
	ARN       string   `json:"arn"`
	VersionID string   `json:"version_id"`
	Stages    []string `json:"stages"`
	Bytes     int      `json:"bytes"` // the size of the value the target gets
}

// checkJSON writes the resolved mappings as a JSON array, [] when none
// resolved.
func checkJSON(w io.Writer, vals []value) error {
	rows := make([]checkRow, 0, len(vals))
	for _, v := range vals {
		r := checkRow{Kind: "env", Name: v.Name, Ref: v.Ref.String(), ARN: v.Secret.ARN, VersionID: v.Secret.VersionID, Stages: v.Secret.Stages, Bytes: len(v.Data)}
		if v.Kind == target.File {
			r.Kind, r.Name, r.Path = "file", "", v.Name
		}
		if r.Stages == nil {
			r.Stages = []string{}
		}
		rows = append(rows, r)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}
