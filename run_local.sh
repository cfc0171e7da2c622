#!/usr/bin/env bash
# recogenre on this machine. The first use creates .venv in this checkout and
# installs the project into it (editable, versions from requirements.lock);
# later uses reinstall only when setup.py or requirements.lock changed.
#
#   ./run_local.sh DIR [OUT] [options]   tag the audio under DIR with the DirectRunner on
#                                        all cores; results in OUT (default ./output)
#   ./run_local.sh test [pytest args]    lint (ruff) and run the test suite
#   ./run_local.sh bench [--sets ...]    the benchmark (figures, no assertions; ~15 minutes)
#   ./run_local.sh recogenre ARGS...     any recogenre command, e.g. classify FILE
# Schedulers (cron, systemd) should call .venv/bin/recogenre directly: it never installs.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"

pick_python() {
  if [[ -n "${PYTHON:-}" ]]; then echo "$PYTHON"; return; fi
  for candidate in python3.11 python3.12 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then echo "$candidate"; return; fi
  done
  echo "run_local.sh: no python3 found (Python 3.11 or 3.12 is needed)" >&2
  exit 2
}

setup() {
  local stamp="$VENV/.recogenre-installed" want
  want="$(cat "$HERE/setup.py" "$HERE/requirements.lock" | sha256sum | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then return; fi
  echo "run_local.sh: installing recogenre into $VENV (first use only)" >&2
  [[ -x "$VENV/bin/python" ]] || "$(pick_python)" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -c "$HERE/requirements.lock" -e "$HERE[test,keras,int8]"
  echo "$want" >"$stamp"
}

usage() {
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
}

case "${1:-}" in
  -h | --help)
    usage
    exit 0
    ;;
  "")
    usage >&2
    exit 2
    ;;
  test)
    shift
    setup
    cd "$HERE"
    "$VENV/bin/ruff" check .
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  recogenre)
    shift
    setup
    exec "$VENV/bin/recogenre" "$@"
    ;;
  bench)
    shift
    setup
    cd "$HERE"
    exec "$VENV/bin/python" benchmarks/benchmark.py "$@"
    ;;
  *)
    catalogue="$1"
    shift
    out="./output"
    if [[ $# -gt 0 && "$1" != -* ]]; then
      out="$1"
      shift
    fi
    setup
    exec "$VENV/bin/recogenre" run --catalogue "$catalogue" --output "$out" \
      --direct_running_mode=multi_processing --direct_num_workers=0 "$@"
    ;;
esac
