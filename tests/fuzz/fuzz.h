/*
 * fuzz.h — what every harness in tests/fuzz/ defines and shares.
 *
 * Each fuzz_NAME.c defines LLVMFuzzerTestOneInput() (and may define
 * LLVMFuzzerInitialize()).  Built with --enable-fuzzing, libFuzzer supplies
 * main(); otherwise standalone.c does, and replays the files it is given, so
 * the seed corpus and every input a fuzzer ever found run in `make check`
 * with any compiler (tests/fuzz/README.md).
 *
 * The helpers below give a harness a private temporary folder for the code
 * under test that reads files by path (config_load, manifest_load).
 */
#ifndef CT_FUZZ_H
#define CT_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A fresh folder under $TMPDIR (or /dev/shm, or /tmp) for this process, removed with
 * everything in it at exit.  Aborts when it cannot be made. */
const char *fuzz_tmpdir(void);
/* Write `len` bytes to `path` with `mode`, replacing it.  Aborts on error:
 * a harness that cannot set up its input tests nothing. */
void fuzz_write_file(const char *path, const void *data, size_t len, unsigned mode);
/* A NUL-terminated copy of data[0..len) in a block of exactly len + 1
 * bytes, so that AddressSanitizer sees a read past the end.  Caller frees. */
char *fuzz_strndup(const uint8_t *data, size_t len);

#endif
