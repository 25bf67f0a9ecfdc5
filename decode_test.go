package main

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/rogpeppe/go-internal/testscript"
)

// answerCmd is TestDecodeScripts' own command, a loopback endpoint with
// one canned answer:
//
//	answer STATUS BODY   answer every request with HTTP STATUS and BODY;
//	                     sets AWS_ENDPOINT_URL_SECRETS_MANAGER to the endpoint
//	answer STATUS PREFIX FILL N SUFFIX
//	                     the same, the body PREFIX, then FILL N times, then SUFFIX
//	answer -cut N STATUS BODY | answer -stall N STATUS BODY
//	                     the first N requests get the headers and half the
//	                     body, then the connection is cut, or held until the
//	                     client leaves; the others the whole answer
//	answer -pad N STATUS BODY
//	                     the answer with N KiB of extra headers
func answerCmd(ts *testscript.TestScript, neg bool, args []string) {
	broken, first := "", 0
	if len(args) == 4 && (args[0] == "-cut" || args[0] == "-stall" || args[0] == "-pad") {
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		broken, first, args = args[0], n, args[2:]
	}
	if neg || len(args) != 2 && len(args) != 5 {
		ts.Fatalf("usage: answer STATUS BODY | answer STATUS PREFIX FILL N SUFFIX | answer -cut|-stall N STATUS BODY")
	}
	status, err := strconv.Atoi(args[0])
	ts.Check(err)
	prefix, fill, n, suffix := args[1], "", 0, ""
	if len(args) == 5 {
		fill, suffix = args[2], args[4]
		n, err = strconv.Atoi(args[3])
		ts.Check(err)
	}
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if broken == "-pad" {
			for i := range first {
				w.Header().Set("X-Pad-"+strconv.Itoa(i), strings.Repeat("x", 1<<10))
			}
		} else if broken != "" && int(requests.Add(1)) <= first {
			w.Header().Set("Content-Length", strconv.Itoa(len(prefix)))
			w.WriteHeader(status)
			w.Write([]byte(prefix[:len(prefix)/2]))
			w.(http.Flusher).Flush()
			if broken == "-stall" {
				<-r.Context().Done()
				return
			}
			conn, _, err := w.(http.Hijacker).Hijack()
			ts.Check(err)
			conn.Close()
			return
		}
		w.WriteHeader(status)
		w.Write([]byte(prefix))
		for i := 0; i < n; i++ {
			if _, err := w.Write([]byte(fill)); err != nil {
				return // the client stopped reading
			}
		}
		w.Write([]byte(suffix))
	}))
	ts.Defer(srv.Close)
	ts.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", srv.URL)
}
