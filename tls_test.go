package main

import (
	"encoding/pem"
	"io"
	"log"
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
	srv, ca, err := tlsFront(upstream)
	ts.Check(err)
	ts.Defer(srv.Close)
	ts.Check(os.WriteFile(ts.MkAbs("ca.pem"), ca, 0o644))
	ts.Setenv("TLS_ENDPOINT", srv.URL)
}

// tlsFront starts an HTTPS proxy on 127.0.0.1 in front of upstream, with
// a certificate no system trusts, and returns it and, PEM-encoded, the CA
// that signed it. It logs nothing: runs that refuse its certificate fail
// the handshake on purpose.
func tlsFront(upstream string) (*httptest.Server, []byte, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, nil, err
	}
	srv := httptest.NewUnstartedServer(httputil.NewSingleHostReverseProxy(u))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	return srv, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), nil
}
