#!/usr/bin/env bash
# deps.sh WHAT -- make sure the Debian packages a make target needs are here.
# As root with apt-get it installs what is missing; otherwise it prints the
# exact command to run and fails.
#   WHAT: test | demo | bench | model
#   (model: spin, the Promela model checker of tests/model, and gcc for its
#   verifiers)
#
# `test` also wants, for the consumer test (tests/consumers: CMake, Meson),
# cmake, meson and ninja-build; for the C Lambda runtime's tests,
# libcurl4-openssl-dev, libpq-dev, libsqlite3-dev, python3, zip and unzip (the
# deployment zip); and for the 32-bit (-m32) configurations of the matrix, on
# an amd64 host: gcc-multilib, g++-multilib (tests/cxx's -m32 C++ units), the
# i386 architecture and libcmocka-dev:i386, and qemu-user when this kernel
# cannot run i386 binaries itself.  Those are optional: if they cannot be
# installed (not root, no network) deps.sh says so and succeeds, and
# tests/run_all.sh reports the consumer builds, the Lambda tests or the -m32
# configurations SKIPPED with the reason.
set -u
what=${1:-test}
need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
case "$what" in
  test)  pkgs="make gcc g++ clang libclang-rt-14-dev libcmocka-dev pkg-config valgrind" ;;
  demo)  pkgs="make gcc libsqlite3-dev" ;;
  bench) pkgs="make gcc g++ valgrind pkg-config libglib2.0-dev libabsl-dev gnuplot-nox binutils" ;;
  model) pkgs="make gcc spin" ;;
  *) echo "deps.sh: unknown target '$what'" >&2; exit 2 ;;
esac
if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "deps.sh: not a Debian system; make sure these are installed: $pkgs" >&2
  [ "$what" = test ] && echo "deps.sh: and, for the -m32 configurations, gcc multilib and a 32-bit cmocka" >&2
  exit 0
fi
can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
export DEBIAN_FRONTEND=noninteractive
updated=0
apt_update() { # once per run; a partly failed update (a mirror mid-sync) is not fatal: the install decides
  [ "$updated" = 1 ] && return 0; updated=1
  apt-get update -q >/dev/null 2>&1 || echo "deps.sh: warning: apt-get update reported errors; trying the install anyway" >&2
}

for p in $pkgs; do have_pkg "$p" || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  if can_apt; then
    echo "deps.sh: installing ${need[*]}"
    apt_update
    apt-get install -y -q "${need[@]}" >/dev/null || {
      echo "deps.sh: apt-get install ${need[*]} failed" >&2; exit 1; }
  else
    echo "deps.sh: missing packages: ${need[*]}" >&2
    echo "deps.sh: run:  sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi
[ "$what" = test ] || exit 0

# --- optional: the consumer test (tests/consumers/run.sh) -----------------------
# memo built into a program by CMake (find_package, add_subdirectory,
# FetchContent) and Meson (a subproject); pkg-config is required above.
# Checked by command as well as by package: a cmake or meson from elsewhere
# (pip, a tarball) does as well.
consumers_need=()
command -v cmake >/dev/null 2>&1 || have_pkg cmake || consumers_need+=(cmake)
command -v meson >/dev/null 2>&1 || have_pkg meson || consumers_need+=(meson)
command -v ninja >/dev/null 2>&1 || have_pkg ninja-build || consumers_need+=(ninja-build)
if [ ${#consumers_need[@]} -gt 0 ]; then
  if can_apt; then
    echo "deps.sh: installing ${consumers_need[*]} (the consumer test: CMake and Meson builds)"
    apt_update
    apt-get install -y -q "${consumers_need[@]}" >/dev/null ||
      echo "deps.sh: warning: apt-get install ${consumers_need[*]} failed; those consumer builds will be SKIPPED" >&2
  else
    echo "deps.sh: warning: missing ${consumers_need[*]}; those consumer builds will be SKIPPED (sudo apt-get install -y ${consumers_need[*]})" >&2
  fi
fi

# --- optional: the C Lambda runtime's hostile-API test ---------------------------
# tests/run_all.sh builds examples/lambda/bootstrap and runs it against a fake
# Runtime API (python3), and packs and checks its deployment zip (zip, unzip,
# binutils); without these it reports those tests SKIPPED.
lambda_need=()
for p in libcurl4-openssl-dev libpq-dev libsqlite3-dev python3 binutils zip unzip; do have_pkg "$p" || lambda_need+=("$p"); done
if [ ${#lambda_need[@]} -gt 0 ]; then
  if can_apt; then
    echo "deps.sh: installing ${lambda_need[*]} (the Lambda runtime test)"
    apt_update
    apt-get install -y -q "${lambda_need[@]}" >/dev/null ||
      echo "deps.sh: warning: apt-get install ${lambda_need[*]} failed; the Lambda runtime test will be SKIPPED" >&2
  else
    echo "deps.sh: warning: missing ${lambda_need[*]}; the Lambda runtime test will be SKIPPED (sudo apt-get install -y ${lambda_need[*]})" >&2
  fi
fi

# --- optional: musl (memo.h must build without kernel headers) -----------------
if ! have_pkg musl-tools; then
  if can_apt; then
    echo "deps.sh: installing musl-tools (the musl build of the header)"
    apt_update
    apt-get install -y -q musl-tools >/dev/null ||
      echo "deps.sh: warning: apt-get install musl-tools failed; the musl build will be SKIPPED" >&2
  else
    echo "deps.sh: warning: musl-tools missing; the musl build will be SKIPPED (sudo apt-get install -y musl-tools)" >&2
  fi
fi

# --- optional: the 32-bit configurations ---------------------------------------
m32_warn() { echo "deps.sh: warning: $1; the -m32 configurations will be SKIPPED" >&2; exit 0; }
[ "$(dpkg --print-architecture)" = amd64 ] || m32_warn "-m32 needs an amd64 host, this is $(dpkg --print-architecture)"
m32_need=()
for p in gcc-multilib g++-multilib libcmocka-dev:i386; do have_pkg "$p" || m32_need+=("$p"); done
if [ ${#m32_need[@]} -gt 0 ]; then
  if ! can_apt; then
    echo "deps.sh: for the -m32 configurations run:  sudo dpkg --add-architecture i386 && sudo apt-get update && sudo apt-get install -y ${m32_need[*]}" >&2
    m32_warn "missing ${m32_need[*]}"
  fi
  if ! dpkg --print-foreign-architectures | grep -qx i386; then
    echo "deps.sh: adding the i386 architecture (dpkg --add-architecture i386)"
    dpkg --add-architecture i386 || m32_warn "dpkg --add-architecture i386 failed"
    updated=0   # the i386 package lists are not there yet
  fi
  echo "deps.sh: installing ${m32_need[*]}"
  apt_update
  apt-get install -y -q "${m32_need[@]}" >/dev/null || m32_warn "apt-get install ${m32_need[*]} failed"
fi

# Can this kernel run an i386 binary?  (Some VMs lack the 32-bit syscall entry
# and answer "Exec format error".)  If not, run_all.sh runs them under qemu-i386.
tmp=$(mktemp -d) || exit 0
trap 'rm -rf "$tmp"' EXIT
printf 'int main(void) { return 0; }\n' >"$tmp/p.c"
gcc -m32 "$tmp/p.c" -o "$tmp/p" 2>/dev/null || m32_warn "gcc -m32 cannot link a program"
if ! "$tmp/p" 2>/dev/null && ! command -v qemu-i386 >/dev/null 2>&1; then
  if can_apt; then
    echo "deps.sh: this kernel cannot run i386 binaries; installing qemu-user (qemu-i386)"
    apt_update
    apt-get install -y -q --no-install-recommends qemu-user >/dev/null || m32_warn "apt-get install qemu-user failed"
  else
    echo "deps.sh: this kernel cannot run i386 binaries; for the -m32 configurations run:  sudo apt-get install -y --no-install-recommends qemu-user" >&2
    m32_warn "qemu-user is missing"
  fi
fi
exit 0
