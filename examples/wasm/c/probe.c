/*
 * probe: a WASI command that tries one thing the sandbox should allow or
 * refuse, for the tests of CloudButton's WebAssembly runner.
 *
 *     probe.wasm read PATH    prints the file at PATH
 *     probe.wasm write PATH   creates (or truncates) the file at PATH, holding "x"
 *     probe.wasm loop         spins forever: for timeouts and fuel
 *     probe.wasm alloc        takes memory 16 MiB at a time until malloc fails,
 *                             then exits 3 (or traps, if the runtime traps first)
 *     probe.wasm echo         copies standard input to standard output
 *     probe.wasm env          prints the environment, one VAR=value a line
 *     probe.wasm args         prints its arguments, one a line, argv[0] first
 *     probe.wasm exit N       exits with status N
 *
 * `read` and `write` print the reason of a failure (strerror) to standard
 * error and exit 2; a sandbox without a preopened directory fails them. A
 * usage error exits 64.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ALLOC_STEP (16u << 20)

extern char **environ;

static int usage(void) {
    fputs("usage: probe read PATH | write PATH | loop | alloc | echo | env | args | exit N\n",
          stderr);
    return 64;
}

/* Reports a failed file operation on PATH and returns the exit status 2. */
static int file_failure(const char *what, const char *path) {
    fprintf(stderr, "probe: cannot %s %s: %s\n", what, path, strerror(errno));
    return 2;
}

/* Static, not on the stack: a WebAssembly module's stack is 64 KiB unless
 * linked with a larger one. */
static char buffer[1 << 16];

/* Copies a stream to standard output; returns 0, or -1 with errno set. */
static int copy_to_stdout(FILE *from) {
    size_t got;
    while ((got = fread(buffer, 1, sizeof buffer, from)) > 0) {
        if (fwrite(buffer, 1, got, stdout) != got)
            return -1;
    }
    if (ferror(from))
        return -1;
    return fflush(stdout) == 0 ? 0 : -1;
}

static int read_file(const char *path) {
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return file_failure("open", path);
    if (copy_to_stdout(file) != 0)
        return file_failure("read", path);
    fclose(file);
    return 0;
}

static int write_file(const char *path) {
    FILE *file = fopen(path, "wb");
    if (file == NULL)
        return file_failure("create", path);
    if (fputs("x", file) == EOF || fclose(file) != 0)
        return file_failure("write", path);
    return 0;
}

static int spin(void) {
    /* volatile, so that the compiler keeps a loop with no visible effect. */
    volatile unsigned long counter = 0;
    for (;;)
        counter++;
}

/* The blocks taken so far, chained through their first bytes. Holding them in
 * a volatile global keeps the compiler from proving them unused and taking
 * the allocations away. */
static void *volatile kept;

static int allocate_until_refused(void) {
    for (size_t total = 0;; total += ALLOC_STEP) {
        char *block = malloc(ALLOC_STEP);
        if (block == NULL) {
            fprintf(stderr, "probe: malloc refused after %zu MiB\n", total >> 20);
            return 3;
        }
        /* Touch every page, so that the memory is really taken. */
        for (size_t i = 0; i < ALLOC_STEP; i += 4096)
            block[i] = 1;
        *(void **)block = kept;
        kept = block;
    }
}

static int print_lines(char **lines) {
    for (; *lines != NULL; lines++)
        puts(*lines);
    return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc < 2)
        return usage();
    const char *action = argv[1];

    if (strcmp(action, "read") == 0 && argc == 3)
        return read_file(argv[2]);
    if (strcmp(action, "write") == 0 && argc == 3)
        return write_file(argv[2]);
    if (strcmp(action, "loop") == 0)
        return spin();
    if (strcmp(action, "alloc") == 0)
        return allocate_until_refused();
    if (strcmp(action, "echo") == 0)
        return copy_to_stdout(stdin) == 0 ? 0 : 1;
    if (strcmp(action, "env") == 0)
        return print_lines(environ);
    if (strcmp(action, "args") == 0)
        return print_lines(argv);
    if (strcmp(action, "exit") == 0 && argc == 3)
        return atoi(argv[2]);
    return usage();
}
