#!/bin/sh
# The smexec demo: a local Secrets Manager (moto_server) on loopback, seeded
# with examples/demo/secrets.json, and smexec starting a child with those
# secrets in its env and in files. Run it with `make demo` from the
# repository root; it needs MOTO_SERVER and SMEXEC set, as make sets them.
set -eu

: "${MOTO_SERVER:?set MOTO_SERVER to the moto_server program (make demo does)}"
: "${SMEXEC:?set SMEXEC to the smexec binary (make demo does)}"
DEMO=examples/demo
[ -f "$DEMO/secrets.json" ] || { echo "run.sh: run me from the repository root" >&2; exit 2; }

# The seeding needs boto3, which ships with moto: use the python beside
# moto_server (the .venv make installs, or a pyenv shim) when it has it.
PY=python3
for p in "$(dirname "$MOTO_SERVER")/python3" "$(dirname "$MOTO_SERVER")/python"; do
	if [ -x "$p" ] && "$p" -c 'import boto3' 2>/dev/null; then
		PY=$p
		break
	fi
done
"$PY" -c 'import boto3' 2>/dev/null || {
	echo "run.sh: $PY cannot import boto3 (it comes with moto[server]); run: make moto" >&2
	exit 2
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/smexec-demo.XXXXXX")
moto_pid=
cleanup() {
	trap '' INT TERM # a second Ctrl-C must not cut the clean-up short
	if [ -n "$moto_pid" ]; then
		kill "$moto_pid" 2>/dev/null || true
		wait "$moto_pid" 2>/dev/null || true
	fi
	# The demo's files are mode 0400; rm -rf removes them all the same.
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Everything talks to 127.0.0.1 only; keep any HTTP proxy out of the way.
export NO_PROXY=127.0.0.1 no_proxy=127.0.0.1

port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$port

echo "== 1. start a local Secrets Manager: moto_server on $URL"
"$MOTO_SERVER" -H 127.0.0.1 -p "$port" >"$WORK/moto.log" 2>&1 &
moto_pid=$!
if ! "$PY" - "$URL" <<'EOF'
import sys, time, urllib.request

url = sys.argv[1] + "/moto-api/"
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
deadline = time.monotonic() + 30
while True:
    try:
        opener.open(url, timeout=2).close()
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit(1)
        time.sleep(0.1)
EOF
then
	echo "run.sh: moto_server did not answer within 30 s; its log:" >&2
	cat "$WORK/moto.log" >&2
	exit 1
fi

echo
echo "== 2. seed the secrets of $DEMO/secrets.json"
"$PY" - "$URL" "$DEMO/secrets.json" >"$WORK/arns" <<'EOF'
import json, sys
import boto3

url, path = sys.argv[1], sys.argv[2]
sm = boto3.client(
    "secretsmanager",
    endpoint_url=url,
    region_name="us-east-1",
    aws_access_key_id="demo",
    aws_secret_access_key="demo",
)
with open(path) as f:
    secrets = json.load(f)
for s in secrets:
    value = s["SecretString"]
    if not isinstance(value, str):
        value = json.dumps(value)  # a JSON object is stored as its text
    out = sm.create_secret(Name=s["Name"], Description=s.get("Description", ""), SecretString=value)
    print(s["Name"], out["ARN"])
EOF
sed 's/^/  created /' "$WORK/arns"
DB_ARN=$(awk '$1 == "demo/db" { print $2 }' "$WORK/arns")

# smexec finds the endpoint and credentials the way every AWS SDK does.
# The demo's dummy credentials, and nothing from ~/.aws, AWS_PROFILE or a
# SMEXEC_* variable of the caller's shell, so the run is the same anywhere.
export AWS_ENDPOINT_URL_SECRETS_MANAGER="$URL"
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_REGION
# Every SMEXEC_ variable, whatever flag it sets (SMEXEC_AGENT, SMEXEC_MASK,
# one added later), not a list that falls behind.
for name in $(env | sed -n 's/^\(SMEXEC_[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$name"
done

# quote writes $1 as a shell word, so the commands shown can be pasted.
quote() {
	case $1 in
	'' | *[!A-Za-z0-9_./:=@%+,-]*) printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ;;
	*) printf '%s' "$1" ;;
	esac
}

# smexec shows each command before running it.
smexec() {
	printf '$ smexec'
	for arg in "$@"; do
		printf ' '
		quote "$arg"
	done
	printf '\n'
	"$SMEXEC" "$@"
}

# The mappings of steps 3 and 4:
#   DB_PASSWORD  a JSON field, by ARN, in the form of an ECS valueFrom
#   DB_PORT      a JSON field holding a number: the literal as written
#   API_TOKEN    a whole plain-string secret
#   -f           a whole secret written to a file in a temp folder
#   --mappings   DB_HOST and DB_USER, from the mappings file
set -- \
	-e "DB_PASSWORD=$DB_ARN:password::" \
	-e DB_PORT=demo/db:port \
	-e API_TOKEN=demo/api-token \
	-f "$WORK/certs/ca.pem=demo/ca-cert" \
	--mappings "$DEMO/mappings"

echo
echo "== 3. check: resolve every mapping and show what would be injected (never a value)"
smexec check "$@"

echo
echo "== 4. run a child with the secrets in its env and in a file"
smexec "$@" -- sh "$DEMO/child.sh" "$WORK/certs/ca.pem"

echo
echo "== 5. fail closed: one mapping names a secret that does not exist"
code=0
smexec -e DB_PASSWORD=demo/db:password -e MISSING=demo/no-such-secret \
	-f "$WORK/never/token=demo/api-token" -- sh "$DEMO/child.sh" || code=$?
if [ "$code" -ne 125 ]; then
	echo "run.sh: smexec exited with $code, want 125" >&2
	exit 1
fi
if [ -e "$WORK/never" ]; then
	echo "run.sh: smexec wrote $WORK/never after a failed run" >&2
	exit 1
fi
echo "smexec exited with 125; the child did not run and $WORK/never/token was not written"

echo
echo "== 6. the child's exit code is smexec's exit code"
code=0
smexec -e API_TOKEN=demo/api-token -- sh -c 'exit 3' || code=$?
if [ "$code" -ne 3 ]; then
	echo "run.sh: smexec exited with $code, want 3" >&2
	exit 1
fi
echo "smexec exited with 3"

echo
echo "== 7. supervised with --mask: the child prints its token, the output shows ***"
out=$(smexec --mask -e API_TOKEN=demo/api-token -- sh -c 'echo "token is $API_TOKEN"')
echo "$out"
case $out in
*'token is ***'*) ;;
*)
	echo "run.sh: the token was not masked" >&2
	exit 1
	;;
esac

echo
echo "demo done: moto_server stops and $WORK is removed on exit"
