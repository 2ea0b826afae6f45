#!/usr/bin/env bash
# Create (or refresh) the separate alphalens-reloaded virtualenv used for the factor-analysis
# reference values (tests/reference/alphalens_*.csv; see benchmarks/reference_venv.sh).
#
#   bash benchmarks/alphalens_env/setup.sh
#   benchmarks/.venv-alphalens/bin/python tests/reference/make_alphalens_reference.py
#
# Environment overrides: PYTHON (interpreter, default python3.11), ALPHALENS_VENV (venv path,
# default benchmarks/.venv-alphalens, git-ignored). Never touches the project's own .venv.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
exec bash "$REPO/benchmarks/reference_venv.sh" "${ALPHALENS_VENV:-$REPO/benchmarks/.venv-alphalens}" \
    "$HERE/requirements.txt" "import alphalens" \
    'import alphalens, numpy, pandas, scipy
print(f"alphalens-reloaded {alphalens.__version__}, pandas {pandas.__version__}, "
      f"numpy {numpy.__version__}, scipy {scipy.__version__}")' \
    "alphalens-reloaded 0.5.1 needs CPython >= 3.10"
