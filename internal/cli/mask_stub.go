package cli

import "io"

// Until the redactor lands, --mask passes output through unchanged.
type masker struct{ stdout, stderr io.Writer }

func newMasker(*Deps, []value) *masker { return &masker{} }
func (m *masker) add([]value)          {}
