package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/rogpeppe/go-internal/testscript"
)

// Parameter Store in the end-to-end tests: moto_server serves SSM on the
// same port as Secrets Manager. The scripts seed parameters with the ssm
// command and reach SSM through ssmShim.

// ssmCmd seeds moto's Parameter Store for a script:
//
//	ssm put [-region R] [-type String|StringList|SecureString] NAME VALUE
//	ssm label [-region R] NAME VERSION LABEL...
//
// put creates the parameter or adds a version to it.
func ssmCmd(ts *testscript.TestScript, neg bool, args []string, url string) {
	fs := flag.NewFlagSet("ssm", flag.ContinueOnError)
	typ := fs.String("type", "String", "parameter type")
	verb, region, rest := seedArgs(ts, neg, args, fs, 3, "ssm put|label [flags] NAME VALUE|VERSION [LABEL...]")
	switch verb {
	case "put":
		if len(rest) != 2 {
			ts.Fatalf("usage: ssm put [flags] NAME VALUE")
		}
		ts.Check(ssmCall(url, region, "PutParameter", map[string]any{
			"Name": rest[0], "Value": rest[1], "Type": *typ, "Overwrite": true,
		}))
	case "label":
		v, err := strconv.ParseInt(rest[1], 10, 64)
		ts.Check(err)
		ts.Check(ssmCall(url, region, "LabelParameterVersion", map[string]any{
			"Name": rest[0], "ParameterVersion": v, "Labels": rest[2:],
		}))
	default:
		ts.Fatalf("ssm: unknown verb %q", verb)
	}
}

// ssmCall makes one SSM call (AWS JSON 1.1, signed) to moto in region.
func ssmCall(url, region, op string, in any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonSSM."+op)
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing"}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ssm", region, time.Now()); err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ssm %s: HTTP %d: %s", op, resp.StatusCode, answer)
	}
	return nil
}

// ssmShim is an HTTP proxy in front of moto's SSM that takes parameter
// ARNs in GetParameters, as AWS does and moto 5 does not: it asks moto
// for an ARN of the test account by its name, in the region the request
// was signed for, and gives the ARN back in InvalidParameters. It changes
// nothing else; answers (each parameter's ARN included) are moto's.
var (
	shimOnce sync.Once
	shimURL  string
)

func ssmShim(motoURL string) string {
	shimOnce.Do(func() {
		target, err := url.Parse(motoURL)
		if err != nil {
			panic(err)
		}
		proxy := httputil.NewSingleHostReverseProxy(target)
		proxy.ModifyResponse = func(resp *http.Response) error {
			back, ok := resp.Request.Context().Value(arnsKey{}).(map[string]string)
			if !ok || resp.StatusCode != http.StatusOK {
				return nil
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			var out map[string]any
			if json.Unmarshal(body, &out) == nil {
				if inv, ok := out["InvalidParameters"].([]any); ok {
					for i, n := range inv {
						if s, ok := n.(string); ok && back[s] != "" {
							inv[i] = back[s]
						}
					}
				}
				body, _ = json.Marshal(out)
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			resp.ContentLength = int64(len(body))
			resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
			return nil
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".GetParameters") {
				proxy.ServeHTTP(w, r)
				return
			}
			body, _ := io.ReadAll(r.Body)
			var in map[string]any
			back := map[string]string{}
			if json.Unmarshal(body, &in) == nil {
				names, _ := in["Names"].([]any)
				for i, n := range names {
					s, _ := n.(string)
					f := strings.SplitN(s, ":", 6)
					if len(f) == 6 && f[0] == "arn" && f[4] == testAccount {
						name := strings.TrimPrefix(f[5], "parameter/")
						if strings.Contains(strings.SplitN(name, ":", 2)[0], "/") {
							name = "/" + name
						}
						names[i], back[name] = name, s
					}
				}
				body, _ = json.Marshal(in)
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			r.Header.Set("Content-Length", strconv.Itoa(len(body)))
			proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), arnsKey{}, back)))
		}))
		shimURL = srv.URL
	})
	return shimURL
}

type arnsKey struct{}
