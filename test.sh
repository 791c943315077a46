#!/usr/bin/env bash
# One command to run every test: installs what is missing, builds, and runs the suite against real
# PostgreSQL, NATS JetStream and SMTP servers that the tests start on loopback.
# Extra arguments go to dotnet test, e.g. ./test.sh --filter FullyQualifiedName~Hosting
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps spamassassin   # the SpamAssassin test judges built messages with it
start=$(date +%s)
dotnet build kannon.sln -c Release -nologo -v quiet -clp:ErrorsOnly
status=0
dotnet test kannon.sln -c Release --no-build -nologo --logger "console;verbosity=normal" "$@" || status=$?
echo "test command took $(( $(date +%s) - start )) s"
exit $status
