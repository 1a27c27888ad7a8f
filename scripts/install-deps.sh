#!/usr/bin/env bash
# Install what the build and the kazoo compatibility suite need; safe to run again.
#   - Debian packages: kazoo 2.8.0 and its test dependencies, Apache ZooKeeper 3.8.0, the Jetty,
#     servlet and Jackson jars its AdminServer loads (the admin server is compared with it),
#     Prometheus (the server and promtool), chromium (the web console's browser test), Apache Curator
#     (apt is skipped when all of them are already installed)
#   - npm ci && npm run build in the repo root
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
PACKAGES=(
  python3-kazoo python3-pytest python3-pytest-timeout python3-mock python3-objgraph
  python3-gevent python3-eventlet python3-pure-sasl zookeeper zookeeper-bin
  libjetty9-java libservlet-api-java libjackson2-databind-java prometheus chromium
  openssl # test certificates for the TLS tests (keytool comes with zookeeper's JRE)
  libcurator-client-java libcurator-framework-java libcurator-recipes-java # Apache Curator 5.4 (test/compat/curator.test.ts)
)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ $status == installed ]] || missing+=("$p")
done

if (( ${#missing[@]} == 0 )); then
  echo "install-deps: Debian packages already installed"
else
  echo "install-deps: installing ${missing[*]}"
  SUDO=()
  if (( EUID != 0 )); then
    command -v sudo >/dev/null || { echo "install-deps: need root or sudo for apt-get" >&2; exit 1; }
    SUDO=(sudo)
  fi
  "${SUDO[@]}" apt-get update
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${PACKAGES[@]}"
fi

cd -- "$ROOT"
npm ci
npm run build
