#!/usr/bin/env bash
# Installs what building and testing pikoci needs on a Debian machine:
# the wasm32-wasip2 toolchain for the built-in plugins and the real servers the tests start.
# Safe to run again: apt-get skips what is already there.
set -euo pipefail

packages=(
  # Debian's rustc knows wasm32-wasip2 and ships wasm-component-ld; used when rustup has no wasm target.
  rustc-web cargo-web rust-web-src wasi-libc lld
  # real parts the tests drive
  git docker-registry skopeo apache2-utils
  # the built-in docker runner's tests (podman with runc; a busybox image imported from busybox-static)
  podman runc busybox-static
  # the packaging tests: a clean Debian root to install the .deb into, rpm to read the .rpm
  debootstrap rpm
  # the built-in service types' servers and the clients their tests connect with
  postgresql redis-server redis-tools nats-server mariadb-server mariadb-client
  # schemathesis, which fuzzes the API from its OpenAPI spec, lives in a venv
  python3-venv
  # the masking test prints a secret the way `xxd -p` does
  xxd
  # the server confines the programs plugins start with bubblewrap (--task-sandbox)
  bubblewrap
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# schemathesis (PyPI) in a venv of the project's: the API fuzz test runs it against a real server.
SCHEMATHESIS=4.32.5
venv="$(cd "$(dirname "$0")/.." && pwd)/target/tools/schemathesis"
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS"; then
  echo "installing schemathesis $SCHEMATHESIS into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS"
fi
