#!/usr/bin/env bash
# run.sh -- memo as its users take it: the tiny program consumer.c (a MEMOIZE
# getter, checked at run time) built and run each way, outside the repository,
# in a scratch directory:
#   a  make install PREFIX=<tmp>, then pkg-config --cflags --libs memo through
#      PKG_CONFIG_PATH; again after moving the installed tree (memo.pc is
#      relocatable); find_package on the moved make-install tree
#   b  cmake --install to a scratch prefix, find_package(memo <major.minor>
#      REQUIRED); find_package(memo 0.1 REQUIRED) must fail (SameMinorVersion:
#      0.1 and 0.2 are not compatible); an installed 0.2.7 (a copy of the tree
#      with the patch number raised) satisfies 0.2, 0.2.0 and 0.2.7 and
#      refuses 0.2.8, 0.1 and 0.3
#   c  add_subdirectory(<repo>) (and memo's install rules stay off there)
#   d  FetchContent_Declare(memo SOURCE_DIR <repo>) and (memo URL
#      file://<tarball of the tree>) + FetchContent_MakeAvailable
#   e  meson with the repo as subprojects/memo (a symlink): dependency('memo');
#      and meson install + pkg-config on the moved tree
#   f  the header copied alone: cc -std=c11 -pthread
# One line each; a piece that cannot run (cmake, meson, ninja or pkg-config
# missing: `bash scripts/deps.sh test` installs them) is SKIPPED with the
# reason.  Ends with "consumers: N passed, N failed" (", N skipped" when any
# were).  Always this tree's include/memo.h (MEMO_INCLUDE does not apply: the
# build files read the version from it).  MEMO_KEEP_CONSUMERS=1 keeps the
# scratch directory.
set -u
cd "$(dirname "$0")/../.." || exit 2
ROOT=$(pwd)
. mk/flags.sh
SRC=$ROOT/tests/consumers/consumer.c
W=$(mktemp -d "${TMPDIR:-/tmp}/memo-consumers.XXXXXX") || exit 2
if [ "${MEMO_KEEP_CONSUMERS:-0}" = 1 ]; then echo "consumers: scratch directory $W (kept)"
else trap 'rm -rf "$W"' EXIT; fi
passed=0; failed=0; skipped=0; failures=()

pass() { echo "[consumers] $1: ok: $2"; passed=$((passed + 1)); }
fail() { # name reason [log]
  echo "[consumers] $1: FAILED: $2"; failed=$((failed + 1)); failures+=("$1")
  if [ -n "${3:-}" ] && [ -f "$3" ]; then tail -25 "$3" | sed 's/^/    /'; fi
}
skip() { echo "[consumers] $1: SKIPPED: $2"; skipped=$((skipped + 1)); }
have() { command -v "$1" >/dev/null 2>&1; }
# run the built consumer; its one line is the evidence
run_consumer() { # name exe how
  local out
  if out=$(timeout 30 "$2" "$3" 2>&1); then pass "$1" "$out"; else fail "$1" "the program failed: $out"; fi
}

V=$(awk '$1 ~ /^.define$/ && NF == 3 && $2 ~ /^MEMO_VERSION_(MAJOR|MINOR|PATCH)$/ { v[$2] = $3 }
         END { print v["MEMO_VERSION_MAJOR"] "." v["MEMO_VERSION_MINOR"] "." v["MEMO_VERSION_PATCH"] }' include/memo.h)
MAJ=${V%%.*}; MIN=${V#*.}; MIN=${MIN%%.*}
case $V in [0-9]*.[0-9]*.[0-9]*) ;; *) echo "consumers: no MEMO_VERSION_MAJOR/MINOR/PATCH in include/memo.h"; exit 1 ;; esac

NO_CMAKE="cmake not installed (apt-get install -y cmake, or bash scripts/deps.sh test as root)"
NO_PKGCONF="pkg-config not installed (apt-get install -y pkg-config)"
NO_MESON="meson or ninja not installed (apt-get install -y meson ninja-build)"

# The compile flags of every build: the repository's warnings, errors included.
export CFLAGS="$WARN"

# A consumer CMake project: consumer.c linked to memo::memo, memo found by
# $1 (find_package / add_subdirectory / FetchContent).  It never looks in the
# system's prefixes, the user's package registry or the environment's paths,
# so only the memo under test can satisfy it.
cmake_consumer() { # dir body
  mkdir -p "$1"
  cat >"$1/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.14...3.25)
project(consumer LANGUAGES C)
$CMAKE_ISOLATE_LINES
$2
add_executable(consumer "$SRC")
target_link_libraries(consumer PRIVATE memo::memo)
install(TARGETS consumer DESTINATION bin)
EOF
}
# (after project(): the compiler and the build tool are found the usual way)
CMAKE_ISOLATE_LINES='set(CMAKE_FIND_USE_CMAKE_SYSTEM_PATH OFF)
set(CMAKE_FIND_USE_SYSTEM_ENVIRONMENT_PATH OFF)
set(CMAKE_FIND_USE_CMAKE_ENVIRONMENT_PATH OFF)
set(CMAKE_FIND_USE_PACKAGE_REGISTRY OFF)'
CMAKE_ISOLATE=("-DCMAKE_C_FLAGS=$WARN")
cmake_build() { # srcdir builddir log extra-args...
  local s=$1 b=$2 log=$3; shift 3
  cmake -S "$s" -B "$b" "${CMAKE_ISOLATE[@]}" "$@" >"$log" 2>&1 && cmake --build "$b" >>"$log" 2>&1
}

# --- a: make install + pkg-config, moved, and find_package on it ------------
A=$W/a; mkdir -p "$A"
if make -s install PREFIX="$A/prefix" >"$A/install.log" 2>&1; then a_ok=1; else a_ok=0; fi
pcflags() { PKG_CONFIG_PATH="$1/lib/pkgconfig" pkg-config --cflags --libs memo 2>>"$A/pc.log"; }
if [ "$a_ok" = 0 ]; then
  fail "a pkg-config (make install)" "make install PREFIX=$A/prefix failed" "$A/install.log"
  skip "a pkg-config (moved tree)" "make install failed"
elif ! have pkg-config; then skip "a pkg-config (make install)" "$NO_PKGCONF"; skip "a pkg-config (moved tree)" "$NO_PKGCONF"
else
  f=$(pcflags "$A/prefix"); mv=$(PKG_CONFIG_PATH="$A/prefix/lib/pkgconfig" pkg-config --modversion memo 2>>"$A/pc.log")
  # shellcheck disable=SC2086
  if [ "$mv" != "$V" ]; then fail "a pkg-config (make install)" "pkg-config --modversion memo says '$mv', the header $V" "$A/pc.log"
  elif ${CC:-gcc} -std=c11 $WARN "$SRC" $f -o "$A/consumer" 2>"$A/build.log"; then
    run_consumer "a pkg-config (make install)" "$A/consumer" "make install + pkg-config: $f"
  else fail "a pkg-config (make install)" "cc -std=c11 \$(pkg-config --cflags --libs memo) failed" "$A/build.log"; fi
fi
# relocatable: the installed tree moved; memo.pc and the CMake package must
# find it there
if [ "$a_ok" = 1 ]; then mkdir -p "$A/elsewhere"; mv "$A/prefix" "$A/elsewhere/moved"; fi
if [ "$a_ok" = 1 ] && have pkg-config; then
  f=$(pcflags "$A/elsewhere/moved")
  # shellcheck disable=SC2086
  if [[ "$f" != *"$A/elsewhere/moved/"* ]]; then fail "a pkg-config (moved tree)" "--cflags after the move do not point into it: '$f'" "$A/pc.log"
  elif ${CC:-gcc} -std=c11 $WARN "$SRC" $f -o "$A/consumer-moved" 2>"$A/build-moved.log"; then
    run_consumer "a pkg-config (moved tree)" "$A/consumer-moved" "the make-install tree moved, \${pcfiledir}: $f"
  else fail "a pkg-config (moved tree)" "the build against the moved tree failed" "$A/build-moved.log"; fi
fi
if ! have cmake; then skip "a find_package (make install, moved)" "$NO_CMAKE"
elif [ "$a_ok" = 0 ]; then skip "a find_package (make install, moved)" "make install failed"
elif [ ! -f "$A/elsewhere/moved/lib/cmake/memo/memoConfig.cmake" ]; then
  fail "a find_package (make install, moved)" "make install put no lib/cmake/memo/memoConfig.cmake" "$A/install.log"
else
  cmake_consumer "$W/a-cmake" "find_package(memo $MAJ.$MIN REQUIRED)"
  if cmake_build "$W/a-cmake" "$W/a-cmake/build" "$W/a-cmake.log" "-DCMAKE_PREFIX_PATH=$A/elsewhere/moved"; then
    run_consumer "a find_package (make install, moved)" "$W/a-cmake/build/consumer" "find_package(memo $MAJ.$MIN) in the moved make-install tree"
  else fail "a find_package (make install, moved)" "configure or build failed" "$W/a-cmake.log"; fi
fi

# --- b: cmake --install + find_package; the version rule ---------------------
if ! have cmake; then
  for n in "b find_package $MAJ.$MIN" "b find_package 0.1 refused" "b SameMinorVersion (0.2.7 installed)"; do skip "$n" "$NO_CMAKE"; done
else
  B=$W/b; mkdir -p "$B"
  if cmake -S "$ROOT" -B "$B/build" -DCMAKE_INSTALL_PREFIX="$B/prefix" >"$B/install.log" 2>&1 &&
     cmake --install "$B/build" >>"$B/install.log" 2>&1; then
    cmake_consumer "$B/ok" "find_package(memo $MAJ.$MIN REQUIRED)"
    if cmake_build "$B/ok" "$B/ok/build" "$B/ok.log" "-DCMAKE_PREFIX_PATH=$B/prefix"; then
      run_consumer "b find_package $MAJ.$MIN" "$B/ok/build/consumer" "cmake --install + find_package(memo $MAJ.$MIN REQUIRED)"
    else fail "b find_package $MAJ.$MIN" "configure or build failed" "$B/ok.log"; fi
    # the previous minor versions must be refused: 0.1 (and 0.<minor-1>)
    bad=(0.1); [ "$MAJ" = 0 ] && [ "$MIN" -gt 1 ] && [ "0.$((MIN - 1))" != 0.1 ] && bad+=("0.$((MIN - 1))")
    bok=1; why=""
    for want in "${bad[@]}"; do
      cmake_consumer "$B/bad-$want" "find_package(memo $want REQUIRED)"
      if cmake -S "$B/bad-$want" -B "$B/bad-$want/build" "${CMAKE_ISOLATE[@]}" "-DCMAKE_PREFIX_PATH=$B/prefix" >"$B/bad-$want.log" 2>&1; then
        bok=0; why+="find_package(memo $want REQUIRED) succeeded against $V; "
      elif ! grep -q 'considered but not accepted' "$B/bad-$want.log" || ! grep -q "memoConfig.cmake, version: $V" "$B/bad-$want.log"; then
        bok=0; why+="find_package(memo $want) failed, but not for the version; "
      fi
    done
    if [ "$bok" = 1 ]; then pass "b find_package 0.1 refused" "find_package(memo ${bad[*]} REQUIRED) fails: memoConfig.cmake, version $V, considered but not accepted"
    else fail "b find_package 0.1 refused" "$why" "$B/bad-${bad[0]}.log"; fi
  else
    fail "b find_package $MAJ.$MIN" "cmake --install of the repository failed" "$B/install.log"
    skip "b find_package 0.1 refused" "cmake --install failed"
  fi
  # SameMinorVersion with a patch release: a copy of the tree whose header says
  # $MAJ.$MIN.7, installed; requests probed with find_package(... QUIET)
  P=$W/b-patch; mkdir -p "$P/src/include"
  cp "$ROOT/CMakeLists.txt" "$P/src/"; cp -r "$ROOT/packaging" "$P/src/"
  sed 's/^#define MEMO_VERSION_PATCH [0-9]*$/#define MEMO_VERSION_PATCH 7/' include/memo.h >"$P/src/include/memo.h"
  want_yes="$MAJ.$MIN $MAJ.$MIN.0 $MAJ.$MIN.7"; want_no="$MAJ.$MIN.8 0.1 $MAJ.$((MIN + 1)) $((MAJ + 1)).0"
  mkdir -p "$P/probe"
  cat >"$P/probe/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.14...3.25)
project(probe LANGUAGES C)
$CMAKE_ISOLATE_LINES
function(probe want)
  find_package(memo \${want} QUIET)
  message(STATUS "probe \${want} -> \${memo_FOUND} \${memo_VERSION}")
endfunction()
foreach(v $want_yes $want_no)
  probe(\${v})
endforeach()
EOF
  if cmake -S "$P/src" -B "$P/build" -DCMAKE_INSTALL_PREFIX="$P/prefix" >"$P/log" 2>&1 &&
     cmake --install "$P/build" >>"$P/log" 2>&1 &&
     cmake -S "$P/probe" -B "$P/probe/build" "${CMAKE_ISOLATE[@]}" "-DCMAKE_PREFIX_PATH=$P/prefix" >>"$P/log" 2>&1; then
    wrong=""
    for v in $want_yes; do grep -q "probe $v -> 1 $MAJ.$MIN.7\$" "$P/log" || wrong+=" $v refused;"; done
    for v in $want_no; do grep -q "probe $v -> 0 *\$" "$P/log" || wrong+=" $v accepted;"; done
    if [ -z "$wrong" ]; then pass "b SameMinorVersion ($MAJ.$MIN.7 installed)" "accepts ${want_yes// /, }; refuses ${want_no// /, }"
    else fail "b SameMinorVersion ($MAJ.$MIN.7 installed)" "$wrong" "$P/log"; fi
  else fail "b SameMinorVersion ($MAJ.$MIN.7 installed)" "install or probe configure failed" "$P/log"; fi
fi

# --- c: add_subdirectory ----------------------------------------------------------
if ! have cmake; then skip "c add_subdirectory" "$NO_CMAKE"
else
  C=$W/c
  cmake_consumer "$C" "add_subdirectory(\"$ROOT\" memo)"
  if cmake_build "$C" "$C/build" "$C.log" && cmake --install "$C/build" --prefix "$C/prefix" >>"$C.log" 2>&1; then
    if [ -e "$C/prefix/include/memo.h" ]; then fail "c add_subdirectory" "the parent's cmake --install installed memo.h (MEMO_INSTALL should be OFF in a subproject)"
    else run_consumer "c add_subdirectory" "$C/build/consumer" "add_subdirectory(<repo>) + memo::memo; memo's install rules off"; fi
  else fail "c add_subdirectory" "configure, build or install failed" "$C.log"; fi
fi

# --- d: FetchContent, from the source directory and from a tarball URL ----------
if ! have cmake; then skip "d FetchContent SOURCE_DIR" "$NO_CMAKE"; skip "d FetchContent URL" "$NO_CMAKE"
else
  D=$W/d
  cmake_consumer "$D/src" "include(FetchContent)
FetchContent_Declare(memo SOURCE_DIR \"$ROOT\")
FetchContent_MakeAvailable(memo)"
  if cmake_build "$D/src" "$D/src/build" "$D/src.log"; then
    run_consumer "d FetchContent SOURCE_DIR" "$D/src/build/consumer" "FetchContent_Declare(memo SOURCE_DIR <repo>) + FetchContent_MakeAvailable"
  else fail "d FetchContent SOURCE_DIR" "configure or build failed" "$D/src.log"; fi
  # the tree as a release tarball would hold it (without build/ and .git)
  mkdir -p "$D/url"
  if tar -C "$ROOT" --exclude=./build --exclude=./.git --exclude=./node_modules --transform 's,^\.,memo,' \
         -czf "$D/memo.tar.gz" . 2>"$D/url.log"; then
    cmake_consumer "$D/url" "include(FetchContent)
FetchContent_Declare(memo URL \"file://$D/memo.tar.gz\")
FetchContent_MakeAvailable(memo)"
    if cmake_build "$D/url" "$D/url/build" "$D/url.log"; then
      run_consumer "d FetchContent URL" "$D/url/build/consumer" "FetchContent_Declare(memo URL file://<tarball of the tree>)"
    else fail "d FetchContent URL" "configure or build failed" "$D/url.log"; fi
  else fail "d FetchContent URL" "tar of the tree failed" "$D/url.log"; fi
fi

# --- e: meson subproject; meson install + pkg-config ----------------------------
if ! have meson || ! have ninja; then skip "e meson subproject" "$NO_MESON"; skip "e meson install + pkg-config (moved)" "$NO_MESON"
else
  E=$W/e; mkdir -p "$E/subprojects"
  ln -s "$ROOT" "$E/subprojects/memo"
  cat >"$E/meson.build" <<EOF
project('consumer', 'c', default_options: ['c_std=c11'])
# found in subprojects/memo, which declares it with meson.override_dependency
memo_dep = dependency('memo', version: '>=$MAJ.$MIN')
executable('consumer', '$SRC', dependencies: memo_dep)
EOF
  # --force-fallback-for: the subproject even where a memo.pc is installed
  if meson setup "$E/build" "$E" --force-fallback-for=memo >"$E.log" 2>&1 && ninja -C "$E/build" >>"$E.log" 2>&1; then
    run_consumer "e meson subproject" "$E/build/consumer" "subprojects/memo -> <repo>, dependency('memo', version: '>=$MAJ.$MIN')"
  else fail "e meson subproject" "meson setup or ninja failed" "$E.log"; fi
  # meson's own install and its generated memo.pc (pkgconfig.relocatable)
  M=$W/e-install
  if ! have pkg-config; then skip "e meson install + pkg-config (moved)" "$NO_PKGCONF"
  elif meson setup "$M/build" "$ROOT" --prefix="$M/prefix" >"$M.log" 2>&1 && meson install -C "$M/build" >>"$M.log" 2>&1; then
    mkdir -p "$M/elsewhere"; mv "$M/prefix" "$M/elsewhere/moved"
    pcdir=$(dirname "$(find "$M/elsewhere/moved" -name memo.pc | head -1)")
    f=$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs memo 2>>"$M.log")
    mv=$(PKG_CONFIG_PATH="$pcdir" pkg-config --modversion memo 2>>"$M.log")
    # shellcheck disable=SC2086
    if [ "$mv" != "$V" ] || [[ "$f" != *"$M/elsewhere/moved/"* ]]; then
      fail "e meson install + pkg-config (moved)" "memo.pc from meson: version '$mv', flags '$f'" "$M.log"
    elif ${CC:-gcc} -std=c11 $WARN "$SRC" $f -o "$M/consumer" 2>>"$M.log"; then
      run_consumer "e meson install + pkg-config (moved)" "$M/consumer" "meson install, tree moved, ${pcdir#"$M/elsewhere/moved/"}/memo.pc: $f"
    else fail "e meson install + pkg-config (moved)" "the build failed" "$M.log"; fi
  else fail "e meson install + pkg-config (moved)" "meson setup or install of the repository failed" "$M.log"; fi
fi

# --- f: the header copied alone ---------------------------------------------------
F=$W/f; mkdir -p "$F/vendor"
cp include/memo.h "$F/vendor/"
# shellcheck disable=SC2086
if ${CC:-gcc} -std=c11 -pthread $WARN -I"$F/vendor" "$SRC" -o "$F/consumer" 2>"$F.log"; then
  run_consumer "f header copied alone" "$F/consumer" "cc -std=c11 -pthread -Ivendor consumer.c"
else fail "f header copied alone" "cc -std=c11 -pthread failed" "$F.log"; fi

[ ${#failures[@]} -gt 0 ] && echo "consumers failed: ${failures[*]}"
if [ "$skipped" -gt 0 ]; then echo "consumers: $passed passed, $failed failed, $skipped skipped"
else echo "consumers: $passed passed, $failed failed"; fi
[ "$failed" = 0 ]
