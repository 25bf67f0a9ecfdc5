package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/smexec/smexec/internal/testenv/fakeagent"
)

// agentCmd is the agent command:
//
//	agent start TOKEN        start a fake Secrets Manager Agent on loopback that
//	                         accepts TOKEN and reads from moto; sets $AGENT_URL
//	agent requests N         the agent answered exactly N secret reads so far
func agentCmd(ts *testscript.TestScript, neg bool, args []string, moto string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: agent start TOKEN | agent requests N")
	}
	switch args[0] {
	case "start":
		a, err := fakeagent.Start(moto, testRegion, args[1])
		ts.Check(err)
		ts.Defer(func() { a.Close() })
		scriptOf(ts).agent = a
		ts.Setenv("AGENT_URL", a.URL)
	case "requests":
		a := scriptOf(ts).agent
		if a == nil {
			ts.Fatalf("agent requests: no agent started")
		}
		want, err := strconv.Atoi(args[1])
		ts.Check(err)
		if got := a.Requests.Load(); got != int64(want) {
			ts.Fatalf("the agent answered %d reads, want %d", got, want)
		}
	default:
		ts.Fatalf("agent: unknown verb %q", args[0])
	}
}

// jsonCmd is the json command, for logs, audit records and check's JSON:
//
//	json lines|array FILE [-count N] [PATH=VALUE | PATH~REGEXP ...]
//	                         FILE is JSON objects one a line (and nothing else),
//	                         or one JSON array of objects; exactly N of them (at
//	                         least one without -count) match every condition
func jsonCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: json lines|array FILE [-count N] [PATH=VALUE | PATH~REGEXP ...]")
	}
	mode, file := args[0], args[1]
	fs := flag.NewFlagSet("json", flag.ContinueOnError)
	count := fs.Int("count", -1, "exactly this many objects match")
	ts.Check(fs.Parse(args[2:]))
	data, err := os.ReadFile(ts.MkAbs(file))
	ts.Check(err)

	var objs []map[string]any
	switch mode {
	case "lines":
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for n := 1; sc.Scan(); n++ {
			var o map[string]any
			if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
				ts.Fatalf("%s:%d is not a JSON object: %v\n%s", file, n, err, sc.Text())
			}
			objs = append(objs, o)
		}
	case "array":
		if err := json.Unmarshal(data, &objs); err != nil {
			ts.Fatalf("%s is not a JSON array of objects: %v", file, err)
		}
	default:
		ts.Fatalf("json: unknown mode %q", mode)
	}

	matched := 0
	for _, o := range objs {
		if matches(ts, o, fs.Args()) {
			matched++
		}
	}
	switch {
	case *count >= 0 && matched != *count:
		ts.Fatalf("%d of %d objects match %q, want %d", matched, len(objs), fs.Args(), *count)
	case *count < 0 && matched == 0:
		ts.Fatalf("none of %d objects matches %q", len(objs), fs.Args())
	}
}

// matches reports whether o meets every condition: PATH=VALUE compares a
// string field with VALUE, any other field's compact JSON with VALUE;
// PATH~REGEXP matches the same text. PATH is dotted: target.kind.
func matches(ts *testscript.TestScript, o map[string]any, conds []string) bool {
	for _, c := range conds {
		i := strings.IndexAny(c, "=~")
		if i < 0 {
			ts.Fatalf("json: condition %q is not PATH=VALUE or PATH~REGEXP", c)
		}
		var v any = o
		for _, k := range strings.Split(c[:i], ".") {
			m, ok := v.(map[string]any)
			if !ok {
				return false
			}
			if v, ok = m[k]; !ok {
				return false
			}
		}
		got, ok := v.(string)
		if !ok {
			b, _ := json.Marshal(v)
			got = string(b)
		}
		want := c[i+1:]
		if c[i] == '=' && got != want {
			return false
		}
		if c[i] == '~' && !regexp.MustCompile(want).MatchString(got) {
			return false
		}
	}
	return true
}
