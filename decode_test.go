package main

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestDecodeScripts runs the scripts of testdata/decode: smexec against a
// loopback endpoint that answers every request with one canned answer, as
// a broken or hostile endpoint (or a proxy in front of one) might.
//
//	answer STATUS BODY   answer every request with HTTP STATUS and BODY;
//	                     sets AWS_ENDPOINT_URL_SECRETS_MANAGER to the endpoint
//	answer STATUS PREFIX FILL N SUFFIX
//	                     the same, the body PREFIX, then FILL N times, then SUFFIX
func TestDecodeScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/decode",
		Setup: func(env *testscript.Env) error {
			for k, v := range awsEnv("http://127.0.0.1:1") {
				env.Setenv(k, v)
			}
			env.Setenv("GORACE", "atexit_sleep_ms=0")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"answer": answerCmd,
		},
	})
}

func answerCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 && len(args) != 5 {
		ts.Fatalf("usage: answer STATUS BODY | answer STATUS PREFIX FILL N SUFFIX")
	}
	status, err := strconv.Atoi(args[0])
	ts.Check(err)
	prefix, fill, n, suffix := args[1], "", 0, ""
	if len(args) == 5 {
		fill, suffix = args[2], args[4]
		n, err = strconv.Atoi(args[3])
		ts.Check(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
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
