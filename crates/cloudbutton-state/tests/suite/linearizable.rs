//! Many threads on the same counter or map at once, with every operation's
//! invocation and response time recorded; the histories are then checked
//! for linearizability. For these objects that check is exact and cheap:
//!
//! - Increments by 1 are linearizable exactly when the values returned are
//!   1..=n, each once, and an increment that finished before another began
//!   returned the smaller value.
//! - Puts that return the previous value chain every put of a key to the
//!   one before it. The history is linearizable exactly when that chain is
//!   a single line from the first put (previous: none) through every put,
//!   ending at the value a final read sees, and an earlier put in real time
//!   never comes later in the chain.

use std::collections::HashMap;
use std::thread;
use std::time::Instant;

use cloudbutton_state::State;

const THREADS: usize = 16;
const OPS: usize = 150;

/// One completed operation: when it was invoked, when it returned, and its
/// place in the order the object claims.
#[derive(Clone, Copy, Debug)]
struct Event {
    invoked: Instant,
    returned: Instant,
    order: u64,
}

/// Panics unless every event that returned before another was invoked also
/// comes first in `order`. Orders must be distinct.
fn check_real_time(events: &mut [Event]) {
    events.sort_by_key(|event| event.order);
    // Walking from the last in order, keep the earliest return seen so far:
    // no event may be invoked after something later in order returned.
    let mut earliest_return_after: Option<Instant> = None;
    for event in events.iter().rev() {
        if let Some(returned) = earliest_return_after {
            assert!(
                event.invoked <= returned,
                "operation at position {} began after one at a later position had returned",
                event.order
            );
        }
        earliest_return_after = Some(match earliest_return_after {
            Some(earliest) => earliest.min(event.returned),
            None => event.returned,
        });
    }
}

pub fn counter_add_and_get(state: &State) {
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let counter = state.counter("hits");
            thread::spawn(move || {
                (0..OPS)
                    .map(|_| {
                        let invoked = Instant::now();
                        let value = counter.increment().unwrap();
                        Event {
                            invoked,
                            returned: Instant::now(),
                            order: value as u64,
                        }
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut events: Vec<Event> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();

    let total = (THREADS * OPS) as u64;
    let mut values: Vec<u64> = events.iter().map(|event| event.order).collect();
    values.sort_unstable();
    assert_eq!(values, (1..=total).collect::<Vec<_>>(), "each value once");
    check_real_time(&mut events);
    assert_eq!(state.counter("hits").get().unwrap(), total as i64);
}

pub fn counter_compare_and_set_loop(state: &State) {
    let threads: Vec<_> = (0..THREADS / 2)
        .map(|_| {
            let counter = state.counter("cas");
            thread::spawn(move || {
                let mut won = Vec::new();
                for _ in 0..OPS / 3 {
                    let mut current = counter.get().unwrap();
                    loop {
                        let found = counter.compare_and_swap(current, current + 1).unwrap();
                        if found == current {
                            won.push(current);
                            break;
                        }
                        current = found;
                    }
                }
                won
            })
        })
        .collect();
    let mut won: Vec<i64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    won.sort_unstable();
    let total = (THREADS / 2 * (OPS / 3)) as i64;
    assert_eq!(
        won,
        (0..total).collect::<Vec<_>>(),
        "every swap took a distinct value"
    );
    assert_eq!(state.counter("cas").get().unwrap(), total);
}

pub fn map_put_chain(state: &State) {
    const KEYS: u32 = 3;
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let map = state.map::<u32, (usize, usize)>("chain");
            thread::spawn(move || {
                (0..OPS)
                    .map(|op| {
                        let key = (op as u32) % KEYS;
                        let invoked = Instant::now();
                        let previous = map.put(&key, &(thread, op)).unwrap();
                        (key, (thread, op), previous, invoked, Instant::now())
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let history: Vec<_> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();

    let map = state.map::<u32, (usize, usize)>("chain");
    for key in 0..KEYS {
        let puts: Vec<_> = history.iter().filter(|put| put.0 == key).collect();
        // The put that followed each value, and the one that came first.
        let mut next = HashMap::new();
        let mut first = None;
        for put in &puts {
            match put.2 {
                None => assert!(
                    first.replace(put.1).is_none(),
                    "two first puts of key {key}"
                ),
                Some(previous) => assert!(
                    next.insert(previous, put.1).is_none(),
                    "two puts of key {key} replaced {previous:?}"
                ),
            }
        }
        let mut position = HashMap::new();
        let mut at = first.expect("a first put");
        loop {
            position.insert(at, position.len() as u64);
            match next.get(&at) {
                Some(following) => at = *following,
                None => break,
            }
        }
        assert_eq!(
            position.len(),
            puts.len(),
            "the chain of key {key} has every put"
        );
        assert_eq!(
            map.get(&key).unwrap(),
            Some(at),
            "the last of the chain is the value"
        );

        let mut events: Vec<Event> = puts
            .iter()
            .map(|put| Event {
                invoked: put.3,
                returned: put.4,
                order: position[&put.1],
            })
            .collect();
        check_real_time(&mut events);
    }
}

pub fn map_merge_under_contention(state: &State) {
    const KEYS: u64 = 4;
    let threads: Vec<_> = (0..THREADS / 2)
        .map(|thread| {
            let map = state.map::<u64, u64>("totals");
            thread::spawn(move || {
                for op in 0..OPS / 3 {
                    let key = (op as u64 + thread as u64) % KEYS;
                    map.merge(key, key + 1, |old, new| old + new).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let mut expected = vec![0u64; KEYS as usize];
    for thread in 0..THREADS / 2 {
        for op in 0..OPS / 3 {
            let key = (op as u64 + thread as u64) % KEYS;
            expected[key as usize] += key + 1;
        }
    }
    let snapshot = state.map::<u64, u64>("totals").snapshot().unwrap();
    let found: Vec<u64> = snapshot.iter().map(|(_, total)| *total).collect();
    assert_eq!(
        snapshot.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        (0..KEYS).collect::<Vec<_>>()
    );
    assert_eq!(found, expected);
}
