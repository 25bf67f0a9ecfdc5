package resolve

import (
	"context"
	"slices"
	"strings"
)

// checked is res, or its failure when its answer is not the one k asked
// for (see checkAnswer). A name's region is held against the answer only
// where the clients say which region a name is read in: the agent reads
// in its own, whatever --region says.
func (r *Resolver) checked(ctx context.Context, op string, k key, res Result) Result {
	if res.Secret == nil {
		return res
	}
	want := k
	if _, ok := r.Clients.(DefaultRegioner); !ok && !isARN(k.secretID) {
		want.region = ""
	}
	if err := checkAnswer(op, want, res.Secret); err != nil {
		return Result{Err: classify(ctx, err, k)}
	}
	return res
}

// checkAnswer refuses an answer to op that is not the one k asked for:
// no value at all (an error body sent with HTTP 200, an empty object), a
// secret other than k's (a cache in the path that keys on the URL alone
// answers every POST to / alike), or a version other than the one k
// pins (AWSCURRENT when it pins none). Secrets Manager never sends these;
// handed on, they would give a mapping an empty value or another
// secret's. What an answer leaves out (a fake, a minimal agent) is not
// held against it.
func checkAnswer(op string, k key, s *Secret) error {
	stage := k
	if k.versionID == "" && k.stage == "" {
		stage.stage = "AWSCURRENT"
	}
	switch {
	case s.String == nil && s.Binary == nil:
		return &answerError{"the answer to " + op + " holds neither SecretString nor SecretBinary: it is not what Secrets Manager sends"}
	case !sameSecret(k, s.Name, s.ARN):
		return &answerError{"the answer to " + op + " is for another secret: it is not what Secrets Manager sends"}
	case k.versionID != "" && s.VersionID != "" && s.VersionID != k.versionID,
		stage.stage != "" && len(s.Stages) > 0 && !slices.Contains(s.Stages, stage.stage):
		return &answerError{"the answer to " + op + " is for another version than " + versionOf(stage) + ": it is not what Secrets Manager sends"}
	}
	return nil
}

// sameSecret reports whether an answer with this name and ARN (either
// may be missing) can be the secret k names: an ARN id by its ARN (full,
// or partial followed by the 6-character suffix), a name by its name and
// the region of its ARN. Case is not held against it.
func sameSecret(k key, name, arn string) bool {
	eq := strings.EqualFold
	id := k.secretID
	switch {
	case isARN(id) && arn != "":
		return eq(arn, id) || len(arn) == len(id)+7 && eq(arn[:len(id)], id) && fullARNSuffix.MatchString(arn[len(id):])
	case isARN(id) && name != "":
		n, _ := arnName(id)
		return eq(name, n) || fullARNSuffix.MatchString(n) && eq(name, n[:len(n)-7])
	case isARN(id):
		return true
	}
	if arn != "" && k.region != "" {
		// arn:PARTITION:secretsmanager:REGION:…; a FIPS pseudo-region
		// (fips-us-east-1, us-east-1-fips) reads the region it names.
		region := strings.TrimSuffix(strings.TrimPrefix(k.region, "fips-"), "-fips")
		if f := strings.SplitN(arn, ":", 5); len(f) < 5 || !eq(f[3], region) {
			return false
		}
	}
	// A name given with its suffix reads the secret of the name without
	// it: its ARN's name field is the id.
	withSuffix := arn != "" && len(arn) > len(id) && eq(arn[len(arn)-len(id):], id) && strings.HasSuffix(arn[:len(arn)-len(id)], ":secret:")
	switch {
	case name != "":
		return eq(name, id) || withSuffix
	case arn != "":
		// No name: the ARN's name field is the id and a suffix.
		n, _ := arnName(arn)
		return withSuffix || len(n) == len(id)+7 && eq(n[:len(id)], id) && fullARNSuffix.MatchString(n[len(id):])
	}
	return true
}

// answerError is an answer that is not the one asked for.
type answerError struct{ cause string }

func (e *answerError) Error() string { return e.cause }

func (e *answerError) Explain() (cause, hint string) {
	return e.cause, "something on the path answered in Secrets Manager's place (a proxy or cache, or the endpoint or agent given): check AWS_ENDPOINT_URL_SECRETS_MANAGER or --agent, and any proxy in between"
}
