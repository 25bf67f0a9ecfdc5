#!/bin/sh
# The demo's child: it shows what smexec handed it. A real program would
# use the values, never print them; these are dummy values from the demo.
set -eu

echo "child: env vars from smexec"
for name in DB_HOST DB_PORT DB_USER DB_PASSWORD API_TOKEN; do
	eval "value=\${$name-(not set)}"
	printf '  %s=%s\n' "$name" "$value"
done

# Arguments are the files smexec wrote before starting this script.
for path in "$@"; do
	echo "child: file $path"
	ls -ld "$(dirname "$path")" "$path" | sed 's/^/  /'
	sed 's/^/  | /' "$path"
	# A value is written byte for byte: nothing is appended, so a value
	# without a final newline ends mid-line.
	[ -z "$(tail -c 1 "$path")" ] || echo
done
