#!/usr/bin/env bash
# deps.sh WHAT -- make sure the Debian packages a make target needs are here.
# As root with apt-get it installs what is missing; otherwise it prints the
# exact command to run and fails.
#   WHAT: test | demo | bench
set -u
what=${1:-test}
need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
case "$what" in
  test)  pkgs="make gcc g++ clang libclang-rt-14-dev libcmocka-dev pkg-config valgrind" ;;
  demo)  pkgs="make gcc libsqlite3-dev" ;;
  bench) pkgs="make gcc valgrind" ;;
  *) echo "deps.sh: unknown target '$what'" >&2; exit 2 ;;
esac
if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "deps.sh: not a Debian system; make sure these are installed: $pkgs" >&2
  exit 0
fi
for p in $pkgs; do have_pkg "$p" || need+=("$p"); done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "deps.sh: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null || {
    echo "deps.sh: apt-get install ${need[*]} failed" >&2; exit 1; }
  exit 0
fi
echo "deps.sh: missing packages: ${need[*]}" >&2
echo "deps.sh: run:  sudo apt-get install -y ${need[*]}" >&2
exit 1
