#!/usr/bin/env bash
# One command to run every test: installs what is missing, builds, and runs the suite against real
# PostgreSQL, NATS JetStream and SMTP servers that the tests start on loopback.
# Extra arguments go to dotnet test, e.g. ./test.sh --filter FullyQualifiedName~Hosting
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps spamassassin   # the SpamAssassin test judges built messages with it
start=$(date +%s)
dotnet build kannon.sln -c Release -nologo -v quiet -clp:ErrorsOnly
log=$(mktemp -t kannon-test.XXXXXX.log)
status=0
dotnet test kannon.sln -c Release --no-build -nologo --logger "console;verbosity=normal" "$@" 2>&1 \
  | tee "$log" || status=$?
if [ "$status" -ne 0 ]; then
  # The console log is long; repeat each failed test with its message at the end, where CI shows it.
  echo "=== failed tests (full log: $log) ==="
  awk '/^  Failed [A-Za-z]/ { show = 1; lines = 0 }
       show && lines < 40 { print; lines++ }
       /^  Stack Trace:/ { show = 0 }' "$log"
fi
echo "test command took $(( $(date +%s) - start )) s"
exit $status
