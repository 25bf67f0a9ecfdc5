package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// systemBundles are where Linux distributions keep the system's root
// certificates (Go's crypto/x509 looks in the same places).
var systemBundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	"/etc/ssl/cert.pem",
}

// tlsSetup is a CA made for one run, a server certificate for 127.0.0.1
// that it signed, and a copy of the system's root bundle with the CA
// appended: what SSL_CERT_FILE (and, in its own cells, AWS_CA_BUNDLE)
// points at, so that every process loads the same roots a production
// process loads, plus one.
type tlsSetup struct {
	cert    tls.Certificate
	bundle  string // the system bundle plus the run's CA
	roots   int    // certificates in bundle
	keyBits int
}

// newTLS makes the run's CA and server certificate, RSA 2048 like the
// certificates Secrets Manager's endpoints present, and writes the bundle
// into dir.
func newTLS(dir string) (*tlsSetup, error) {
	var system []byte
	for _, p := range systemBundles {
		if b, err := os.ReadFile(p); err == nil {
			system = b
			break
		}
	}
	if system == nil {
		return nil, fmt.Errorf("no system root bundle found (looked in %v)", systemBundles)
	}
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "startbench CA " + now.Format(time.RFC3339)},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	bundle := append(bytes.TrimRight(system, "\n"), '\n')
	bundle = append(bundle, caPEM...)
	path := filepath.Join(dir, "ca-bundle.crt")
	if err := os.WriteFile(path, bundle, 0o644); err != nil {
		return nil, err
	}
	return &tlsSetup{
		cert:    tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: key},
		bundle:  path,
		roots:   bytes.Count(bundle, []byte("BEGIN CERTIFICATE")),
		keyBits: 2048,
	}, nil
}

// terminator is a TLS terminator on 127.0.0.1: it accepts TLS (HTTP/1.1
// by ALPN) and relays the plain bytes to an upstream on loopback.
type terminator struct {
	URL string
	l   net.Listener
	wg  sync.WaitGroup
}

func (t *tlsSetup) terminate(upstream string) (*terminator, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, err
	}
	if h := u.Hostname(); h != "127.0.0.1" && h != "localhost" {
		return nil, fmt.Errorf("upstream %s is not on loopback", upstream)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{t.cert},
		NextProtos:   []string{"http/1.1"},
	})
	if err != nil {
		return nil, err
	}
	term := &terminator{URL: "https://" + l.Addr().String(), l: l}
	term.wg.Add(1)
	go func() {
		defer term.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go relay(c, u.Host)
		}
	}()
	return term, nil
}

func relay(c net.Conn, upstream string) {
	defer c.Close()
	up, err := net.Dial("tcp", upstream)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(up, c)
		up.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(c, up)
	c.Close()
	<-done
}

func (t *terminator) Close() {
	t.l.Close()
	t.wg.Wait()
}
