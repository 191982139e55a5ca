//! The suite every store must pass: the same checks, run against the
//! in-memory store and against Redis (`CLOUDBUTTON_TEST_REDIS_URL`, which
//! `scripts/test.sh` sets after starting a server). Each check gets a fresh
//! job scope, so checks run in parallel without seeing each other.

mod linearizable;
mod objects;
mod waits;

use std::sync::Arc;

use cloudbutton_state::{MemoryStore, State};

fn memory() -> State {
    State::for_job(Arc::new(MemoryStore::new()))
}

fn redis() -> State {
    let url = std::env::var("CLOUDBUTTON_TEST_REDIS_URL").unwrap_or_else(|_| {
        panic!(
            "CLOUDBUTTON_TEST_REDIS_URL is not set: run the tests with scripts/test.sh, or start \
             a server with `eval \"$(scripts/redis-test-server.sh start)\"`"
        )
    });
    let store = cloudbutton_state::RedisStore::connect(&url)
        .unwrap_or_else(|error| panic!("cannot connect to the test Redis: {error}"));
    State::for_job(Arc::new(store))
}

/// One `#[test]` per check and backend: `memory::counter_basics`,
/// `redis::counter_basics`, and so on.
macro_rules! suite {
    ($($module:ident :: $check:ident),* $(,)?) => {
        mod memory {
            $(#[test]
            fn $check() {
                crate::$module::$check(&crate::memory());
            })*
        }
        mod redis {
            $(#[test]
            fn $check() {
                crate::$module::$check(&crate::redis());
            })*
        }
    };
}

suite!(
    objects::counter_basics,
    objects::counter_overflow_changes_nothing,
    objects::sum_adds_in_order,
    objects::map_basics,
    objects::map_update_and_merge,
    objects::map_decode_error_names_the_map,
    objects::list_appends_and_ranges,
    objects::blob_whole_and_ranged,
    objects::blob_writes_past_the_limit_are_refused,
    objects::scopes_are_separate,
    objects::delete_removes_one_object,
    waits::barrier_holds_every_round,
    waits::barrier_timeout_withdraws,
    waits::barrier_parties_must_agree,
    waits::future_wakes_every_waiter,
    waits::future_timeout_names_it,
    waits::semaphore_bounds_concurrency,
    waits::semaphore_try_and_timeout,
    waits::latch_opens_at_zero,
    waits::interrupt_ends_every_wait,
    linearizable::counter_add_and_get,
    linearizable::counter_compare_and_set_loop,
    linearizable::map_put_chain,
    linearizable::map_merge_under_contention,
);
