#!/usr/bin/env bash
# Installs everything Tunewatch needs on a fresh Debian machine: system packages (Prometheus,
# Alertmanager, promtool), a virtualenv with the project, its demo model and its test tools.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

need_apt=()
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
{ command -v prometheus-alertmanager >/dev/null 2>&1 || command -v alertmanager >/dev/null 2>&1; } \
  || need_apt+=(prometheus-alertmanager)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing system packages: ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${need_apt[@]}" >/dev/null
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install --upgrade pip
# CPU build of torch first (an unpinned torch would pull a multi-GB CUDA build).
"${PIP[@]}" install torch==2.13.0
# llama-cpp-python compiles from source the first time (~10 min on 2 cores; pip caches the wheel).
"${PIP[@]}" install -e '.[dev,demo]'
# Helm's Go library for chart linting; declares Python >= 3.12 but works on 3.11.
"${PIP[@]}" install --ignore-requires-python 'helm-sdkpy==0.1.32'
touch "$VENV/.installed"
echo "installed into $VENV"
