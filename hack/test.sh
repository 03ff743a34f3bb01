#!/usr/bin/env bash
# The test command (README, .ci/run): on a fresh Debian machine, install what the tests need,
# start a registry on a free loopback port, run fmt, clippy and the tests, stop what was started.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*" >&2; }

# --- tools the tests drive for real: Debian's docker-registry (distribution 2.8), skopeo, git, GNU patch,
# Chromium.
missing=()
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v skopeo >/dev/null || missing+=(skopeo)
command -v git >/dev/null || missing+=(git)
command -v patch >/dev/null || missing+=(patch)
# The terminal progress test runs sync inside a real terminal.
command -v tmux >/dev/null || missing+=(tmux)
# GitHub's markdown renderer: the markdown outputs are rendered by it in the hostile-input tests.
command -v cmark-gfm >/dev/null || missing+=(cmark-gfm)
# Headless Chromium for the status page tests (tests/status_page.rs), with a font to render.
command -v chromium >/dev/null || [ -x /usr/lib/chromium/chromium ] || missing+=(chromium fonts-dejavu-core)
# The Python RHDH installer of the oracle tests (checked and completed below).
command -v python3 >/dev/null || missing+=(python3 python3-yaml)
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- the real exporter for the end-to-end test: @red-hat-developer-hub/cli and Yarn 1 from the
# npm registry, installed once into a cache that later runs reuse (about 70 s and 1.4 GB the
# first time), with Yarn's and npm's download caches beside them.
cache=${RHDH_CATALOG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rhdh-catalog}
if ! command -v npm >/dev/null; then
  log "installing nodejs and npm"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
export npm_config_cache=$cache/npm-cache YARN_CACHE_FOLDER=$cache/yarn-cache
if [ ! -x "$cache/tools/rhdh-cli/node_modules/.bin/rhdh-cli" ]; then
  log "installing @red-hat-developer-hub/cli@1.9.1 into $cache/tools"
  npm install --silent --no-audit --no-fund --prefix "$cache/tools/rhdh-cli" @red-hat-developer-hub/cli@1.9.1
fi
if [ ! -x "$cache/tools/yarn/node_modules/.bin/yarn" ]; then
  npm install --silent --no-audit --no-fund --prefix "$cache/tools/yarn" yarn@1.22.22
fi
if [ ! -x "$cache/tools/tekton-lint/node_modules/.bin/tekton-lint" ]; then
  npm install --silent --no-audit --no-fund --prefix "$cache/tools/tekton-lint" @ibm/tekton-lint@1.1.0
fi
export RHDH_CATALOG_REAL_EXPORTER=$cache/tools/rhdh-cli/node_modules/.bin/rhdh-cli
export PATH=$cache/tools/yarn/node_modules/.bin:$PATH

# --- the real RHDH installers the oracle tests run (tests/oracles/rhdh-installers): the TypeScript
# bundle needs node 20 or newer; the Python one needs Python 3.11.4 or newer (tarfile extraction
# filters: Debian 12's python3 is 3.11.2 and cannot run it) with PyYAML. The tests call
# RHDH_CATALOG_TEST_PYTHON with RHDH_CATALOG_TEST_PYTHONPATH.
node_major=$(node --version | sed -e 's/^v//' -e 's/\..*//')
if [ "$node_major" -lt 20 ]; then
  echo "install-dynamic-plugins.cjs needs node 20 or newer, $(command -v node) is $(node --version)" \
    "(Debian 12 ships 18: use Debian 13 or NodeSource's nodejs)" >&2
  exit 1
fi
python_can_install() { "$1" -c 'import sys, tarfile; sys.exit(not hasattr(tarfile, "data_filter"))' 2>/dev/null; }
python=${RHDH_CATALOG_TEST_PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3 python3.13 python3.12; do
    if command -v "$candidate" >/dev/null && python_can_install "$candidate"; then
      python=$candidate
      break
    fi
  done
fi
if [ -z "$python" ] || ! python_can_install "$python"; then
  echo "install-dynamic-plugins.py needs Python 3.11.4 or newer (tarfile extraction filters);" \
    "${python:-python3} here is $("${python:-python3}" --version 2>&1) (Debian 12 ships 3.11.2): use Debian 13, or set" \
    "RHDH_CATALOG_TEST_PYTHON to a newer interpreter (pyenv)" >&2
  exit 1
fi
# The interpreter itself, not a pyenv shim: the tests run the installer with a scratch HOME.
python=$("$python" -c 'import sys; print(sys.executable)')
if ! "$python" -c 'import yaml' 2>/dev/null; then
  if [ "$("$python" -c 'import sys; print(sys.prefix)')" = /usr ]; then
    # Debian's own interpreter: its packages come from apt (pip refuses, PEP 668).
    log "installing python3-yaml"
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends python3-yaml >/dev/null
  else
    # pyenv, a venv or a self-built Python: PyYAML from PyPI, once, into the cache.
    if ! PYTHONPATH=$cache/tools/pyyaml "$python" -c 'import yaml' 2>/dev/null; then
      log "installing PyYAML 6.0.3 from PyPI into $cache/tools/pyyaml"
      "$python" -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
        --target "$cache/tools/pyyaml" PyYAML==6.0.3
    fi
    export RHDH_CATALOG_TEST_PYTHONPATH=$cache/tools/pyyaml
  fi
fi
export RHDH_CATALOG_TEST_PYTHON=$python

# The Debian package may start its own service on :5000 with a config we do not use; tests
# always run their own registries on free ports.

# --- one registry for the whole run on a free loopback port (tests that need special setups,
# such as authentication, start their own).
scratch=$(mktemp -d)
registry_pid=
cleanup() {
  local status=$?
  if [ -n "$registry_pid" ]; then
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
  fi
  rm -rf "$scratch"
  exit "$status"
}
trap cleanup EXIT

free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  echo "no free port found" >&2
  return 1
}
port=$(free_port)
cat >"$scratch/registry.yml" <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $scratch/registry}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
YAML
docker-registry serve "$scratch/registry.yml" >"$scratch/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 1 200); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.05
done
export RHDH_CATALOG_TEST_REGISTRY=127.0.0.1:$port
log "registry on $RHDH_CATALOG_TEST_REGISTRY"

log "cargo fmt --check"
cargo fmt --check

log "cargo clippy --all-targets -D warnings"
cargo clippy --all-targets --quiet -- -D warnings

log "cargo deny (deny.toml): licenses, bans, sources"
deny=$cache/tools/cargo-deny/bin/cargo-deny
if [ ! -x "$deny" ]; then
  log "installing cargo-deny 0.20.2 into $cache/tools (about 3 minutes on 2 cores, once)"
  cargo install --locked --quiet --root "$cache/tools/cargo-deny" cargo-deny@0.20.2
fi
"$deny" --log-level error check licenses bans sources
# The RustSec advisory database lives on github.com; where that is unreachable (this project's CI
# machines reach only crates.io, PyPI, npm and Debian) the check cannot run, and says so loudly.
if timeout 20 git ls-remote https://github.com/RustSec/advisory-db HEAD >/dev/null 2>&1; then
  log "cargo deny: advisories"
  "$deny" --log-level error check advisories
else
  log "cargo deny: advisories NOT CHECKED: the RustSec database on github.com is unreachable from this machine"
fi

log "tekton-lint (config and the rules it cannot get right: .tektonlintrc.yaml)"
"$cache/tools/tekton-lint/node_modules/.bin/tekton-lint" --config . 'tekton/task/**/*.yaml' 'tekton/pipeline/**/*.yaml'

log "tests (with the ignored real-exporter test)"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --no-fail-fast --run-ignored all
  # nextest does not run doctests; there are none in a binary crate, but keep the lib honest.
  cargo test --doc --quiet
else
  cargo test --no-fail-fast -- --include-ignored
fi

log "bundled example: sync twice (the second run must be a no-op)"
hack/example.sh --fresh >/dev/null
hack/example.sh >"$scratch/example.txt"
cat "$scratch/example.txt" >&2
grep -q '^commit:    unchanged' "$scratch/example.txt" || { echo "the second sync was not a no-op" >&2; exit 1; }
log "all checks passed"
