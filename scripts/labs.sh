#!/usr/bin/env bash
# Open the lambdalab labs in JupyterLab on a fresh machine.
#
#   bash scripts/labs.sh                          # opens labs/00_start_here.ipynb in your browser
#   bash scripts/labs.sh --no-browser --port 8899 # extra arguments go to `jupyter lab`
#
# Creates .venv (python3 -m venv; PYTHON=... picks another interpreter, 3.11+) if it is missing,
# installs lambdalab into it in editable mode, then starts JupyterLab from it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1

PYTHON="${PYTHON:-python3}"
VENV="${LAMBDALAB_VENV:-.venv}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || { echo "labs.sh: lambdalab needs Python 3.11+, $PYTHON is $("$PYTHON" -V 2>&1)" >&2; exit 1; }
    echo "labs.sh: creating $VENV with $("$PYTHON" -V 2>&1)"
    "$PYTHON" -m venv "$VENV"
fi
echo "labs.sh: installing lambdalab into $VENV"
# (the grep drops pip's notes about optional local indexes that do not hold a package)
"$VENV/bin/python" -m pip install --progress-bar off -q -e . 2>&1 \
    | { grep -v 'is ignored: it is neither a file nor a directory' || true; }

extra=()
if [ "$(id -u)" = 0 ]; then extra+=(--allow-root); fi   # Jupyter refuses root without it
# Serve the whole checkout (as Binder does) and open the first lab. (`jupyter lab FILE` would make
# the file's folder the root, so paths in the labs' text would differ from Binder's.)
start=(--ServerApp.root_dir="$PWD")
if [ -f labs/00_start_here.ipynb ]; then start+=(--LabApp.default_url=/lab/tree/labs/00_start_here.ipynb); fi
# ${a[@]+"${a[@]}"}: empty arrays are fine under `set -u`, even in macOS's bash 3.2
exec "$VENV/bin/python" -m jupyterlab ${extra[@]+"${extra[@]}"} "${start[@]}" "$@"
