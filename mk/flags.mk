# mk/flags.mk -- the compiler flags of every build in this repository, in one
# place.  The Makefile includes this file; the scripts read it through
# mk/flags.sh.  Keep to plain `NAME = value` lines (a value may use $(NAME)
# of a line above): both make and mk/flags.sh read them.  The build matrix
# that combines them is mk/matrix.conf.

# warnings: every C and C++ build of the library, the tests and the examples
WARN = -Wall -Wextra -Wpedantic -Werror
# the header alone and tests/strict/uses_all.c: stricter still
WARN_STRICT = $(WARN) -Wsign-conversion -Wstrict-prototypes -Wshadow
# a strict user's own program (tests/strict: the "strict" builds): what they
# enable must report nothing from memo -- from the header, or from what
# MEMOIZE & co. expand to on their lines.  Not: -Winline (the optimizer's
# inlining decisions at the user's calls), -Wtraditional-conversion (K&R).
WARN_USER = $(WARN_STRICT) -Wcast-qual -Wconversion -Wmissing-prototypes -Wmissing-declarations -Wdeclaration-after-statement -Wredundant-decls -Wundef -Wcast-align -Wpointer-arith -Wwrite-strings -Wold-style-definition -Wnested-externs -Wbad-function-cast -Wswitch-enum -Wformat=2 -Wnull-dereference -Wdouble-promotion -Wvla -Wfloat-equal
# ... and GCC's own on top
WARN_USER_GCC = $(WARN_USER) -Wduplicated-cond -Wduplicated-branches -Wlogical-op -Wjump-misses-init
# clang: every warning there is, none passed back (-Wno-...)
WARN_EVERYTHING = -Weverything -Werror
# the benchmarks (built as they always were: no -Wpedantic)
WARN_BENCH = -Wall -Wextra -Werror

# sanitizers (with the optimization and debug info they are run with)
TSAN = -O1 -g -fsanitize=thread
ASAN_UBSAN = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
# the libFuzzer build of tests/fuzz/fuzz_cell.c (clang)
FUZZER = -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
