// Package stubsm is a fast stand-in Secrets Manager endpoint for
// benchmarks: it answers GetSecretValue and BatchGetSecretValue from
// memory after a fixed delay, with no limit on concurrent requests, so a
// benchmark measures the launcher rather than the server.
package stubsm

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Server is a running stub endpoint on loopback.
type Server struct {
	URL string
	// Requests counts every request answered.
	Requests atomic.Int64

	srv     *http.Server
	secrets map[string]string
}

// Options shape the stub's answers.
type Options struct {
	Delay time.Duration
	// DenyBatch answers BatchGetSecretValue with AccessDeniedException, as
	// for a caller allowed only secretsmanager:GetSecretValue.
	DenyBatch bool
}

const account = "123456789012"

// Start serves secrets (name → SecretString) on a free 127.0.0.1 port.
func Start(secrets map[string]string, opt Options) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + l.Addr().String(), secrets: secrets}
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Requests.Add(1)
		time.Sleep(opt.Delay)
		switch r.Header.Get("X-Amz-Target") {
		case "secretsmanager.GetSecretValue":
			s.get(w, r)
		case "secretsmanager.BatchGetSecretValue":
			if opt.DenyBatch {
				apiError(w, http.StatusBadRequest, "AccessDeniedException", "not authorized to perform: secretsmanager:BatchGetSecretValue")
				return
			}
			s.batch(w, r)
		default:
			apiError(w, http.StatusBadRequest, "UnknownOperationException", "unsupported operation")
		}
	})}
	go s.srv.Serve(l)
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

type entry struct {
	ARN           string   `json:"ARN"`
	Name          string   `json:"Name"`
	VersionId     string   `json:"VersionId"`
	SecretString  string   `json:"SecretString"`
	VersionStages []string `json:"VersionStages"`
	CreatedDate   float64  `json:"CreatedDate"`
}

func (s *Server) entry(id string) (entry, bool) {
	v, ok := s.secrets[id]
	arn, name := fmt.Sprintf("arn:aws:secretsmanager:us-east-1:%s:secret:%s-AbCdEf", account, id), id
	// Asked by ARN, it answers as Secrets Manager does: with that ARN and
	// the name in it, less the six-character suffix; smexec refuses an
	// answer for another secret.
	if _, after, ok := strings.Cut(id, ":secret:"); ok && strings.HasPrefix(id, "arn:") {
		arn, name = id, after
		if i := strings.LastIndexByte(after, '-'); i >= 0 && len(after)-i == 7 {
			name = after[:i]
		}
	}
	return entry{
		ARN:           arn,
		Name:          name,
		VersionId:     "00000000-0000-4000-8000-000000000001",
		SecretString:  v,
		VersionStages: []string{"AWSCURRENT"},
		CreatedDate:   1.7e9,
	}, ok
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	var in struct{ SecretId string }
	if json.NewDecoder(r.Body).Decode(&in) != nil {
		apiError(w, http.StatusBadRequest, "InvalidRequestException", "bad body")
		return
	}
	e, ok := s.entry(in.SecretId)
	if !ok {
		apiError(w, http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	reply(w, e)
}

func (s *Server) batch(w http.ResponseWriter, r *http.Request) {
	var in struct{ SecretIdList []string }
	if json.NewDecoder(r.Body).Decode(&in) != nil {
		apiError(w, http.StatusBadRequest, "InvalidRequestException", "bad body")
		return
	}
	type apiErr struct{ SecretId, ErrorCode, Message string }
	out := struct {
		SecretValues []entry
		Errors       []apiErr
	}{SecretValues: []entry{}, Errors: []apiErr{}}
	for _, id := range in.SecretIdList {
		if e, ok := s.entry(id); ok {
			out.SecretValues = append(out.SecretValues, e)
		} else {
			out.Errors = append(out.Errors, apiErr{id, "ResourceNotFoundException", "Secrets Manager can't find the specified secret."})
		}
	}
	reply(w, out)
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}
