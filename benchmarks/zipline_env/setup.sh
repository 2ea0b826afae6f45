#!/usr/bin/env bash
# Create (or refresh) the separate zipline-reloaded virtualenv used for reference values and
# RustyBT-vs-zipline benchmarks. Idempotent: an existing venv that already satisfies
# requirements.txt is left as it is (pip only checks), a missing or broken one is (re)built.
#
#   bash benchmarks/zipline_env/setup.sh
#   benchmarks/.venv-zipline/bin/python tests/reference/make_zipline_reference.py
#
# Environment overrides: PYTHON (interpreter, default python3.11), ZIPLINE_VENV (venv path,
# default benchmarks/.venv-zipline, git-ignored). Never touches the project's own .venv.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python3.11}"
VENV="${ZIPLINE_VENV:-$REPO/benchmarks/.venv-zipline}"
REQS="$HERE/requirements.txt"
STAMP="$VENV/.requirements.sha256"

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "setup.sh: $PYTHON not found (zipline-reloaded 3.2.1 wheels need CPython 3.11-3.13)" >&2
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

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_sha" ] \
    && "$VENV/bin/python" -c "import zipline, bcolz" >/dev/null 2>&1; then
    echo "setup.sh: $VENV is up to date"
else
    "$VENV/bin/python" -m pip install --quiet --upgrade pip wheel
    "$VENV/bin/python" -m pip install --quiet -r "$REQS"
    echo "$want_sha" > "$STAMP"
fi

"$VENV/bin/python" - <<'EOF'
import exchange_calendars, numpy, pandas, zipline
print(f"zipline-reloaded {zipline.__version__}, pandas {pandas.__version__}, "
      f"numpy {numpy.__version__}, exchange_calendars {exchange_calendars.__version__}")
EOF
