package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/smexec/smexec/internal/target"
)

// Status of a mapping in check's output.
const (
	statusResolved  = "resolved"
	statusPreserved = "preserved" // --preserve-env left the env var as it is; not fetched
	statusFailed    = "failed"
	statusInherited = "inherited" // --pristine keeps the variable of smexec's environment
)

// checkRow is one mapping in check's output: what was read, never the
// value; or why it was not.
type checkRow struct {
	Kind   string `json:"kind"`           // env or file
	Name   string `json:"name,omitempty"` // of an env target
	Path   string `json:"path,omitempty"` // of a file target
	Ref    string `json:"ref"`
	Status string `json:"status"`
	*checkRead
	Error string `json:"error,omitempty"`
	Hint  string `json:"hint,omitempty"`
}

// checkRead is what a resolved mapping read.
type checkRead struct {
	ARN       string   `json:"arn"`
	VersionID string   `json:"version_id"`
	Stages    []string `json:"stages"`
	Type      string   `json:"type,omitempty"` // a parameter's: String, StringList or SecureString
	Bytes     int      `json:"bytes"`          // the size of the value the target gets
}

// checkRows lists every mapping of ms in order, each resolved (in vals),
// preserved (in kept) or failed (its problem in rerr).
func checkRows(ms, kept []target.Mapping, vals []value, rerr error) []checkRow {
	resolved := map[string][]value{} // by source: an --env-from has a value a key
	for _, v := range vals {
		resolved[v.Source] = append(resolved[v.Source], v)
	}
	preserved := map[string]bool{}
	for _, m := range kept {
		preserved[m.Source] = true
	}
	failed := map[string]Problem{}
	var f *Failure
	if errors.As(rerr, &f) {
		for _, p := range f.Problems {
			if p.Mapping != "" {
				failed[p.Mapping] = p
			}
		}
	}
	rows := make([]checkRow, 0, len(ms))
	for _, m := range ms {
		r := checkRow{Kind: "env", Name: m.Name, Ref: m.Ref.String()}
		if m.Template != nil {
			r.Ref = m.Template.String()
		}
		if m.Kind == target.File {
			r.Kind, r.Name, r.Path = "file", "", m.Name
		}
		if m.Kind == target.EnvPath {
			r.Kind = "env-path"
		}
		if m.Kind == target.EnvFrom {
			r.Kind, r.Name = "env-from", m.Name+"*"
		}
		if vs, ok := resolved[m.Source]; ok {
			for _, v := range vs {
				r := r
				if m.Kind == target.EnvFrom {
					r.Name = v.Name
				}
				r.Status = statusResolved
				r.checkRead = &checkRead{ARN: v.Secret.ARN, VersionID: v.Secret.VersionID, Stages: v.Secret.Stages, Type: v.Secret.Type, Bytes: len(v.Data)}
				if len(v.Secrets) > 1 {
					// A template's secrets, each with its version.
					var arns, ids []string
					for _, s := range v.Secrets {
						arns, ids = append(arns, s.ARN), append(ids, s.VersionID)
					}
					r.ARN, r.VersionID = strings.Join(arns, ","), strings.Join(ids, ",")
				}
				if r.Stages == nil {
					r.Stages = []string{}
				}
				rows = append(rows, r)
			}
			continue
		} else if preserved[m.Source] {
			r.Status = statusPreserved
		} else if p, ok := failed[m.Source]; ok {
			r.Status, r.Error, r.Hint = statusFailed, p.Msg, p.Hint
		} else {
			continue // a failure of the whole run, reported on stderr
		}
		rows = append(rows, r)
	}
	return rows
}

// keptRows lists the variables of base, the environment --pristine
// keeps, that no mapping sets: by name, never by value.
func keptRows(base []string, ms []target.Mapping) []checkRow {
	set := map[string]bool{}
	for _, m := range ms {
		if m.Kind.IsEnv() {
			set[m.Name] = true
		}
	}
	var rows []checkRow
	for _, kv := range base {
		if name, _, _ := strings.Cut(kv, "="); !set[name] {
			rows = append(rows, checkRow{Kind: "env", Name: name, Status: statusInherited})
		}
	}
	return rows
}

// checkJSON writes the rows as a JSON array, [] when there are none.
func checkJSON(w io.Writer, rows []checkRow) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

// checkTable writes the resolved and preserved rows as a table; the
// failures are on stderr. With no such row it writes nothing, not even
// the header.
func checkTable(w io.Writer, rows []checkRow) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := false
	for _, r := range rows {
		if r.Status == statusFailed {
			continue
		}
		if !header {
			fmt.Fprintln(tw, "TARGET\tSECRET\tVERSION\tSTAGES\tSIZE")
			header = true
		}
		// The path came from input and the rest from the endpoint's
		// answer: escaped, so neither can drive the terminal or break the
		// table with a tab or a line break.
		name := escape(r.Name)
		if r.Kind == "file" {
			name = escape(r.Path)
		}
		if r.Status == statusInherited {
			fmt.Fprintf(tw, "%s %s\t(inherited: kept by --pristine)\t-\t-\t-\n", r.Kind, name)
			continue
		}
		if r.Status == statusPreserved {
			fmt.Fprintf(tw, "%s %s\t(preserved: already set, not fetched)\t-\t-\t-\n", r.Kind, name)
			continue
		}
		// A parameter has no stages: its column holds the parameter's type.
		stages := strings.Join(r.Stages, ",")
		if r.Type != "" {
			stages = r.Type
		}
		fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\t%d\n", r.Kind, name, escape(r.ARN), escape(r.VersionID), escape(stages), r.Bytes)
	}
	tw.Flush()
}
