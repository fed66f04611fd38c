# Fuzzing (tests/fuzz/README.md): one harness per parser of untrusted input.
# Built with --enable-fuzzing, each is a libFuzzer binary (`make fuzz`,
# tests/fuzz/run.sh); otherwise standalone.c gives it a main() that replays
# files, and replay.sh runs it in `make check` over the seed corpus and the
# inputs fuzzing found.

FUZZERS = \
	tests/fuzz/fuzz_config \
	tests/fuzz/fuzz_schedule \
	tests/fuzz/fuzz_result \
	tests/fuzz/fuzz_manifest
check_PROGRAMS += $(FUZZERS)
if ENABLE_FUZZING
FUZZ_MAIN =
else
FUZZ_MAIN = tests/fuzz/standalone.c
endif
FUZZ_COMMON = tests/fuzz/fuzz.h tests/fuzz/fuzzutil.c $(FUZZ_MAIN)
FUZZ_CORE_CFLAGS = $(AM_CFLAGS) $(CORE_INCLUDES) $(JANSSON_CFLAGS) -I$(top_srcdir)/tests/fuzz

tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c $(FUZZ_COMMON)
tests_fuzz_fuzz_config_CFLAGS = $(FUZZ_CORE_CFLAGS)
tests_fuzz_fuzz_config_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_config_LDADD = $(CORE_LIBS)
tests_fuzz_fuzz_schedule_SOURCES = tests/fuzz/fuzz_schedule.c $(FUZZ_COMMON)
tests_fuzz_fuzz_schedule_CFLAGS = $(FUZZ_CORE_CFLAGS)
tests_fuzz_fuzz_schedule_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_schedule_LDADD = $(CORE_LIBS)
tests_fuzz_fuzz_result_SOURCES = tests/fuzz/fuzz_result.c $(FUZZ_COMMON)
tests_fuzz_fuzz_result_CFLAGS = $(FUZZ_CORE_CFLAGS)
tests_fuzz_fuzz_result_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_result_LDADD = $(CORE_LIBS)
# The manifest reader is plugin code: built against plugins/lib only.
tests_fuzz_fuzz_manifest_SOURCES = tests/fuzz/fuzz_manifest.c $(FUZZ_COMMON)
tests_fuzz_fuzz_manifest_CFLAGS = $(BACKUP_PLUGIN_CFLAGS) -I$(top_srcdir)/tests/fuzz
tests_fuzz_fuzz_manifest_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_manifest_LDADD = $(BACKUP_PLUGIN_LIBADD)

TESTS += tests/fuzz/replay.sh
dist_check_SCRIPTS += tests/fuzz/replay.sh tests/fuzz/run.sh
EXTRA_DIST += tests/fuzz/README.md tests/fuzz/corpus tests/fuzz/regress

# The libFuzzer binaries alone, in a --enable-fuzzing build folder.
fuzz: $(FUZZERS)
.PHONY: fuzz
