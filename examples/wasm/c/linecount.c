/*
 * linecount: counts the lines of the task's input; a reactor module that
 * uses CloudButton's host interface (sdk/c/cloudbutton.h) rather than WASI
 * standard input and output.
 *
 * Writes the count as decimal text and a newline. A line is a run of bytes
 * ended by a newline, or the bytes after the last newline if there are any:
 * "a\nb" has 2 lines, "a\nb\n" has 2, "" has 0.
 *
 * The input is streamed through a fixed buffer, so the module needs little
 * memory whatever the chunk size.
 */
#include <stdio.h>

#include "cloudbutton.h"

#define BUFFER_SIZE (1 << 16)

static unsigned char buffer[BUFFER_SIZE];

CLOUDBUTTON_RUN(void) {
    uint64_t lines = 0;
    int last_was_newline = 1; /* so that empty input has no lines */

    for (;;) {
        int32_t got = cloudbutton_input_read(buffer, BUFFER_SIZE);
        if (got < 0)
            return cb_fail("the host refused to read the input");
        if (got == 0)
            break;
        for (int32_t i = 0; i < got; i++)
            lines += buffer[i] == '\n';
        last_was_newline = buffer[got - 1] == '\n';
    }
    if (!last_was_newline)
        lines++;

    char text[32];
    int len = snprintf(text, sizeof text, "%llu\n", (unsigned long long)lines);

    char message[64];
    snprintf(message, sizeof message, "counted %llu lines in %lld bytes",
             (unsigned long long)lines, (long long)cloudbutton_input_size());
    cb_log(CB_LOG_DEBUG, message);

    return cb_write(text, (size_t)len);
}
