/*
 * montecarlo: estimates pi by throwing random points at the unit square, the
 * tasks of a job pooling their counts in shared state; a reactor on
 * CloudButton's host interface (sdk/c/cloudbutton.h).
 *
 * Each task's input is one line of text, "INDEX TASKS SAMPLES": which task
 * it is (from 0), how many tasks the job has, and how many points it throws.
 * It counts the points that fall inside the quarter circle, adds them to the
 * job's counter `montecarlo.hits` (and its points to `montecarlo.samples`),
 * then waits at the barrier `montecarlo.done` until all TASKS tasks have
 * added theirs. Task 0 then reads the totals and writes one line,
 *
 *     pi ~ 3.141593 from 4000000 samples in 4 tasks
 *
 * and the other tasks write nothing. The counters stay in the job's state
 * for the driver to read too.
 *
 * All TASKS tasks must run at once, or the barrier never opens: run the job
 * on at least TASKS worker threads, and give it a time limit, past which a
 * task stuck at the barrier fails rather than waits forever.
 *
 * The points come from SplitMix64 seeded with INDEX, so a run always gives
 * the same estimate.
 */
#include <stdio.h>

#include "cloudbutton.h"

/* SplitMix64 (Steele, Lea and Flood, 2014): a small generator with a 64-bit
 * state, good enough to sample points. */
static uint64_t next_random(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A uniform double in [0, 1), from the top 53 bits. */
static double next_unit(uint64_t *state) {
    return (double)(next_random(state) >> 11) * 0x1.0p-53;
}

CLOUDBUTTON_RUN(void) {
    size_t len;
    unsigned char *input = cb_read_all(&len);
    if (input == NULL)
        return CB_ERR_INPUT;
    long long index, tasks, samples;
    int fields = sscanf((const char *)input, "%lld %lld %lld", &index, &tasks, &samples);
    free(input);
    if (fields != 3 || index < 0 || tasks < 1 || tasks > INT32_MAX || index >= tasks ||
        samples < 0)
        return cb_fail("the input must be one line: INDEX TASKS SAMPLES, with 0 <= INDEX < TASKS");

    uint64_t state = (uint64_t)index;
    int64_t hits = 0;
    for (long long i = 0; i < samples; i++) {
        double x = next_unit(&state), y = next_unit(&state);
        hits += x * x + y * y < 1.0;
    }

    cb_counter_add("montecarlo.hits", hits);
    cb_counter_add("montecarlo.samples", samples);
    cb_barrier_wait("montecarlo.done", (int32_t)tasks);
    if (index != 0)
        return CB_OK;

    /* Past the barrier every task has added its counts. */
    int64_t all_hits = cb_counter_get("montecarlo.hits");
    int64_t all_samples = cb_counter_get("montecarlo.samples");
    if (all_samples == 0)
        return cb_fail("no samples were thrown: give SAMPLES above 0");
    char line[96];
    int n = snprintf(line, sizeof line, "pi ~ %.6f from %lld samples in %lld tasks\n",
                     4.0 * (double)all_hits / (double)all_samples, (long long)all_samples,
                     tasks);
    return cb_write(line, (size_t)n);
}
