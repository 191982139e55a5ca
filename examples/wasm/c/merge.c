/*
 * merge: adds up word counts; a WASI command, the reduce function of a word
 * count.
 *
 *     cat counts-1 counts-2 ... | merge.wasm > total
 *
 * Reads `word<TAB>count` lines, as wordcount.wasm prints them, from standard
 * input: the outputs of many tasks, one after the other. Prints the sum for
 * each word, one `word<TAB>count` line per word, by count descending then
 * word ascending (compared as bytes): the output of
 * scripts/reference-wordcount.py, byte for byte.
 *
 * Empty lines are skipped, and the last line may lack its newline. Any other
 * line without a tab followed by a decimal count is an error: the line's
 * number goes to standard error and the exit status is 1. The word is
 * everything before the line's last tab, so it may hold any byte but a
 * newline.
 */
#define PROGRAM "merge"
#include "wordtable.h"

/* The number of the line being parsed, from 1, for error messages. */
static uint64_t line_number;

static void die_at_line(const char *what) {
    fprintf(stderr, PROGRAM ": line %llu of the input: %s\n", (unsigned long long)line_number,
            what);
    exit(1);
}

/* Parses one line, without its newline, and adds its count. */
static void merge_line(const unsigned char *line, size_t len) {
    line_number++;
    if (len == 0)
        return;

    const unsigned char *tab = NULL;
    for (size_t i = len; i-- > 0;) {
        if (line[i] == '\t') {
            tab = line + i;
            break;
        }
    }
    if (tab == NULL)
        die_at_line("expected `word<TAB>count`, found no tab");

    const unsigned char *digit = tab + 1;
    const unsigned char *end = line + len;
    if (digit == end)
        die_at_line("the count after the tab is missing");
    uint64_t count = 0;
    for (; digit < end; digit++) {
        if (*digit < '0' || *digit > '9')
            die_at_line("the count after the tab is not a decimal number");
        uint64_t next = count * 10 + (uint64_t)(*digit - '0');
        if (next / 10 != count)
            die_at_line("the count does not fit in 64 bits");
        count = next;
    }

    table_add(line, (size_t)(tab - line), count);
}

/* Reads standard input to its end, merging every line. */
static void merge_input(void) {
    struct blocks blocks = {0};
    size_t got;
    while ((got = blocks_read(&blocks)) > 0) {
        unsigned char *line = blocks.buffer;
        unsigned char *end = blocks.buffer + blocks.carried + got;
        /* The carried bytes hold no newline: search only the new ones. */
        unsigned char *search = blocks.buffer + blocks.carried;
        unsigned char *newline;
        while ((newline = memchr(search, '\n', (size_t)(end - search))) != NULL) {
            merge_line(line, (size_t)(newline - line));
            line = search = newline + 1;
        }
        blocks_carry(&blocks, line, (size_t)(end - line));
    }

    if (blocks.carried > 0)
        merge_line(blocks.buffer, blocks.carried);
    free(blocks.buffer);
}

/* Count descending, then word ascending as bytes (a prefix first). */
static int by_rank(const void *left, const void *right) {
    const struct entry *a = left, *b = right;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    size_t common = a->len < b->len ? a->len : b->len;
    int order = memcmp(a->word, b->word, common);
    if (order != 0)
        return order;
    return (a->len > b->len) - (a->len < b->len);
}

int main(void) {
    table_init(1u << 16);

    merge_input();

    /* Pack the entries to the front of the table and sort them there. */
    size_t n = 0;
    for (size_t i = 0; i <= table_mask; i++) {
        if (table[i].hash != 0)
            table[n++] = table[i];
    }
    qsort(table, n, sizeof *table, by_rank);

    for (size_t i = 0; i < n; i++)
        put_count(table[i].word, table[i].len, table[i].count);
    flush_output();
    return 0;
}
