# mk/flags.mk -- the compiler flags of every build in this repository, in one
# place.  The Makefile includes this file; the scripts read it through
# mk/flags.sh.  Keep to plain `NAME = value` lines (a value may use $(NAME)
# of a line above): both make and mk/flags.sh read them.  The build matrix
# that combines them is mk/matrix.conf.

# warnings: every C and C++ build of the library, the tests and the examples
WARN = -Wall -Wextra -Wpedantic -Werror
# the header alone and tests/strict/uses_all.c: stricter still
WARN_STRICT = $(WARN) -Wsign-conversion -Wstrict-prototypes -Wshadow
# the benchmarks (built as they always were: no -Wpedantic)
WARN_BENCH = -Wall -Wextra -Werror

# sanitizers (with the optimization and debug info they are run with)
TSAN = -O1 -g -fsanitize=thread
ASAN_UBSAN = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
# the libFuzzer build of tests/fuzz/fuzz_cell.c (clang)
FUZZER = -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
