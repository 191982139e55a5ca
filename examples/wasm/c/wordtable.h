/*
 * wordtable.h: a table of word counts and a buffered output, shared by
 * wordcount.c and merge.c. Header-only, so each example stays one command to
 * build: every function is static.
 *
 * The table is open-addressed with linear probing and keeps each word's full
 * hash, so a probe rarely touches the word itself. A word is copied once,
 * the first time it is seen, into an arena of large chunks: counting never
 * calls malloc per word.
 *
 * Every failure here is fatal: the message goes to standard error, prefixed
 * with PROGRAM (which the including file defines), and the exit status is 1.
 */
#ifndef WORDTABLE_H
#define WORDTABLE_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef PROGRAM
#error "define PROGRAM, the name failures are reported under, before including wordtable.h"
#endif

/* ---- Failing ---------------------------------------------------------------- */

static void die(const char *what) {
    fprintf(stderr, PROGRAM ": %s\n", what);
    exit(1);
}

static void die_errno(const char *what) {
    fprintf(stderr, PROGRAM ": %s: %s\n", what, strerror(errno));
    exit(1);
}

static void *checked_realloc(void *old, size_t size) {
    void *memory = realloc(old, size);
    if (memory == NULL)
        die("out of memory: raise the job's memory limit");
    return memory;
}

/* ---- The arena: where each distinct word is kept once ----------------------- */

#define ARENA_CHUNK (1u << 20)

static unsigned char *arena_next;
static size_t arena_left;

/* Copies a word into the arena. Words are not NUL-terminated: the table keeps
 * their lengths. A long word gets a block of its own, so that it does not
 * waste the rest of a chunk. */
static const unsigned char *arena_copy(const unsigned char *word, size_t len) {
    if (len > arena_left) {
        if (len > ARENA_CHUNK / 4) {
            unsigned char *own = checked_realloc(NULL, len);
            memcpy(own, word, len);
            return own;
        }
        arena_next = checked_realloc(NULL, ARENA_CHUNK);
        arena_left = ARENA_CHUNK;
    }
    unsigned char *copy = arena_next;
    memcpy(copy, word, len);
    arena_next += len;
    arena_left -= len;
    return copy;
}

/* ---- The table ------------------------------------------------------------ */

struct entry {
    uint64_t hash; /* 0 marks an empty slot; real hashes are never 0 */
    const unsigned char *word;
    size_t len;
    uint64_t count;
};

static struct entry *table;
static size_t table_mask; /* capacity - 1; the capacity is a power of two */
static size_t table_used;

/* FNV-1a over the word's bytes, with the top bit set so that no hash is 0. */
static inline uint64_t hash_word(const unsigned char *word, size_t len) {
    uint64_t hash = 0xcbf29ce484222325u;
    for (size_t i = 0; i < len; i++)
        hash = (hash ^ word[i]) * 0x100000001b3u;
    return hash | (1ull << 63);
}

/* Makes an empty table; `capacity` is a power of two. */
static void table_init(size_t capacity) {
    table = calloc(capacity, sizeof *table);
    if (table == NULL)
        die("out of memory: raise the job's memory limit");
    table_mask = capacity - 1;
    table_used = 0;
}

/* Doubles the table, placing entries by their stored hashes. */
static void table_grow(void) {
    struct entry *old = table;
    size_t old_capacity = table_mask + 1;
    table_init(old_capacity * 2);
    for (size_t i = 0; i < old_capacity; i++) {
        if (old[i].hash == 0)
            continue;
        size_t slot = (size_t)old[i].hash & table_mask;
        while (table[slot].hash != 0)
            slot = (slot + 1) & table_mask;
        table[slot] = old[i];
        table_used++;
    }
    free(old);
}

/* Adds `count` to a word's count, entering the word if it is new. The word
 * is copied when entered, so the caller's bytes may change afterwards. */
static inline void table_add(const unsigned char *word, size_t len, uint64_t count) {
    uint64_t hash = hash_word(word, len);
    size_t slot = (size_t)hash & table_mask;
    for (;;) {
        struct entry *e = &table[slot];
        if (e->hash == hash && e->len == len && memcmp(e->word, word, len) == 0) {
            e->count += count;
            return;
        }
        if (e->hash == 0)
            break;
        slot = (slot + 1) & table_mask;
    }

    table[slot] = (struct entry){hash, arena_copy(word, len), len, count};
    /* Keep the load at most 1/2, so that probe runs stay short. */
    if (++table_used * 2 > table_mask + 1)
        table_grow();
}

/* ---- Buffered standard output ----------------------------------------------- */

#define OUTPUT_BUFFER (1u << 16)

static unsigned char output[OUTPUT_BUFFER];
static size_t output_len;

static void flush_output(void) {
    size_t done = 0;
    while (done < output_len) {
        ssize_t wrote = write(1, output + done, output_len - done);
        if (wrote < 0) {
            if (errno == EINTR)
                continue;
            die_errno("cannot write standard output");
        }
        done += (size_t)wrote;
    }
    output_len = 0;
}

static void put_bytes(const unsigned char *bytes, size_t len) {
    while (len > 0) {
        if (output_len == OUTPUT_BUFFER)
            flush_output();
        size_t room = OUTPUT_BUFFER - output_len;
        size_t piece = len < room ? len : room;
        memcpy(output + output_len, bytes, piece);
        output_len += piece;
        bytes += piece;
        len -= piece;
    }
}

/* Writes `word<TAB>count<LF>`, the line format of every word count output. */
static void put_count(const unsigned char *word, size_t len, uint64_t count) {
    unsigned char digits[24];
    size_t n = sizeof digits;
    digits[--n] = '\n';
    do {
        digits[--n] = (unsigned char)('0' + count % 10);
        count /= 10;
    } while (count > 0);
    digits[--n] = '\t';

    put_bytes(word, len);
    put_bytes(digits + n, sizeof digits - n);
}

/* ---- Reading standard input in blocks ----------------------------------------- */

#define BLOCK_SIZE (1u << 20)

/* A buffer for reading standard input block by block, where the unfinished
 * record (a word, a line) that one block ends in is carried to the start of
 * the buffer and continued by the next block. */
struct blocks {
    unsigned char *buffer;
    size_t capacity;
    size_t carried; /* bytes of an unfinished record at the buffer's start */
};

/* Reads the next block after the carried bytes. Returns its length, 0 at the
 * end of the input. The buffer grows only when a single record is longer
 * than half a block, so reads stay large. */
static size_t blocks_read(struct blocks *b) {
    if (b->capacity - b->carried < BLOCK_SIZE / 2) {
        b->capacity = b->capacity == 0 ? BLOCK_SIZE : b->capacity * 2;
        b->buffer = checked_realloc(b->buffer, b->capacity);
    }
    for (;;) {
        ssize_t got = read(0, b->buffer + b->carried, b->capacity - b->carried);
        if (got >= 0)
            return (size_t)got;
        if (errno != EINTR)
            die_errno("cannot read standard input");
    }
}

/* Keeps the `len` bytes at `start` (inside the buffer) as the carried
 * record for the next block. */
static void blocks_carry(struct blocks *b, const unsigned char *start, size_t len) {
    memmove(b->buffer, start, len);
    b->carried = len;
}

#endif /* WORDTABLE_H */
