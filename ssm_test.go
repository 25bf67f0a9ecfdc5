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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
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
	if neg {
		ts.Fatalf("ssm does not take !")
	}
	if len(args) < 3 {
		ts.Fatalf("usage: ssm put|label [flags] NAME VALUE|VERSION [LABEL...]")
	}
	fs := flag.NewFlagSet("ssm", flag.ContinueOnError)
	region := fs.String("region", testRegion, "region")
	typ := fs.String("type", "String", "parameter type")
	verb := args[0]
	ts.Check(fs.Parse(args[1:]))
	rest := fs.Args()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := ssm.NewFromConfig(aws.Config{
		Region:       *region,
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(url),
	})
	switch verb {
	case "put":
		if len(rest) != 2 {
			ts.Fatalf("usage: ssm put [flags] NAME VALUE")
		}
		_, err := client.PutParameter(ctx, &ssm.PutParameterInput{
			Name: aws.String(rest[0]), Value: aws.String(rest[1]), Type: types.ParameterType(*typ), Overwrite: aws.Bool(true),
		})
		ts.Check(err)
	case "label":
		v, err := strconv.ParseInt(rest[1], 10, 64)
		ts.Check(err)
		_, err = client.LabelParameterVersion(ctx, &ssm.LabelParameterVersionInput{
			Name: aws.String(rest[0]), ParameterVersion: aws.Int64(v), Labels: rest[2:],
		})
		ts.Check(err)
	default:
		ts.Fatalf("ssm: unknown verb %q", verb)
	}
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
