/*
 * cloudbutton.h: the CloudButton host interface for WebAssembly functions
 * written in C, ABI version 1.
 *
 * A reactor module includes this header, defines one function with
 * CLOUDBUTTON_RUN, and is built with
 *
 *     clang --target=wasm32-wasi -mexec-model=reactor -O2 -I sdk/c \
 *         linecount.c -o linecount.wasm
 *
 * The host instantiates the module, calls `_initialize` (which the reactor
 * start file of wasi-libc provides), then calls `cloudbutton_run` once per
 * task. docs/wasm-abi.md is the full contract; this file only declares it and
 * adds a few helpers.
 *
 *     #include "cloudbutton.h"
 *
 *     CLOUDBUTTON_RUN(void) {
 *         size_t size;
 *         unsigned char *input = cb_read_all(&size);
 *         if (input == NULL)
 *             return cb_fail("cannot read the input");
 *         ...
 *         return cb_write(result, result_len);
 *     }
 *
 * Every helper returns 0 on success or a non-zero failure code, so a run
 * function can return their result directly. The failure codes are the
 * CB_ERR_* constants below; the host treats any non-zero result as a failed
 * task.
 */
#ifndef CLOUDBUTTON_H
#define CLOUDBUTTON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if !defined(__wasm32__)
#error "cloudbutton.h is for WebAssembly guests: build with --target=wasm32-wasi"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the host interface this header declares. */
#define CLOUDBUTTON_ABI_VERSION 1

/* ---- The host's imports (module "cloudbutton") -------------------------- */

#define CB_IMPORT(name) __attribute__((import_module("cloudbutton"), import_name(name)))

/* The total size of the task's input in bytes. It does not change while the
 * task runs, however much of the input has been read. */
CB_IMPORT("input_size") int64_t cloudbutton_input_size(void);

/* Copies the next bytes of the input, at most `len`, to `ptr`. Returns how
 * many were copied, 0 once the whole input has been read, or -1 if
 * [ptr, ptr + len) is not inside the module's memory. It may return fewer
 * bytes than asked for before the end: call it until it returns 0. */
CB_IMPORT("input_read") int32_t cloudbutton_input_read(void *ptr, int32_t len);

/* Appends `len` bytes at `ptr` to the task's output. Returns 0, or -1 if the
 * bytes would take the output past the job's output limit: then nothing of
 * them is appended and the task fails, whatever it returns. A range outside
 * the module's memory traps, and so does one passed to `log` or `set_error`. */
CB_IMPORT("output_write") int32_t cloudbutton_output_write(const void *ptr, int32_t len);

/* Writes one message to the task's log, at a CB_LOG_* level. Messages the
 * job's log level filters out cost one call and nothing more. */
CB_IMPORT("log") void cloudbutton_log(int32_t level, const void *ptr, int32_t len);

/* Sets the message of the failure that `cloudbutton_run` is about to return;
 * the last one set wins. It is shown with the task's failure, beside the
 * input that the task was given. */
CB_IMPORT("set_error") void cloudbutton_set_error(const void *ptr, int32_t len);

#undef CB_IMPORT

/* Log levels for cloudbutton_log. */
enum {
    CB_LOG_ERROR = 0,
    CB_LOG_WARN = 1,
    CB_LOG_INFO = 2,
    CB_LOG_DEBUG = 3,
};

/* Failure codes of the helpers. Any non-zero value fails the task; these
 * only tell apart where it failed. */
enum {
    CB_OK = 0,
    CB_ERR_FAILED = 1,       /* cb_fail: the function's own failure */
    CB_ERR_INPUT = 2,        /* the host refused an input read */
    CB_ERR_OUTPUT_LIMIT = 3, /* the output limit would be exceeded */
    CB_ERR_NO_MEMORY = 4,    /* malloc failed */
};

/* ---- The export -------------------------------------------------------- */

/* Defines the task's entry point, the export `cloudbutton_run`:
 *
 *     CLOUDBUTTON_RUN(void) { ...; return 0; }
 *
 * It returns 0 for success and anything else for failure. Without the macro:
 *
 *     __attribute__((export_name("cloudbutton_run"))) int32_t my_run(void)
 */
#define CLOUDBUTTON_RUN \
    __attribute__((export_name("cloudbutton_run"))) int32_t cloudbutton_run

/* ---- Helpers ----------------------------------------------------------- */

/* Logs a NUL-terminated message at `level`. */
static inline void cb_log(int32_t level, const char *message) {
    cloudbutton_log(level, message, (int32_t)strlen(message));
}

/* Records `message` as the task's failure and returns CB_ERR_FAILED, so that
 * `return cb_fail("...");` ends a run function. */
static inline int32_t cb_fail(const char *message) {
    cloudbutton_set_error(message, (int32_t)strlen(message));
    return CB_ERR_FAILED;
}

/* Appends `len` bytes to the output. Buffers of 2 GiB or more are written in
 * pieces, since one call takes a 32-bit length. Returns CB_OK, or
 * CB_ERR_OUTPUT_LIMIT after setting the failure message. */
static inline int32_t cb_write(const void *data, size_t len) {
    const unsigned char *bytes = (const unsigned char *)data;
    while (len > 0) {
        int32_t piece = len > INT32_MAX ? INT32_MAX : (int32_t)len;
        if (cloudbutton_output_write(bytes, piece) != 0) {
            static const char message[] = "the output would exceed the job's output limit";
            cloudbutton_set_error(message, (int32_t)(sizeof message - 1));
            return CB_ERR_OUTPUT_LIMIT;
        }
        bytes += piece;
        len -= (size_t)piece;
    }
    return CB_OK;
}

/* Appends a NUL-terminated string to the output. */
static inline int32_t cb_write_str(const char *text) {
    return cb_write(text, strlen(text));
}

/* Reads up to `len` bytes of the input into `buffer`, stopping early only at
 * the end of the input. Returns the number read (less than `len` only at the
 * end), or -1 if the host refused the read. */
static inline int64_t cb_read(void *buffer, size_t len) {
    unsigned char *bytes = (unsigned char *)buffer;
    size_t done = 0;
    while (done < len) {
        size_t want = len - done;
        int32_t piece = want > INT32_MAX ? INT32_MAX : (int32_t)want;
        int32_t got = cloudbutton_input_read(bytes + done, piece);
        if (got < 0)
            return -1;
        if (got == 0)
            break;
        done += (size_t)got;
    }
    return (int64_t)done;
}

/* Reads the whole remaining input into a buffer from malloc, which the
 * caller frees. `*len` receives its length. One byte more than the input is
 * allocated and set to NUL, so text input can be used as a C string (input
 * with NUL bytes in it is still returned whole). Returns NULL, after setting
 * the failure message, if memory runs out or the host refuses the read. */
static inline unsigned char *cb_read_all(size_t *len) {
    int64_t size = cloudbutton_input_size();
    if (size < 0 || (uint64_t)size >= SIZE_MAX) {
        cb_fail("the input is too large for this module's memory");
        return NULL;
    }

    unsigned char *buffer = (unsigned char *)malloc((size_t)size + 1);
    if (buffer == NULL) {
        cb_fail("out of memory reading the input: raise the job's memory limit");
        return NULL;
    }

    int64_t got = cb_read(buffer, (size_t)size);
    if (got < 0) {
        free(buffer);
        cb_fail("the host refused to read the input");
        return NULL;
    }
    buffer[got] = '\0';
    *len = (size_t)got;
    return buffer;
}

#ifdef __cplusplus
}
#endif

#endif /* CLOUDBUTTON_H */
