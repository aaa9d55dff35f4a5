#!/usr/bin/env bash
# `make demo`: starts the fixture systems and the agent, syncs the demo data, prints a report.
set -euo pipefail
build="${1:-build}"
if [ ! -x "$build/agent/tandem" ] || [ ! -x "$build/fixtures/tandem-fixtures" ]; then
  echo "tandem demo: the agent and the fixture servers are not built yet ($build/agent/tandem," >&2
  echo "$build/fixtures/tandem-fixtures); the demo arrives with them." >&2
  exit 1
fi
exec "$(dirname "$0")/demo.sh" "$build"
