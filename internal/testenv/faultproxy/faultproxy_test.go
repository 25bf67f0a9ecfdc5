package faultproxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

func start(t *testing.T) *Proxy {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "upstream")
	}))
	t.Cleanup(up.Close)
	p, err := Start(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// get posts one request as the SDK would, on a fresh connection.
func get(ctx context.Context, p *Proxy) (*http.Response, string, error) {
	req, _ := http.NewRequestWithContext(ctx, "POST", p.URL, strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b), nil
}

func TestPassCountsOperations(t *testing.T) {
	p := start(t)
	resp, body, err := get(context.Background(), p)
	if err != nil || resp.StatusCode != 200 || body != "upstream" {
		t.Fatalf("got %v %q %v, want 200 upstream", resp, body, err)
	}
	if c := p.Counts(); c["GetSecretValue"] != 1 {
		t.Fatalf("Counts = %v, want GetSecretValue=1", c)
	}
	if s := p.Stats(); s != (Stats{Requests: 1, Conns: 1}) {
		t.Fatalf("Stats = %+v", s)
	}
}

func TestStatusBurstThenPass(t *testing.T) {
	p := start(t)
	p.SetFault(Fault{Kind: Status, Status: 503, Count: 2})
	for i, want := range []int{503, 503, 200} {
		resp, _, err := get(context.Background(), p)
		if err != nil || resp.StatusCode != want {
			t.Fatalf("request %d: %v %v, want %d", i, resp, err, want)
		}
	}
	if s := p.Stats(); s.Requests != 3 || s.Faulted != 2 || s.Conns < 1 {
		t.Fatalf("Stats = %+v", s)
	}
}

func TestAWSError(t *testing.T) {
	p := start(t)
	p.SetFault(Fault{Kind: AWSError, Code: "ExpiredTokenException"})
	resp, body, err := get(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "ExpiredTokenException" || !strings.Contains(body, `"__type":"ExpiredTokenException"`) {
		t.Fatalf("got %d %v %s", resp.StatusCode, resp.Header, body)
	}
}

func TestReset(t *testing.T) {
	p := start(t)
	p.SetFault(Fault{Kind: Reset})
	_, _, err := get(context.Background(), p)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("err = %v, want connection reset", err)
	}
}

func TestStallUntilClientGivesUp(t *testing.T) {
	p := start(t)
	p.SetFault(Fault{Kind: Stall})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, _, err := get(ctx, p)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the client's deadline", err)
	}
}

func TestRateThrottlesExcess(t *testing.T) {
	p := start(t)
	p.SetRate(5)
	var ok, throttled int
	start := time.Now()
	for range 8 {
		resp, _, err := get(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case resp.StatusCode == 200:
			ok++
		case resp.Header.Get("X-Amzn-ErrorType") == "ThrottlingException":
			throttled++
		}
	}
	// The burst of 5 passes, plus what the rate earned while the requests
	// ran (none on an idle machine, which takes milliseconds), and the
	// rest are throttled.
	earned := int(time.Since(start).Seconds()*5) + 1
	if ok < 5 || ok > 5+earned || ok+throttled != 8 {
		t.Fatalf("%d passed, %d throttled; want 5 (up to %d on this slow a run) and the rest", ok, throttled, 5+earned)
	}
	if s := p.Stats(); s.Throttled != throttled || s.Faulted != throttled || s.Requests != 8 {
		t.Fatalf("Stats = %+v", s)
	}
}

func TestUpstreamMustBeLoopback(t *testing.T) {
	if _, err := Start("http://192.0.2.1:80"); err == nil {
		t.Fatal("Start accepted an upstream off loopback")
	}
}

func TestFaultOfOneOperation(t *testing.T) {
	p := start(t)
	p.SetFault(Fault{Kind: Status, Status: 500, Op: "BatchGetSecretValue"})
	resp, _, err := get(context.Background(), p) // a GetSecretValue
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GetSecretValue: %v %v, want it passed", resp, err)
	}
	req, _ := http.NewRequest("POST", p.URL, strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "secretsmanager.BatchGetSecretValue")
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 500 {
		t.Fatalf("BatchGetSecretValue: %v %v, want 500", resp, err)
	}
	resp.Body.Close()
}

func TestOpRateLimitsOneOperation(t *testing.T) {
	p := start(t)
	p.SetOpRate("BatchGetSecretValue", 1)
	for i := range 3 {
		resp, _, err := get(context.Background(), p) // GetSecretValue: no limit
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GetSecretValue %d: %v %v", i, resp, err)
		}
	}
	var codes []int
	start := time.Now()
	for range 2 {
		req, _ := http.NewRequest("POST", p.URL, strings.NewReader("{}"))
		req.Header.Set("X-Amz-Target", "secretsmanager.BatchGetSecretValue")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	// A machine so loaded that a second passed between the two has earned
	// the second a token.
	if codes[0] != 200 || codes[1] != 400 && time.Since(start) < time.Second {
		t.Fatalf("two BatchGetSecretValue at 1/s answered %v, want [200 400]", codes)
	}
}
