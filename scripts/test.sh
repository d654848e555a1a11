#!/usr/bin/env bash
# Run every lambdalab test on a fresh machine (this is what CI runs, through .ci/run).
#
#   bash scripts/test.sh            # extra arguments go to the first pytest run (tests/)
#
# 1. ensures .venv (python3 -m venv; PYTHON=... picks another interpreter, 3.11+) and
#    installs lambdalab with its test extras into it (editable);
# 2. installs Debian's Chromium for the browser tests if /usr/bin/chromium is missing and
#    we are root (Playwright drives it; we never run `playwright install`);
# 3. runs `pytest -q tests/` (unit, property, packaging, Binder and browser tests); the Binder
#    test builds a fresh venv from binder/ alone and runs every notebook under labs/ with nbval
#    there, so the notebooks run once, in the environment learners get.
# Exits non-zero if any step fails.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off PYTHONDONTWRITEBYTECODE=1
export DEBIAN_FRONTEND=noninteractive

PYTHON="${PYTHON:-python3}"
VENV="${LAMBDALAB_VENV:-.venv}"
T0=$SECONDS
say() { echo "test.sh [+$((SECONDS - T0))s]: $*"; }
die() { say "FAILED: $*"; exit 1; }

# ---- 1. the venv
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "lambdalab needs Python 3.11+, $PYTHON is $("$PYTHON" -V 2>&1)"
    say "creating $VENV with $("$PYTHON" -V 2>&1)"
    "$PYTHON" -m venv "$VENV" || die "python -m venv $VENV"
fi
PY="$VENV/bin/python"
say "installing lambdalab[test] into $VENV"
# (the grep drops pip's notes about optional local indexes that do not hold a package)
"$PY" -m pip install --progress-bar off -q -e '.[test]' 2>&1 \
    | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
[ "${PIPESTATUS[0]}" = 0 ] || die "pip install -e '.[test]'"

# ---- 2. Chromium for tests/browser
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing Debian's chromium (apt-get)"
        { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
            || say "WARNING: apt-get install chromium failed; the browser tests will not pass"
    else
        say "WARNING: /usr/bin/chromium is missing and we are not root: browser tests will skip (fail under CI=true)"
    fi
fi

# ---- 3. the test suite
LOGDIR="$(mktemp -d)"; trap 'rm -rf "$LOGDIR"' EXIT
summary() { grep -E '^=*[ ]*[0-9]+ (passed|failed|error|errors|skipped|deselected|xfailed|xpassed)|no tests ran' "$1" | tail -1; }

say "pytest tests/"
timeout -k 60 --signal=INT 1800 "$PY" -m pytest -q tests/ "$@" 2>&1 | tee "$LOGDIR/tests.log"
rc_tests=${PIPESTATUS[0]}
say "pytest tests/ exited $rc_tests"

# ---- 4. the notebooks
# They run once, inside step 3: tests/test_binder.py builds the Binder environment from binder/ alone and runs
# every notebook under labs/ (labs and solutions) with nbval in it, as a learner on Binder gets them.

say "done in $((SECONDS - T0))s: tests rc=$rc_tests; pytest summary:"
summary "$LOGDIR/tests.log"
[ "$rc_tests" = 0 ]
