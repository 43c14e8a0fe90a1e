#!/usr/bin/env bash
# mk/flags.sh -- the scripts' reader of mk/flags.mk and mk/matrix.conf.
#   . mk/flags.sh          (from the repository root) sets WARN, WARN_STRICT,
#                          WARN_BENCH, TSAN, ASAN_UBSAN, FUZZER, CC (default
#                          gcc) and defines mk_matrix
#   mk_matrix SECTION      prints that section's rows as name|compiler|flags|bits
#   bash mk/flags.sh       prints the flags and the whole matrix (`make matrix`)
mk_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CC=${CC:-gcc}
mk_names=()
mk_expand() { # text: $(NAME) of mk/flags.mk replaced by its value
  local s=$1 k
  for k in "${mk_names[@]}"; do s=${s//"\$($k)"/${!k}}; done
  printf '%s' "$s"
}
while read -r mk_k mk_eq mk_v; do
  case $mk_k in '' | '#'*) continue ;; esac
  if [ "$mk_eq" != = ]; then echo "mk/flags.sh: mk/flags.mk: not a NAME = value line: $mk_k $mk_eq $mk_v" >&2; continue; fi
  printf -v "$mk_k" '%s' "$(mk_expand "$mk_v")"
  mk_names+=("$mk_k")
done <"$mk_dir/flags.mk"
unset mk_k mk_eq mk_v

mk_matrix() { # section
  local sec name cc bits flags
  while read -r sec name cc bits flags; do
    [ "$sec" = "$1" ] || continue
    [ "$cc" = cc ] && cc=$CC
    printf '%s|%s|%s|%s\n' "$name" "$cc" "$(mk_expand "$flags")" "$bits"
  done <"$mk_dir/matrix.conf"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  for k in "${mk_names[@]}"; do printf '%-12s %s\n' "$k" "${!k}"; done
  echo "CC           $CC"
  for sec in unit stress header strict liveness fuzz; do
    echo "== $sec"
    mk_matrix "$sec" | while IFS='|' read -r name cc flags bits; do
      printf '   %-24s %-6s %2s  %s\n' "$name" "$cc" "$bits" "$flags"
    done
  done
fi
