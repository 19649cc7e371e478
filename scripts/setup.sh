#!/usr/bin/env bash
# setup.sh - install Vigil's build dependencies (Debian 12) and build it
#
# Idempotent: installs only the Debian packages that are missing (checked
# with dpkg -s; apt-get update runs only when something is missing), then
# configures and builds into build/ (RelWithDebInfo, warnings as errors).
# Run as root on a fresh machine, or as a user when everything is there.
#
#   bash scripts/setup.sh              # install what is missing + build
#   VIGIL_SETUP_OPTIONAL=1 bash ...    # also clang, valgrind and gcovr
#                                      # (asan/tsan/fuzz, memcheck,
#                                      # coverage presets)
#   VIGIL_SETUP_NO_BUILD=1 bash ...    # install only
#
# Exit status: 0 ready, 1 the build failed, 2 packages could not be
# installed.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build: compiler, CMake, pkg-config and the libraries the code links
# (libjansson for vigilctl; libmicrohttpd, libcurl and OpenSSL for the
# witness, the Shopify bridge and the fast SHA-256; zlib for vigil-replay). Tests: python3 with zmq and msgpack for the
# integration scenarios, python3-cryptography (Ed25519) for the witness's
# independent interop client, lmdb-utils, and the linters of the lint.* tests
# (clang-format, cppcheck, clang-tidy).
PKGS=(build-essential cmake pkg-config
      libzmq3-dev libmsgpack-dev liblmdb-dev libsodium-dev
      libjansson-dev libmicrohttpd-dev libcurl4-openssl-dev libssl-dev
      zlib1g-dev
      python3 python3-zmq python3-msgpack python3-cryptography lmdb-utils
      clang-format cppcheck clang-tidy)
if [ "${VIGIL_SETUP_OPTIONAL:-0}" = 1 ]; then
    PKGS+=(clang valgrind gcovr)
fi

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg -s "$p" >/dev/null 2>&1; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    SUDO=()
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            SUDO=(sudo)
        else
            echo "setup: missing packages (${missing[*]}) and not root" >&2
            exit 2
        fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    if ! "${SUDO[@]}" apt-get update -q ||
       ! "${SUDO[@]}" apt-get install -y -q --no-install-recommends \
            "${missing[@]}"; then
        echo "setup: apt-get could not install ${missing[*]}" >&2
        exit 2
    fi
else
    echo "setup: all ${#PKGS[@]} packages present"
fi

# The tests and examples run with the system python3 (not a pyenv one).
if ! /usr/bin/python3 -c 'import zmq, msgpack' 2>/dev/null; then
    echo "setup: /usr/bin/python3 cannot import zmq and msgpack" >&2
    exit 2
fi

if [ "${VIGIL_SETUP_NO_BUILD:-0}" = 1 ]; then
    exit 0
fi

echo "setup: building into build/"
if ! cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DVIGIL_WERROR=ON >/dev/null; then
    echo "setup: cmake configure failed" >&2
    exit 1
fi
if ! cmake --build build -j2; then
    echo "setup: build failed" >&2
    exit 1
fi
echo "setup: built $(cd build/bin && echo *)"
