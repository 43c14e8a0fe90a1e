#!/usr/bin/env bash
# package.sh [--arch x86_64|arm64] [OUTDIR] -- the deployment zip of the C
# custom runtime: OUTDIR/function-ARCH.zip (OUTDIR defaults to build/ in the
# repository), staged in OUTDIR/lambda-ARCH/.  The zip holds `bootstrap`
# (mode 755) at its root and, in lib/, every shared library it needs beyond
# glibc, its libraries' own dependencies included; bootstrap finds them
# through a DT_RPATH of $ORIGIN/lib.
#
# ARCH is Lambda's name for it (`aws lambda create-function --architectures`);
# the default is this machine's (x86_64 -> x86_64, aarch64 -> arm64).
# For the other one it cross-compiles: CC defaults to x86_64-linux-gnu-gcc or
# aarch64-linux-gnu-gcc and the libraries come from the target's multiarch
# directories (Debian: gcc-aarch64-linux-gnu libc6-dev-arm64-cross and,
# after `dpkg --add-architecture arm64`, libcurl4-openssl-dev:arm64
# libpq-dev:arm64 libsqlite3-dev:arm64 -- on Debian 12 these replace
# gcc-multilib and the native libpq-dev: a container build is simpler).
#
# To deploy on provided.al2023, build inside the Amazon Linux 2023 image
# (examples/lambda/Dockerfile, see README.md "Deploy it for real"): a binary
# built here needs this machine's glibc, and the script says so when that is
# newer than AL2023's 2.34.  Needs readelf (binutils) and zip; CC and
# EXTRA_LDFLAGS as for build.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

host_arch() { case "$(uname -m)" in x86_64 | amd64) echo x86_64 ;; aarch64 | arm64) echo arm64 ;; *) uname -m ;; esac; }
arch=$(host_arch) out=
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch=${2:?--arch needs x86_64 or arm64}; shift 2 ;;
    --arch=*) arch=${1#--arch=}; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "package.sh: unknown option $1" >&2; exit 2 ;;
    *) out=$1; shift ;;
  esac
done
case "$arch" in
  x86_64) triplet=x86_64-linux-gnu machine="Advanced Micro Devices X86-64" ;;
  arm64 | aarch64) arch=arm64 triplet=aarch64-linux-gnu machine="AArch64" ;;
  *) echo "package.sh: --arch must be x86_64 or arm64, not '$arch'" >&2; exit 2 ;;
esac
out=${out:-$root/build}
mkdir -p "$out"
out=$(cd "$out" && pwd)
for t in readelf zip; do
  command -v "$t" >/dev/null 2>&1 || { echo "package.sh: $t is missing (Debian: apt-get install -y ${t/readelf/binutils}; AL2023: dnf install -y ${t/readelf/binutils})" >&2; exit 1; }
done

if [ "$arch" != "$(host_arch)" ]; then
  export CC=${CC:-$triplet-gcc}
  command -v "$CC" >/dev/null 2>&1 ||
    { echo "package.sh: no cross compiler $CC for $arch (Debian: apt-get install -y gcc-${triplet//_/-}); or build in a container: see README.md" >&2; exit 1; }
  # build.sh asks pkg-config for libpq's include directory: the target's
  export PKG_CONFIG_LIBDIR=/usr/lib/$triplet/pkgconfig:/usr/share/pkgconfig
fi

stage=$out/lambda-$arch
zipfile=$out/function-$arch.zip
rm -rf "$stage" "$zipfile"
mkdir -p "$stage/lib"
EXTRA_LDFLAGS="-Wl,--disable-new-dtags,-rpath,\$ORIGIN/lib ${EXTRA_LDFLAGS:-}" \
  bash "$here/build.sh" "$stage" >/dev/null
is_target() { readelf -h "$1" 2>/dev/null | grep -q "Machine: *$machine\$"; }
is_target "$stage/bootstrap" ||
  { echo "package.sh: $CC did not build an ELF for $arch ($(readelf -h "$stage/bootstrap" | sed -n 's/^ *Machine: *//p'))" >&2; exit 1; }

# glibc is the image's: everything else goes into lib/.
is_glibc() { [[ "$1" =~ ^(libc|libm|libpthread|libdl|librt|libresolv|libutil|libanl)\.so\.[0-9]+$|^ld-linux ]]; }
dirs=("/lib/$triplet" "/usr/lib/$triplet" "/usr/$triplet/lib" /lib64 /usr/lib64 /lib /usr/lib)
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'; }
resolve() { # soname -> the target's file for it
  local d
  for d in "${dirs[@]}"; do
    if [ -e "$d/$1" ] && is_target "$d/$1"; then echo "$d/$1"; return 0; fi
  done
  return 1
}
queue=("$stage/bootstrap")
while [ ${#queue[@]} -gt 0 ]; do
  f=${queue[0]}; queue=("${queue[@]:1}")
  for so in $(needed "$f"); do
    is_glibc "$so" && continue
    [ -e "$stage/lib/$so" ] && continue
    src=$(resolve "$so") || { echo "package.sh: $so (needed by ${f##*/}) not found for $arch in ${dirs[*]}" >&2; exit 1; }
    cp -L "$src" "$stage/lib/$so"
    chmod 644 "$stage/lib/$so"
    queue+=("$stage/lib/$so")
  done
done

# the newest glibc symbol version anything here asks for
glibc=$(for f in "$stage/bootstrap" "$stage"/lib/*; do [ -e "$f" ] && readelf -V "$f"; done |
        grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)
chmod 755 "$stage/bootstrap"
entries=(bootstrap)
if [ -n "$(ls -A "$stage/lib")" ]; then entries+=(lib); else rmdir "$stage/lib"; fi # a static build: no lib/
(cd "$stage" && zip -q -X -r "$zipfile" "${entries[@]}")
nlib=$(find "$stage" -path "$stage/lib/*" -type f | wc -l)
echo "packaged $zipfile: bootstrap ($arch) + $nlib libraries in lib/; needs glibc >= ${glibc:-?}"
if [ -n "$glibc" ] && [ "$(printf '%s\n2.34\n' "$glibc" | sort -V | tail -n 1)" != 2.34 ]; then
  echo "package.sh: note: this zip needs glibc $glibc; provided.al2023 has 2.34: for deployment, build in the AL2023 image (examples/lambda/Dockerfile)" >&2
fi
