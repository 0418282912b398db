#!/usr/bin/env bash
# renovo and Casanovo measured side by side (training speed, time to accuracy, decoding speed).
#
#   bash benchmarks/peers/casanovo/run.sh [--minutes 30] [--out DIR] [other harness.py options]
#
# Installs Casanovo into its own virtual environment (CASANOVO_VENV, default
# benchmarks/peers/casanovo/.venv-casanovo), builds spectrum_utils' Unimod cache
# offline from psims' Unimod table, and runs harness.py with renovo's Python
# (RENOVO_PYTHON; default: the repository's .venv, else a new
# benchmarks/peers/casanovo/.venv-renovo). TORCH_SPEC is the torch requirement
# installed into new environments (default torch==2.13.0; a GPU machine sets its
# own CUDA build). Nothing is downloaded at run time; package installs use pip's
# configured index.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
CASANOVO_VENV="${CASANOVO_VENV:-$HERE/.venv-casanovo}"
CACHE_HOME="${HARNESS_CACHE_HOME:-$HERE/.cache}"

stamp_of() { sha256sum "$HERE/requirements.txt" | cut -c1-16; echo "$TORCH_SPEC"; }

if [[ ! -x "$CASANOVO_VENV/bin/python" ]] || [[ "$(cat "$CASANOVO_VENV/.harness-installed" 2>/dev/null)" != "$(stamp_of)" ]]; then
    echo "installing Casanovo into $CASANOVO_VENV (a few minutes)"
    python3 -m venv "$CASANOVO_VENV"
    "$CASANOVO_VENV/bin/pip" install -q "$TORCH_SPEC"
    "$CASANOVO_VENV/bin/pip" install -q -r "$HERE/requirements.txt"
    stamp_of > "$CASANOVO_VENV/.harness-installed"
fi

if [[ -n "${RENOVO_PYTHON:-}" ]]; then
    :
elif [[ -x "$ROOT/.venv/bin/python" ]] && "$ROOT/.venv/bin/python" -c "import renovo" 2>/dev/null; then
    RENOVO_PYTHON="$ROOT/.venv/bin/python"
else
    if [[ ! -x "$HERE/.venv-renovo/bin/python" ]]; then
        echo "installing renovo into $HERE/.venv-renovo"
        python3 -m venv "$HERE/.venv-renovo"
        "$HERE/.venv-renovo/bin/pip" install -q "$TORCH_SPEC"
        "$HERE/.venv-renovo/bin/pip" install -q -e "$ROOT"
    fi
    RENOVO_PYTHON="$HERE/.venv-renovo/bin/python"
fi

XDG_CACHE_HOME="$CACHE_HOME" "$CASANOVO_VENV/bin/python" "$HERE/unimod_cache.py"
exec "$RENOVO_PYTHON" "$HERE/harness.py" --casanovo-python "$CASANOVO_VENV/bin/python" --cache-home "$CACHE_HOME" "$@"
