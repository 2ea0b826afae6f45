#!/usr/bin/env bash
# Create (or refresh) the separate zipline-reloaded virtualenv used for reference values and
# RustyBT-vs-zipline benchmarks (see benchmarks/reference_venv.sh for what "refresh" means).
#
#   bash benchmarks/zipline_env/setup.sh
#   benchmarks/.venv-zipline/bin/python tests/reference/make_zipline_reference.py
#
# Environment overrides: PYTHON (interpreter, default python3.11), ZIPLINE_VENV (venv path,
# default benchmarks/.venv-zipline, git-ignored). Never touches the project's own .venv.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
exec bash "$REPO/benchmarks/reference_venv.sh" "${ZIPLINE_VENV:-$REPO/benchmarks/.venv-zipline}" \
    "$HERE/requirements.txt" "import zipline, bcolz" \
    'import exchange_calendars, numpy, pandas, zipline
print(f"zipline-reloaded {zipline.__version__}, pandas {pandas.__version__}, "
      f"numpy {numpy.__version__}, exchange_calendars {exchange_calendars.__version__}")' \
    "zipline-reloaded 3.2.1 wheels need CPython 3.11-3.13"
