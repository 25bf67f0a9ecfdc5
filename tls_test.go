package main

import (
	"encoding/pem"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"

	"github.com/rogpeppe/go-internal/testscript"
)

// tlsfrontCmd is `tlsfront`: an HTTPS endpoint on 127.0.0.1 in front of
// moto, with a certificate no system trusts. It sets TLS_ENDPOINT to its
// URL and writes the CA that signed it to $WORK/ca.pem, and stops when
// the script ends.
func tlsfrontCmd(ts *testscript.TestScript, neg bool, args []string, upstream string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: tlsfront")
	}
	u, err := url.Parse(upstream)
	ts.Check(err)
	srv := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(u))
	ts.Defer(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	ts.Check(os.WriteFile(ts.MkAbs("ca.pem"), ca, 0o644))
	ts.Setenv("TLS_ENDPOINT", srv.URL)
}
