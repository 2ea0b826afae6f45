#!/usr/bin/env bash
# Create (or refresh) a separate reference virtualenv from exact pins; shared by benchmarks/*_env/setup.sh.
# Idempotent: an existing venv that already satisfies the requirements file is left as it is (pip only checks),
# a missing or broken one is (re)built. Never touches the project's own .venv.
#
#   reference_venv.sh VENV REQUIREMENTS IMPORT_CHECK VERSION_REPORT_PY NEEDS
#
# IMPORT_CHECK: python statement that succeeds when the venv is usable ("import zipline, bcolz");
# VERSION_REPORT_PY: python code printing the versions; NEEDS: what to say when $PYTHON is missing.
# Environment: PYTHON (interpreter, default python3.11).
set -euo pipefail

VENV="$1"; REQS="$2"; CHECK="$3"; REPORT="$4"; NEEDS="$5"
PYTHON="${PYTHON:-python3.11}"
STAMP="$VENV/.requirements.sha256"

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "setup.sh: $PYTHON not found ($NEEDS)" >&2
    exit 1
fi

want_sha="$(sha256sum "$REQS" | cut -d' ' -f1)"

# A venv whose interpreter no longer runs (e.g. Python was removed) is rebuilt from scratch.
if [ -d "$VENV" ] && ! "$VENV/bin/python" -c "import sys" >/dev/null 2>&1; then
    echo "setup.sh: $VENV is broken; recreating"
    rm -rf -- "$VENV"
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "setup.sh: creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_sha" ] && "$VENV/bin/python" -c "$CHECK" >/dev/null 2>&1; then
    echo "setup.sh: $VENV is up to date"
else
    "$VENV/bin/python" -m pip install --quiet --upgrade pip wheel
    "$VENV/bin/python" -m pip install --quiet -r "$REQS"
    echo "$want_sha" > "$STAMP"
fi

"$VENV/bin/python" -c "$REPORT"
