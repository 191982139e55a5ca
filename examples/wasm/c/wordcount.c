/*
 * wordcount: counts the words of its standard input; a WASI command, the map
 * function of a word count.
 *
 *     wordcount.wasm < chunk > counts
 *
 * A word is a maximal run of ASCII letters and digits, lowercased; every
 * other byte separates words. This is the rule of CloudButton's native word
 * count (src/text.rs) and of scripts/reference-wordcount.py, so results can
 * be compared byte for byte once merge.wasm has reduced them.
 *
 * Prints one `word<TAB>count` line per distinct word, in no particular
 * order. Exits 1 with a message on standard error if memory runs out or a
 * read or write fails.
 *
 * The input is read in 1 MiB blocks and lowercased in place; each word is
 * looked up where it lies in the block, and copied only the first time it is
 * seen. A word that a block ends inside is moved to the front of the buffer
 * and finished by the next block.
 */
#define PROGRAM "wordcount"
#include "wordtable.h"

/* WORD_BYTE[b] is b lowercased if b is an ASCII letter or digit, else 0. */
static unsigned char WORD_BYTE[256];

static void init_word_bytes(void) {
    for (int b = '0'; b <= '9'; b++)
        WORD_BYTE[b] = (unsigned char)b;
    for (int b = 'a'; b <= 'z'; b++) {
        WORD_BYTE[b] = (unsigned char)b;
        WORD_BYTE[b - 'a' + 'A'] = (unsigned char)b;
    }
}

/* Reads standard input to its end and counts its words. */
static void count_input(void) {
    struct blocks blocks = {0};
    size_t got;
    while ((got = blocks_read(&blocks)) > 0) {
        unsigned char *p = blocks.buffer + blocks.carried;
        unsigned char *end = p + got;
        unsigned char *word = blocks.buffer; /* where the current word starts */
        int in_word = blocks.carried > 0;

        /* Lowercase in place and cut at separators. */
        for (; p < end; p++) {
            unsigned char b = WORD_BYTE[*p];
            if (b != 0) {
                *p = b;
                if (!in_word) {
                    word = p;
                    in_word = 1;
                }
            } else if (in_word) {
                table_add(word, (size_t)(p - word), 1);
                in_word = 0;
            }
        }

        /* The block ended inside a word, which may go on in the next one. */
        blocks_carry(&blocks, word, in_word ? (size_t)(end - word) : 0);
    }

    if (blocks.carried > 0)
        table_add(blocks.buffer, blocks.carried, 1);
    free(blocks.buffer);
}

int main(void) {
    init_word_bytes();
    table_init(1u << 16);

    count_input();

    for (size_t i = 0; i <= table_mask; i++) {
        if (table[i].hash != 0)
            put_count(table[i].word, table[i].len, table[i].count);
    }
    flush_output();
    return 0;
}
