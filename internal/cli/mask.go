package cli

import "github.com/smexec/smexec/internal/mask"

// masker holds the redactors for the command's stdout and stderr and
// every value they hide.
type masker struct {
	stdout, stderr *mask.Writer

	seen map[string]bool
	all  [][]byte
}

// newMasker builds the redactors for vals, and warns about the values too
// short to mask, naming their mappings.
func newMasker(deps *Deps, vals []value) *masker {
	m := &masker{seen: map[string]bool{}}
	m.collect(vals)
	m.stdout = mask.New(deps.Stdout, m.all)
	m.stderr = mask.New(deps.Stderr, m.all)
	for _, v := range vals {
		if len(v.Data) < mask.MinLen {
			deps.Log.Warn("--mask: a value shorter than 4 bytes is not masked", "mapping", v.Source)
		}
	}
	return m
}

// add masks vals as well as every value masked so far: a command that
// read an old value may still print it.
func (m *masker) add(vals []value) {
	m.collect(vals)
	m.stdout.Update(m.all)
	m.stderr.Update(m.all)
}

func (m *masker) collect(vals []value) {
	for _, v := range vals {
		if k := string(v.Data); !m.seen[k] {
			m.seen[k] = true
			m.all = append(m.all, v.Data)
		}
	}
}
