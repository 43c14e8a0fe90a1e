#!/usr/bin/env bash
# run.sh -- builds and runs the liveness tests (tests/liveness/README.md).
#   bash tests/liveness/run.sh [CONFIG...]      default: every config below
# Configs: the `liveness` rows of mk/matrix.conf (gcc-O2, gcc-O2-nofutex,
# clang-O2, clang-O2-nofutex, tsan, tsan-nofutex).  MEMO_INCLUDE=dir builds
# against dir/memo.h instead of include/memo.h.
# cycle, fork, timeout and realclock are built in every config; link (4
# variants of two shared libraries) and mix (one unit with MEMO_NO_FUTEX, one
# without) choose MEMO_NO_FUTEX per object themselves and are built only in
# gcc-O2: not in the -DMEMO_NO_FUTEX configs (they set it per object), and
# not with clang or TSan (they check that a wake-up crosses objects, which
# does not depend on the compiler, not data races; their 14 compiles per
# config would double the section's time).  The programs of one config run side by side (each
# case is its own process under an alarm() watchdog, default 8 s; they
# mostly sleep).  Last line: "liveness: N passed, N failed, N skipped", then,
# if any failed, "liveness failed: CONFIG/PROGRAM/CASE ...".  Exit 0 iff
# nothing failed.
# LIVENESS_INCLUDE=DIR builds against DIR/memo.h instead of include/memo.h
# (e.g. an older header, to see which cases fail on it).
set -u
cd "$(dirname "$0")/../.." || exit 1
. mk/flags.sh
B=build/liveness
INC=${MEMO_INCLUDE:-${LIVENESS_INCLUDE:-include}}
L=tests/liveness
mapfile -t all_configs < <(mk_matrix liveness)
configs=()
if [ $# -gt 0 ]; then
  for want in "$@"; do for c in "${all_configs[@]}"; do [ "${c%%|*}" = "$want" ] && configs+=("$c"); done; done
  [ ${#configs[@]} -eq $# ] || { echo "run.sh: unknown config in: $* (known: ${all_configs[*]%%|*})" >&2; exit 2; }
else configs=("${all_configs[@]}"); fi

export TSAN_OPTIONS="halt_on_error=1${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
passed=0; failed=0; skipped=0; failed_names=()

# builds one config's programs into $d; prints "name" lines of what it built
# link and mix: only in gcc-O2 (see above)
with_link() { [ "$1" = gcc-O2 ]; }

build_config() { # name cc flags dir
  local name=$1 cc=$2 flags=$3 d=$4 p v vis nf pids=() ok=0
  mkdir -p "$d"
  for p in cycle fork timeout realclock; do
    # shellcheck disable=SC2086
    $cc $flags $WARN -I"$INC" -Itests/common "$L/$p.c" -o "$d/$p" -pthread 2>"$d/$p.build.log" &
    pids+=($!)
  done
  if with_link "$name"; then
    # shellcheck disable=SC2086
    $cc $flags $WARN -I"$INC" -Itests/common -I"$L/mix" "$L"/mix/mix_*.c -o "$d/mix" -pthread 2>"$d/mix.build.log" &
    pids+=($!)
    for v in hidden hidden-nofutex dlopen dlopen-nofutex; do
      vis=""; nf=""; [ "${v#hidden}" != "$v" ] && vis="-fvisibility=hidden"; [ "${v%nofutex}" != "$v" ] && nf="-DMEMO_NO_FUTEX"
      mkdir -p "$d/link-$v"
      # shellcheck disable=SC2016  # $ORIGIN is for the dynamic linker
      (
        # shellcheck disable=SC2086
        $cc $flags $WARN $nf $vis -fPIC -shared -I"$INC" -Itests/common "$L/link/liba.c" -o "$d/link-$v/liba.so" -Wl,-soname,liba.so -pthread &&
        $cc $flags $WARN $nf $vis -fPIC -shared -I"$INC" -Itests/common "$L/link/libb.c" -o "$d/link-$v/libb.so" \
            -L"$d/link-$v" -la -Wl,-rpath,'$ORIGIN' -pthread &&
        if [ "$vis" ]; then
          $cc $flags $WARN -Itests/common "$L/link/link_main.c" -o "$d/link-$v/link-$v" -L"$d/link-$v" -la -lb -Wl,-rpath,'$ORIGIN' -pthread
        else
          $cc $flags $WARN -Itests/common -DLV_DLOPEN "$L/link/link_main.c" -o "$d/link-$v/link-$v" -ldl -pthread
        fi
      ) 2>"$d/link-$v.build.log" &
      pids+=($!)
    done
  fi
  for p in "${pids[@]}"; do wait "$p" || ok=1; done
  return $ok
}

programs_of() { # dir flags config
  local p
  for p in cycle fork timeout realclock; do echo "$1/$p"; done
  if with_link "$3"; then
    echo "$1/mix"
    for p in hidden hidden-nofutex dlopen dlopen-nofutex; do echo "$1/link-$p/link-$p"; done
  fi
}

for cfg in "${configs[@]}"; do
  IFS="|" read -r name cc flags _ <<<"$cfg"
  d="$B/$name"; t0=${EPOCHREALTIME/[.,]/}
  if ! command -v "$cc" >/dev/null 2>&1; then
    echo "[liveness $name] SKIPPED: $cc not installed"; skipped=$((skipped + 1)); continue
  fi
  build_config "$name" "$cc" "$flags" "$d"
  mapfile -t progs < <(programs_of "$d" "$flags" "$name")
  # run side by side; the outputs are printed in order afterwards
  pids=()
  for exe in "${progs[@]}"; do
    if [ -x "$exe" ]; then ( timeout 120 "$exe" >"$exe.out" 2>&1; echo $? >"$exe.rc" ) &
    else echo 99 >"$exe.rc"; fi
    pids+=($!)
  done
  wait
  row=""; details=""
  for exe in "${progs[@]}"; do
    prog=${exe##*/}
    if [ ! -x "$exe" ]; then
      log="$d/$prog.build.log"
      row+="  $prog: BUILD FAILED"; details+=$(sed 's/^/    /' "$log" 2>/dev/null | head -20)$'\n'
      failed=$((failed + 1)); failed_names+=("$name/$prog(build)"); continue
    fi
    out=$(cat "$exe.out"); rc=$(cat "$exe.rc")
    p=$(printf '%s\n' "$out" | grep -c '^PASS '); f=$(printf '%s\n' "$out" | grep -c '^FAIL '); s=$(printf '%s\n' "$out" | grep -c '^SKIP ')
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi   # crashed, sanitizer report, timeout
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    if [ "$f" != 0 ]; then
      row+="  $prog $p/$((p + f + s)) FAILED"
      for c in $(printf '%s\n' "$out" | sed -n 's/^FAIL \([^ ]*\) .*/\1/p'); do failed_names+=("$name/$prog/$c"); done
      [ "$rc" != 0 ] && ! printf '%s\n' "$out" | grep -q '^FAIL ' && failed_names+=("$name/$prog(rc=$rc)")
      details+="  -- $prog (exit $rc):"$'\n'$(printf '%s\n' "$out" | grep -v '^PASS ' | tail -40 | sed 's/^/    /')$'\n'
    else
      row+="  $prog $p/$((p + s))"
    fi
  done
  t1=${EPOCHREALTIME/[.,]/}
  printf '[liveness %s]%*s%s  %d.%d s\n' "$name" $((17 - ${#name})) "" "$row" $(((t1 - t0) / 1000000)) $((((t1 - t0) / 100000) % 10))
  [ -n "$details" ] && printf '%s' "$details"
done
echo "liveness: $passed passed, $failed failed, $skipped skipped"
[ ${#failed_names[@]} -gt 0 ] && echo "liveness failed: ${failed_names[*]}"
[ "$failed" = 0 ]
