package resolve

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
)

// The SDK's decoding errors quote the answer; classify says which call's
// answer could not be read, never what it held.
func TestClassifyDecodeErrorHidesTheAnswer(t *testing.T) {
	err := &smithy.OperationError{
		ServiceID:     "Secrets Manager",
		OperationName: "GetSecretValue",
		Err:           &smithy.DeserializationError{Err: errors.New("expected string, got SENTINEL-12345678901234567")},
	}
	got := classify(context.Background(), err, key{secretID: "prod/db"})
	var e *Error
	if !errors.As(got, &e) {
		t.Fatalf("classify = %T, want *Error", got)
	}
	if want := "could not decode the answer to GetSecretValue: it is not what Secrets Manager sends"; e.Cause != want {
		t.Errorf("cause = %q, want %q", e.Cause, want)
	}
	if strings.Contains(got.Error(), "SENTINEL") || strings.Contains(e.Hint, "SENTINEL") {
		t.Errorf("error %q (hint %q) quotes the answer", got, e.Hint)
	}
}
