#!/usr/bin/env bash
# package_check.sh [ARCH...] -- the deployment zip of examples/lambda, as
# examples/lambda/package.sh builds it (the README's "Deploy it for real"),
# for each ARCH (Lambda's names: x86_64, arm64; default: this machine's, then
# the other one).  The other one is a cross build: it runs only when a cross
# compiler and the target's libcurl, libpq and SQLite are installed, and is
# reported SKIPPED, with what to install, otherwise.  Per zip it checks:
#   zip       the archive is sound (unzip -t);
#   layout    `bootstrap` is at the root and everything else is a file in lib/
#             (no build/ or lambda-ARCH/ prefix);
#   mode      bootstrap is stored executable (zipinfo: -rwx...);
#   elf       bootstrap is a 64-bit ELF executable for ARCH (readelf -h Machine),
#             and so is every file in lib/;
#   rpath     bootstrap's DT_RPATH is $ORIGIN/lib (not a DT_RUNPATH, which would
#             not serve the libraries' own dependencies), unless it needs no
#             shared library beyond glibc (a static build);
#   libs      every shared library it needs, recursively, is glibc or in lib/;
# and for this machine's ARCH, unzipped in a scratch directory:
#   ldd       every library beyond glibc resolves from that lib/, none missing;
#   runs      that bootstrap answers an invocation of the fake Runtime API and
#             exits 0 on SIGTERM (hostile_api.py's sigterm-idle; needs python3).
# Ends with "N passed, N failed[, N skipped]"; exit 0 pass, 1 fail, 77 skipped
# (no build dependencies or tools for this machine's ARCH; the reason printed).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
passed=0 failed=0 skipped=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }
skip() { skipped=$((skipped + 1)); echo "skip $1"; }
finish() {
  if [ "$skipped" -gt 0 ]; then echo "$passed passed, $failed failed, $skipped skipped"
  else echo "$passed passed, $failed failed"; fi
  [ "$failed" = 0 ]
}

host=$(case "$(uname -m)" in x86_64 | amd64) echo x86_64 ;; aarch64 | arm64) echo arm64 ;; *) uname -m ;; esac)
other=$([ "$host" = arm64 ] && echo x86_64 || echo arm64)
archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=("$host" "$other")

tools_missing=()
for t in readelf:binutils zip:zip unzip:unzip zipinfo:unzip; do
  command -v "${t%%:*}" >/dev/null 2>&1 || tools_missing+=("${t##*:}")
done
if [ ${#tools_missing[@]} -gt 0 ]; then
  echo "package_check.sh: SKIPPED: missing $(printf '%s\n' "${tools_missing[@]}" | sort -u | tr '\n' ' ')(apt-get install -y $(printf '%s\n' "${tools_missing[@]}" | sort -u | tr '\n' ' '| sed 's/ $//'))"
  exit 77
fi

tmp=$(mktemp -d /tmp/memo-package.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

triplet_of() { [ "$1" = arm64 ] && echo aarch64-linux-gnu || echo x86_64-linux-gnu; }
machine_of() { [ "$1" = arm64 ] && echo AArch64 || echo "Advanced Micro Devices X86-64"; }
# can CC compile and link a program against libcurl, libpq and SQLite?
can_build() { # arch cc
  local pq_inc
  pq_inc=$(PKG_CONFIG_LIBDIR=${3:-${PKG_CONFIG_LIBDIR:-}} pkg-config --cflags libpq 2>/dev/null ||
           echo "-I$(pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)")
  printf '#include <curl/curl.h>\n#include <libpq-fe.h>\n#include <sqlite3.h>\nint main(void) { return !curl_version() + !PQlibVersion() + !sqlite3_libversion(); }\n' >"$tmp/probe.c"
  # shellcheck disable=SC2086
  "$2" $pq_inc "$tmp/probe.c" -o "$tmp/probe-$1" -lcurl -lpq -lsqlite3 >"$tmp/probe-$1.log" 2>&1
}
is_glibc() { [[ "$1" =~ ^(libc|libm|libpthread|libdl|librt|libresolv|libutil|libanl)\.so\.[0-9]+$|^ld-linux ]]; }
needed() { readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'; }

check_arch() { # arch
  local arch=$1 machine dir zipf x bad_entries f so missing ldd_out stray rpath runpath
  machine=$(machine_of "$arch")
  dir=$tmp/$arch
  if ! out=$(bash "$root/examples/lambda/package.sh" --arch "$arch" "$dir" 2>&1); then
    bad "$arch: package.sh failed"; printf '%s\n' "$out" | tail -20 | sed 's/^/    /'; return
  fi
  printf '%s\n' "$out" | sed 's/^/  /'
  zipf=$dir/function-$arch.zip
  [ -f "$zipf" ] || { bad "$arch: no $zipf"; return; }

  if unzip -tq "$zipf" >/dev/null 2>&1; then ok "$arch zip: $(basename "$zipf") is a sound archive ($(zipinfo -t "$zipf" | sed 's/,.*//'))"
  else bad "$arch zip: unzip -t fails on $zipf"; fi

  bad_entries=$(zipinfo -1 "$zipf" | grep -vxE 'bootstrap|lib/|lib/[^/]+' || true)
  if zipinfo -1 "$zipf" | grep -qx bootstrap && [ -z "$bad_entries" ]; then
    ok "$arch layout: bootstrap at the root, $(zipinfo -1 "$zipf" | grep -c '^lib/.') files in lib/, nothing else"
  else bad "$arch layout: bootstrap not at the root, or stray entries: $(printf '%s\n' "$bad_entries" | head -5 | tr '\n' ' ')"; fi

  x=$(zipinfo "$zipf" bootstrap 2>/dev/null | head -n 1)
  if [[ "$x" == -rwx* ]] && [[ "$x" == *" unx "* ]]; then ok "$arch mode: zipinfo: ${x%% *} (unix attributes)"
  else bad "$arch mode: bootstrap is not stored executable: '$x'"; fi

  mkdir -p "$dir/unzipped"
  unzip -q "$zipf" -d "$dir/unzipped" || { bad "$arch: could not unzip"; return; }
  local u=$dir/unzipped
  [ -f "$u/bootstrap" ] || { bad "$arch: no bootstrap at the zip root: nothing more to check"; return; }
  stray=
  for f in "$u/bootstrap" "$u"/lib/*; do
    [ -e "$f" ] || continue
    readelf -h "$f" 2>/dev/null | grep -q "Class: *ELF64" &&
      readelf -h "$f" | grep -q "Machine: *$machine\$" || stray+=" ${f#"$u"/}"
  done
  local type
  type=$(readelf -h "$u/bootstrap" 2>/dev/null | sed -n 's/^ *Type: *\([A-Z]*\).*/\1/p')
  if [ -z "$stray" ] && { [ "$type" = EXEC ] || [ "$type" = DYN ]; }; then
    ok "$arch elf: bootstrap is an ELF64 $type for $machine, and so is every file in lib/"
  else bad "$arch elf: not ELF64 $machine:${stray:- } (bootstrap type '$type')"; fi

  local seen=" " queue=("$u/bootstrap") beyond=0
  missing=
  while [ ${#queue[@]} -gt 0 ]; do
    f=${queue[0]}; queue=("${queue[@]:1}")
    for so in $(needed "$f"); do
      is_glibc "$so" && continue
      case "$seen" in *" $so "*) continue ;; esac
      seen+="$so "; beyond=$((beyond + 1))
      if [ -f "$u/lib/$so" ]; then queue+=("$u/lib/$so"); else missing+=" $so(${f##*/})"; fi
    done
  done
  rpath=$(readelf -d "$u/bootstrap" | sed -n 's/.*(RPATH).*\[\(.*\)\]$/\1/p')
  runpath=$(readelf -d "$u/bootstrap" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]$/\1/p')
  if [ "$beyond" = 0 ]; then ok "$arch rpath: none needed (no shared library beyond glibc)"
  elif [ "$rpath" = "\$ORIGIN/lib" ] && [ -z "$runpath" ]; then ok "$arch rpath: DT_RPATH \$ORIGIN/lib"
  else bad "$arch rpath: DT_RPATH '$rpath', DT_RUNPATH '$runpath' (want DT_RPATH \$ORIGIN/lib)"; fi
  if [ -z "$missing" ]; then ok "$arch libs: all $beyond libraries it needs beyond glibc are in lib/"
  else bad "$arch libs: needed but not in lib/:$missing"; fi

  [ "$arch" = "$host" ] || return 0
  if ! ldd_out=$(env -u LD_LIBRARY_PATH ldd "$u/bootstrap" 2>&1); then
    bad "$arch ldd: ldd failed: $(printf '%s\n' "$ldd_out" | head -3)"
  else
    local outside
    outside=$(printf '%s\n' "$ldd_out" | awk '/=>/ {print $1, $3}' | while read -r so path; do
      is_glibc "$so" && continue
      [ "$path" = "$u/lib/$so" ] || echo "$so=>$path"
    done)
    if [ -z "$outside" ]; then ok "$arch ldd: every library beyond glibc resolves from the zip's lib/"
    else bad "$arch ldd: resolved elsewhere or not found: $(printf '%s\n' "$outside" | head -5 | tr '\n' ' ')"; fi
  fi
  if ! command -v python3 >/dev/null 2>&1; then skip "$arch runs: python3 is not installed (the fake Runtime API)"; return 0; fi
  if x=$(cd "$tmp" && env -u LD_LIBRARY_PATH timeout 60 python3 "$here/hostile_api.py" "$u/bootstrap" sigterm-idle 2>&1) &&
     printf '%s\n' "$x" | grep -qx '1 passed, 0 failed'; then
    ok "$arch runs: the unzipped bootstrap answers an invocation and exits 0 on SIGTERM (sigterm-idle)"
  else bad "$arch runs: the unzipped bootstrap failed sigterm-idle:"; printf '%s\n' "$x" | tail -15 | sed 's/^/    /'; fi
}

for arch in "${archs[@]}"; do
  case "$arch" in x86_64 | arm64) ;; *) bad "unknown ARCH '$arch' (x86_64 or arm64)"; continue ;; esac
  echo "== $arch"
  if [ "$arch" = "$host" ]; then
    cc=${CC:-gcc}
    if ! command -v "$cc" >/dev/null 2>&1; then echo "package_check.sh: SKIPPED: $cc is not installed"; exit 77; fi
    if ! can_build "$arch" "$cc"; then
      echo "package_check.sh: SKIPPED: cannot build against libcurl, libpq and SQLite (apt-get install -y libcurl4-openssl-dev libpq-dev libsqlite3-dev, or 'bash scripts/deps.sh test' as root): $(grep -m1 -iE 'error|cannot' "$tmp/probe-$arch.log")"
      exit 77
    fi
    check_arch "$arch"
  else
    t=$(triplet_of "$arch")
    # Debian 12: the cross gcc replaces gcc-multilib (make test's -m32 rows)
    # and libpq-dev:$arch replaces libpq-dev: not something a test installs.
    da=$([ "$arch" = arm64 ] && echo arm64 || echo amd64) # Debian's name
    cross_how="Debian: apt-get install -y gcc-${t//_/-} libc6-dev-$da-cross, dpkg --add-architecture $da, apt-get install -y libcurl4-openssl-dev:$da libpq-dev:$da libsqlite3-dev:$da; on Debian 12 these remove gcc-multilib and the native libpq-dev"
    if ! command -v "$t-gcc" >/dev/null 2>&1; then
      skip "$arch: cross build: no $t-gcc ($cross_how); the README builds $arch in the AL2023 image with docker buildx instead"
    elif ! can_build "$arch" "$t-gcc" "/usr/lib/$t/pkgconfig:/usr/share/pkgconfig"; then
      skip "$arch: cross build: $t-gcc cannot link libcurl, libpq and SQLite for $arch ($cross_how)"
    else
      CC=$t-gcc check_arch "$arch"
    fi
  fi
done
finish
