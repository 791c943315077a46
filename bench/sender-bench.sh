#!/usr/bin/env bash
# Sender throughput: N Envelopes through NATS -> Sender -> a local SMTP sink, one MX, on this machine.
# Knobs: KANNON_BENCH_MESSAGES (20000), KANNON_BENCH_JOBS (200), KANNON_BENCH_CONNECTIONS (20).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build Kannon.Tests/Kannon.Tests.csproj -c Release -nologo -v quiet -clp:ErrorsOnly
KANNON_BENCH=1 dotnet test Kannon.Tests/Kannon.Tests.csproj -c Release --no-build -nologo \
  --filter "FullyQualifiedName~SenderBenchmark" --logger "console;verbosity=detailed" | grep -E "SENDER BENCH|published|Passed|Failed"
