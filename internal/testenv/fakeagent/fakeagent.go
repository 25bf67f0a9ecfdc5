// Package fakeagent is a loopback stand-in for the AWS Secrets Manager
// Agent, for tests. It follows the agent's documented HTTP API and its
// refusals: GET /secretsmanager/get?secretId=…&versionId=…&versionStage=…
// (and refreshNow), the SSRF token in X-Aws-Parameters-Secrets-Token
// (403 "Bad Token" otherwise), 400 "Forwarded" for X-Forwarded-For, 405
// for other methods, 404 for other paths, 400 for unknown or missing
// parameters. It reads each secret from a real Secrets Manager endpoint
// (moto in the tests) with the SDK, and answers as the agent does: the
// GetSecretValue JSON with SecretBinary in base64 and CreatedDate as a
// string of seconds, or Secrets Manager's error as {"__type", "message"}
// with its HTTP status.
package fakeagent

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// TokenHeader is the header the agent checks for its token.
const TokenHeader = "X-Aws-Parameters-Secrets-Token"

// Server is a running fake agent on 127.0.0.1.
type Server struct {
	URL string
	// Requests counts the requests that reached /secretsmanager/get with
	// the right token.
	Requests atomic.Int64

	srv    *http.Server
	token  string
	client *sm.Client
}

// Start serves on a free 127.0.0.1 port, reading secrets from the
// Secrets Manager at endpoint in region, and accepting only token.
func Start(endpoint, region, token string) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{
		URL:   "http://" + l.Addr().String(),
		token: token,
		client: sm.NewFromConfig(aws.Config{
			Region:       region,
			Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
			BaseEndpoint: aws.String(endpoint),
		}),
	}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(l)
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/ping" {
		fmt.Fprint(w, "healthy")
		return
	}
	if r.Header.Get("X-Forwarded-For") != "" {
		http.Error(w, "Forwarded", http.StatusBadRequest)
		return
	}
	if r.Header.Get(TokenHeader) != s.token {
		http.Error(w, "Bad Token", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodGet {
		http.Error(w, "Not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path != "/secretsmanager/get" {
		http.Error(w, "Not found", http.StatusNotFound)
		return
	}
	in := &sm.GetSecretValueInput{}
	for k, vs := range r.URL.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "secretId":
			in.SecretId = aws.String(v)
		case "versionId":
			in.VersionId = aws.String(v)
		case "versionStage":
			in.VersionStage = aws.String(v)
		case "refreshNow":
		default:
			http.Error(w, "unknown parameter: "+k, http.StatusBadRequest)
			return
		}
	}
	if in.SecretId == nil || *in.SecretId == "" {
		http.Error(w, "missing parameter secretId", http.StatusBadRequest)
		return
	}
	s.Requests.Add(1)

	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	out, err := s.client.GetSecretValue(ctx, in)
	if err != nil {
		status, body := errorBody(err)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
		return
	}
	type answer struct {
		ARN           *string  `json:"ARN"`
		Name          *string  `json:"Name"`
		VersionId     *string  `json:"VersionId"`
		SecretString  *string  `json:"SecretString,omitempty"`
		SecretBinary  *string  `json:"SecretBinary,omitempty"`
		VersionStages []string `json:"VersionStages,omitempty"`
		CreatedDate   *string  `json:"CreatedDate"`
	}
	a := answer{ARN: out.ARN, Name: out.Name, VersionId: out.VersionId, SecretString: out.SecretString, VersionStages: out.VersionStages}
	if out.SecretBinary != nil {
		a.SecretBinary = aws.String(base64.StdEncoding.EncodeToString(out.SecretBinary))
	}
	if out.CreatedDate != nil {
		a.CreatedDate = aws.String(fmt.Sprintf("%.3f", float64(out.CreatedDate.UnixMilli())/1000))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(a)
}

// errorBody is what the agent answers for a failed GetSecretValue: Secrets
// Manager's status and {"__type": code, "message": message}, or 500
// {"__type": "InternalFailure"} when there is no service error.
func errorBody(err error) (int, []byte) {
	var ae smithy.APIError
	var re *smithyhttp.ResponseError
	if !errors.As(err, &ae) || !errors.As(err, &re) || ae.ErrorMessage() == "" {
		return http.StatusInternalServerError, []byte(`{"__type":"InternalFailure"}`)
	}
	b, _ := json.Marshal(map[string]string{"__type": ae.ErrorCode(), "message": ae.ErrorMessage()})
	return re.HTTPStatusCode(), b
}
