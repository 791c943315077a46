#!/usr/bin/env bash
# One command to run Kannon: installs what is missing, builds, and starts every role in one process.
# With no database_url / nats_url configured, Kannon starts its own PostgreSQL and NATS under ./.kannon.
# Extra arguments go to kannon (default: --run-all), e.g. ./run.sh --run-api --config kannon.yaml
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps
dotnet build Kannon/Kannon.csproj -c Release -nologo -v quiet -clp:ErrorsOnly
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--run-all)
exec Kannon/bin/Release/net10.0/kannon "${args[@]}"
