//go:build tools

// Package chamber pins the chamber release `make bench-peers` measures
// (github.com/segmentio/chamber/v2 at the version go.mod names), built
// with `go build` from this module: `go install chamber@version` asks the
// module proxy for chamber's version list, which it refuses here.
package chamber

import _ "github.com/segmentio/chamber/v2"
