#!/usr/bin/env bash
# 20 core runs in a row against the reference server, each with a new seed: no false alarm allowed.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python3}" benchmarks/no_false_alarm.py "$@"
