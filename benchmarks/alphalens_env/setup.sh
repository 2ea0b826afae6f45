#!/usr/bin/env bash
# Create (or refresh) the separate alphalens-reloaded virtualenv used for the factor-analysis
# reference values (tests/reference/alphalens_*.csv). Idempotent: an existing venv that already satisfies
# requirements.txt is left as it is (pip only checks), a missing or broken one is (re)built.
#
#   bash benchmarks/alphalens_env/setup.sh
#   benchmarks/.venv-alphalens/bin/python tests/reference/make_alphalens_reference.py
#
# Environment overrides: PYTHON (interpreter, default python3.11), ALPHALENS_VENV (venv path,
# default benchmarks/.venv-alphalens, git-ignored). Never touches the project's own .venv.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python3.11}"
VENV="${ALPHALENS_VENV:-$REPO/benchmarks/.venv-alphalens}"
REQS="$HERE/requirements.txt"
STAMP="$VENV/.requirements.sha256"

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "setup.sh: $PYTHON not found (alphalens-reloaded 0.5.1 needs CPython >= 3.10)" >&2
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
    && "$VENV/bin/python" -c "import alphalens" >/dev/null 2>&1; then
    echo "setup.sh: $VENV is up to date"
else
    "$VENV/bin/python" -m pip install --quiet --upgrade pip wheel
    "$VENV/bin/python" -m pip install --quiet -r "$REQS"
    echo "$want_sha" > "$STAMP"
fi

"$VENV/bin/python" - <<'EOF'
import alphalens, numpy, pandas, scipy
print(f"alphalens-reloaded {alphalens.__version__}, pandas {pandas.__version__}, "
      f"numpy {numpy.__version__}, scipy {scipy.__version__}")
EOF
