#!/bin/sh
# Stands in for the real program: it shows what smexec gave it without
# printing a secret, as a real program should.
set -eu
for name in DB_HOST DB_USER DB_PASSWORD; do
	eval "value=\${$name-}"
	echo "$name is set: ${#value} bytes"
done
ls -l /run/app
