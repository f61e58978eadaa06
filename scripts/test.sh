#!/usr/bin/env bash
# Sets up a virtual environment and runs the whole test suite (README's second command).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q -e '.[test]'
exec .venv/bin/python -m pytest -n 2 --doctest-modules catalog configurator bom tests "$@"
