#!/usr/bin/env bash
# Installs everything Tunewatch needs on a fresh Debian machine: system packages (Prometheus,
# Alertmanager, promtool, nginx, chromium), a virtualenv with the project, its demo model and its
# test tools, then checks that the embedded model answers one completion.
#
# llama-cpp-python is compiled here, portably: never with -march=native (on a CPU with AMX that
# build faults on `ldtilecfg` at the first completion), only with instruction sets this machine
# reports, and into a wheel directory keyed on the version and the exact CMake flags, so a wheel
# built with other flags (pip's own wheel cache ignores CMAKE_ARGS) is never picked up.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
# The pin in pyproject.toml's demo extra is the one version this script builds.
LLAMA_CPP_VERSION="$(sed -n 's/.*"llama-cpp-python\[server\]==\([0-9.]*\)".*/\1/p' pyproject.toml)"
[ -n "$LLAMA_CPP_VERSION" ] || { echo "no llama-cpp-python pin in pyproject.toml" >&2; exit 1; }
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/tunewatch"

need_apt=()
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
{ command -v prometheus-alertmanager >/dev/null 2>&1 || command -v alertmanager >/dev/null 2>&1; } \
  || need_apt+=(prometheus-alertmanager)
command -v objdump >/dev/null 2>&1 || need_apt+=(binutils)
# the evidence pack's browser test (headless chromium over DevTools) and its screenshot font
{ command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; } \
  || need_apt+=(chromium)
{ command -v fc-list >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "DejaVu Sans"; } \
  || need_apt+=(fonts-dejavu-core)
# minisign interoperability of the verified artefacts (signatures made by the real tool)
command -v minisign >/dev/null 2>&1 || need_apt+=(minisign)
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

# --- llama-cpp-python, portable -------------------------------------------------------------
cpu_has() { grep -qw "$1" /proc/cpuinfo; }
cmake_args="-DGGML_NATIVE=OFF -DGGML_CPU_ALL_VARIANTS=OFF -DGGML_BACKEND_DL=OFF"
cmake_args+=" -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF"
cmake_args+=" -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DGGML_AVX_VNNI=OFF"
if [ "$(uname -m)" = "x86_64" ]; then
  # The x86-64-v3 level (AVX2, FMA, F16C) where the CPU has all of it, else AVX, else SSE only.
  if cpu_has avx2 && cpu_has fma && cpu_has f16c; then
    cmake_args+=" -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
    cpu_has bmi2 && cmake_args+=" -DGGML_BMI2=ON"
  elif cpu_has avx; then
    cmake_args+=" -DGGML_AVX=ON -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF"
  else
    cmake_args+=" -DGGML_AVX=OFF -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF"
  fi
fi
key="$(printf '%s|%s|%s' "$LLAMA_CPP_VERSION" "$cmake_args" "$("$VENV/bin/python" -c \
  'import sys, sysconfig; print(sys.version_info[:2], sysconfig.get_platform())')" \
  | sha256sum | cut -c1-16)"
wheel_dir="$CACHE_ROOT/wheels/llama-cpp-python-$LLAMA_CPP_VERSION-$key"
installed="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("llama-cpp-python"))' \
  2>/dev/null || true)"
stamp="$VENV/.llama-cpp-key"
if [ "$installed" != "$LLAMA_CPP_VERSION" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$key" ]; then
  if ! ls "$wheel_dir"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "compiling llama-cpp-python $LLAMA_CPP_VERSION portably (4-10 min on 2 cores):"
    echo "  CMAKE_ARGS=$cmake_args"
    tmp_dir="$(mktemp -d "${TMPDIR:-/tmp}/tw-llama-wheel.XXXXXX")"
    CMAKE_ARGS="$cmake_args" FORCE_CMAKE=1 "${PIP[@]}" wheel --no-cache-dir --no-deps \
      --no-binary llama-cpp-python "llama-cpp-python==$LLAMA_CPP_VERSION" -w "$tmp_dir"
    mkdir -p "$wheel_dir"
    mv "$tmp_dir"/llama_cpp_python-*.whl "$wheel_dir"/
    printf '%s\n' "$cmake_args" > "$wheel_dir/CMAKE_ARGS"
    rm -rf "$tmp_dir"
  fi
  whl="$(ls "$wheel_dir"/llama_cpp_python-*.whl | head -1)"
  "${PIP[@]}" uninstall -y llama-cpp-python >/dev/null 2>&1 || true
  "${PIP[@]}" install --no-cache-dir "$whl[server]"
  printf '%s\n' "$key" > "$stamp"
fi

# The project; llama-cpp-python is already satisfied by the portable build above.
"${PIP[@]}" install -e '.[dev,demo,lab,otel]'
# Helm's Go library for chart linting; declares Python >= 3.12 but works on 3.11.
"${PIP[@]}" install --ignore-requires-python 'helm-sdkpy==0.1.32'

# No instruction the CPU lacks in the compiled kernels, and one real completion.
HF_HUB_OFFLINE=1 "$VENV/bin/tunewatch" doctor
touch "$VENV/.installed"
echo "installed into $VENV"
