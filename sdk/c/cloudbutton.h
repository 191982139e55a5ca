/*
 * cloudbutton.h: the CloudButton host interface for WebAssembly functions
 * written in C, ABI version 2.
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
#define CLOUDBUTTON_ABI_VERSION 2

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

/* ---- Shared state (ABI version 2) ----------------------------------------
 *
 * Named objects that every task of the job sees, and the driver too: the
 * same ones a native Rust function reaches through `ctx.state()`. Each call
 * names its object by `name`, `name_len` bytes of UTF-8 (not NUL-terminated:
 * the cb_* helpers below take C strings). Objects of different kinds may
 * share a name. An object that does not exist yet is created empty (0, no
 * keys, no items, no bytes) by its first use.
 *
 * Map keys and values, list items, future values and blobs are raw bytes,
 * stored exactly as given. A call that returns a value copies it to
 * `out`, which holds `cap` bytes, only if it fits, and returns its length
 * either way, or -1 if there is no value: call again with a larger buffer
 * when the result is larger than `cap`.
 *
 * A bad range (name, key, value or buffer outside the module's memory), a
 * name that is not UTF-8, a negative count or offset, a counter that would
 * overflow, and an object used with other parameters than it was made with
 * (a barrier of 4 parties joined as one of 3) all trap: the task fails
 * with a message that names the call and the object.
 *
 * The calls that wait (barrier, future, latch, semaphore) are woken by the
 * call that releases them. They wait no longer than the task's time limit:
 * past it, the task fails with a time-limit error, as a long loop would. */

/* Counter: adds `delta` to a 64-bit integer and returns the new value. */
CB_IMPORT("counter_add")
int64_t cloudbutton_counter_add(const char *name, int32_t name_len, int64_t delta);

/* Counter: the value now. */
CB_IMPORT("counter_get") int64_t cloudbutton_counter_get(const char *name, int32_t name_len);

/* Counter: sets it to `value` if it is `expected`; returns 1 if it was set,
 * 0 if not. */
CB_IMPORT("counter_compare_and_set")
int32_t cloudbutton_counter_compare_and_set(const char *name, int32_t name_len,
                                            int64_t expected, int64_t value);

/* Sum: adds `delta` to a double and returns the new value. Additions are
 * applied one at a time, in the order they arrive. */
CB_IMPORT("sum_add") double cloudbutton_sum_add(const char *name, int32_t name_len, double delta);

/* Sum: the value now. */
CB_IMPORT("sum_get") double cloudbutton_sum_get(const char *name, int32_t name_len);

/* Map: copies the value of `key` to `out` if it fits in `cap` bytes, and
 * returns its length, or -1 if the key is absent. */
CB_IMPORT("map_get")
int64_t cloudbutton_map_get(const char *name, int32_t name_len, const void *key, int32_t key_len,
                            void *out, int32_t cap);

/* Map: stores `value` under `key`; returns 1 if it replaced a value, 0 if
 * the key was new. */
CB_IMPORT("map_put")
int32_t cloudbutton_map_put(const char *name, int32_t name_len, const void *key, int32_t key_len,
                            const void *value, int32_t value_len);

/* Map: removes `key`; returns 1 if it was there, 0 if not. */
CB_IMPORT("map_remove")
int32_t cloudbutton_map_remove(const char *name, int32_t name_len, const void *key,
                               int32_t key_len);

/* Map: the number of keys. */
CB_IMPORT("map_len") int64_t cloudbutton_map_len(const char *name, int32_t name_len);

/* Map: adds `count` doubles to the value of `key`, element by element, in
 * one atomic step; an absent key takes them as they are. The value is the
 * doubles' bytes, little-endian, as in memory: a map_get of `count * 8`
 * bytes reads them back. Adding to a value of another length traps. For
 * partial sums that many tasks merge, such as k-means centroids. */
CB_IMPORT("map_add_f64s")
void cloudbutton_map_add_f64s(const char *name, int32_t name_len, const void *key,
                              int32_t key_len, const double *values, int32_t count);

/* List: appends one item and returns the new length. */
CB_IMPORT("list_append")
int64_t cloudbutton_list_append(const char *name, int32_t name_len, const void *value,
                                int32_t value_len);

/* List: the number of items. */
CB_IMPORT("list_len") int64_t cloudbutton_list_len(const char *name, int32_t name_len);

/* List: copies item `index` (from 0) to `out` if it fits in `cap` bytes, and
 * returns its length, or -1 past the end. */
CB_IMPORT("list_get")
int64_t cloudbutton_list_get(const char *name, int32_t name_len, int64_t index, void *out,
                             int32_t cap);

/* Blob: copies up to `len` bytes from `offset` to `out`; returns how many,
 * fewer past the end and 0 beyond it. */
CB_IMPORT("blob_read")
int64_t cloudbutton_blob_read(const char *name, int32_t name_len, int64_t offset, void *out,
                              int32_t len);

/* Blob: writes `len` bytes at `offset`, filling any gap before it with zeros,
 * and returns the new length. */
CB_IMPORT("blob_write")
int64_t cloudbutton_blob_write(const char *name, int32_t name_len, int64_t offset,
                               const void *data, int32_t len);

/* Blob: the length in bytes. */
CB_IMPORT("blob_len") int64_t cloudbutton_blob_len(const char *name, int32_t name_len);

/* Barrier: waits until `parties` tasks have arrived, then lets them all go
 * and returns the round that completed, from 0. Every task must give the
 * same `parties`, and as many tasks must run at once: a barrier of 8 in a
 * job on 4 worker threads never opens. */
CB_IMPORT("barrier_wait")
int64_t cloudbutton_barrier_wait(const char *name, int32_t name_len, int32_t parties);

/* Future: sets the value if it has none; returns 1 if this call set it, 0 if
 * it was set already (the value stays). */
CB_IMPORT("future_set")
int32_t cloudbutton_future_set(const char *name, int32_t name_len, const void *value,
                               int32_t value_len);

/* Future: waits until it is set, then copies the value to `out` if it fits
 * in `cap` bytes and returns its length. */
CB_IMPORT("future_get")
int64_t cloudbutton_future_get(const char *name, int32_t name_len, void *out, int32_t cap);

/* Future: like cloudbutton_future_get without waiting: -1 if not set. */
CB_IMPORT("future_try_get")
int64_t cloudbutton_future_try_get(const char *name, int32_t name_len, void *out, int32_t cap);

/* Latch made to open after `count` count-downs: counts down by one, not
 * below 0, and returns the count left. */
CB_IMPORT("latch_count_down")
int64_t cloudbutton_latch_count_down(const char *name, int32_t name_len, int32_t count);

/* Latch made with `count`: waits until it is counted down to 0. */
CB_IMPORT("latch_wait")
void cloudbutton_latch_wait(const char *name, int32_t name_len, int32_t count);

/* Semaphore made with `initial` permits: takes `permits`, waiting until
 * that many are available. */
CB_IMPORT("semaphore_acquire")
void cloudbutton_semaphore_acquire(const char *name, int32_t name_len, int32_t initial,
                                   int32_t permits);

/* Semaphore made with `initial` permits: gives back `permits`. */
CB_IMPORT("semaphore_release")
void cloudbutton_semaphore_release(const char *name, int32_t name_len, int32_t initial,
                                   int32_t permits);

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

/* ---- Shared-state helpers: the same calls, named by C strings ---------- */

/* Adds `delta` to the counter `name` and returns the new value. */
static inline int64_t cb_counter_add(const char *name, int64_t delta) {
    return cloudbutton_counter_add(name, (int32_t)strlen(name), delta);
}

/* The value of the counter `name`. */
static inline int64_t cb_counter_get(const char *name) {
    return cloudbutton_counter_get(name, (int32_t)strlen(name));
}

/* Adds `delta` to the sum `name` and returns the new value. */
static inline double cb_sum_add(const char *name, double delta) {
    return cloudbutton_sum_add(name, (int32_t)strlen(name), delta);
}

/* The value of the sum `name`. */
static inline double cb_sum_get(const char *name) {
    return cloudbutton_sum_get(name, (int32_t)strlen(name));
}

/* Waits at the barrier `name` of `parties`; returns the round, from 0. */
static inline int64_t cb_barrier_wait(const char *name, int32_t parties) {
    return cloudbutton_barrier_wait(name, (int32_t)strlen(name), parties);
}

/* Counts the latch `name` of `count` down; returns the count left. */
static inline int64_t cb_latch_count_down(const char *name, int32_t count) {
    return cloudbutton_latch_count_down(name, (int32_t)strlen(name), count);
}

/* Waits until the latch `name` of `count` is counted down to 0. */
static inline void cb_latch_wait(const char *name, int32_t count) {
    cloudbutton_latch_wait(name, (int32_t)strlen(name), count);
}

/* Adds `count` doubles to the value of the C-string key `key` of the map
 * `name`, element by element. */
static inline void cb_map_add_f64s(const char *name, const char *key, const double *values,
                                   int32_t count) {
    cloudbutton_map_add_f64s(name, (int32_t)strlen(name), key, (int32_t)strlen(key), values,
                             count);
}

#ifdef __cplusplus
}
#endif

#endif /* CLOUDBUTTON_H */
