//! The job's shared state: counters, sums, maps, lists, blobs, barriers,
//! futures, latches and semaphores that every task of the job sees, and the
//! driver too (ABI version 2, `docs/wasm-abi.md`).
//!
//! Objects are named by any string, and made by their first use. Map keys
//! and values, list items, future values and blobs are raw bytes, stored as
//! given; a Rust driver reads them with the store's raw operations, not
//! with typed handles, which use MessagePack.
//!
//! ```ignore
//! use cloudbutton_guest::state;
//!
//! state::counter_add("hits", hits);
//! state::barrier_wait("done", tasks);
//! let total = state::counter_get("hits");
//! ```
//!
//! The host checks every call: a failure (a counter that would overflow, a
//! barrier joined with another number of parties) traps and fails the task
//! with a message naming the object, so these functions return no errors.
//! Waiting calls end at the task's time limit, which fails the task.

/// The host's state calls, as imported. Every pointer is an offset into the
/// module's own memory, checked by the host before it touches it.
mod sys {
    #[link(wasm_import_module = "cloudbutton")]
    extern "C" {
        pub fn counter_get(name: *const u8, name_len: i32) -> i64;
        pub fn counter_add(name: *const u8, name_len: i32, delta: i64) -> i64;
        pub fn counter_compare_and_set(
            name: *const u8,
            name_len: i32,
            expected: i64,
            new: i64,
        ) -> i32;
        pub fn sum_get(name: *const u8, name_len: i32) -> f64;
        pub fn sum_add(name: *const u8, name_len: i32, delta: f64) -> f64;
        pub fn map_get(
            name: *const u8,
            name_len: i32,
            key: *const u8,
            key_len: i32,
            out: *mut u8,
            cap: i32,
        ) -> i64;
        pub fn map_put(
            name: *const u8,
            name_len: i32,
            key: *const u8,
            key_len: i32,
            value: *const u8,
            value_len: i32,
        ) -> i32;
        pub fn map_remove(name: *const u8, name_len: i32, key: *const u8, key_len: i32) -> i32;
        pub fn map_len(name: *const u8, name_len: i32) -> i64;
        pub fn map_add_f64s(
            name: *const u8,
            name_len: i32,
            key: *const u8,
            key_len: i32,
            values: *const f64,
            count: i32,
        );
        pub fn list_append(name: *const u8, name_len: i32, value: *const u8, value_len: i32)
            -> i64;
        pub fn list_len(name: *const u8, name_len: i32) -> i64;
        pub fn list_get(name: *const u8, name_len: i32, index: i64, out: *mut u8, cap: i32) -> i64;
        pub fn blob_read(
            name: *const u8,
            name_len: i32,
            offset: i64,
            out: *mut u8,
            len: i32,
        ) -> i64;
        pub fn blob_write(
            name: *const u8,
            name_len: i32,
            offset: i64,
            data: *const u8,
            len: i32,
        ) -> i64;
        pub fn blob_len(name: *const u8, name_len: i32) -> i64;
        pub fn barrier_wait(name: *const u8, name_len: i32, parties: i32) -> i64;
        pub fn future_set(name: *const u8, name_len: i32, value: *const u8, value_len: i32) -> i32;
        pub fn future_get(name: *const u8, name_len: i32, out: *mut u8, cap: i32) -> i64;
        pub fn future_try_get(name: *const u8, name_len: i32, out: *mut u8, cap: i32) -> i64;
        pub fn latch_count_down(name: *const u8, name_len: i32, count: i32) -> i64;
        pub fn latch_wait(name: *const u8, name_len: i32, count: i32);
        pub fn semaphore_acquire(name: *const u8, name_len: i32, initial: i32, permits: i32);
        pub fn semaphore_release(name: *const u8, name_len: i32, initial: i32, permits: i32);
    }
}

/// The size of the first buffer a value is fetched into.
const FIRST_BUFFER: usize = 256;

/// A length or count for the host: one past `i32::MAX` is passed as -1,
/// which the host refuses with a trap rather than cut.
fn len(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(-1)
}

/// A count (parties, permits) for the host, as [`len`] does.
fn count_arg(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(-1)
}

/// A position (index, offset) for the host, as [`len`] does.
fn position(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(-1)
}

/// A length or count from the host, which never returns a negative one.
fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Fetches a value through `call(out, cap)`, which returns its length (-1
/// for none) and writes it only if it fits: again with a buffer of that
/// length when the first one was too small.
fn fetch(mut call: impl FnMut(*mut u8, i32) -> i64) -> Option<Vec<u8>> {
    let mut buffer: Vec<u8> = Vec::with_capacity(FIRST_BUFFER);
    loop {
        let cap = buffer.capacity().min(i32::MAX as usize);
        let got = call(buffer.as_mut_ptr(), cap as i32);
        let got = usize::try_from(got).ok()?;
        if got <= cap {
            // SAFETY: the host wrote `got` bytes at the start of the
            // buffer, within its capacity.
            unsafe { buffer.set_len(got) };
            return Some(buffer);
        }
        // A value that changed in between is fetched again, at its new
        // length.
        buffer = Vec::with_capacity(got);
    }
}

/// The value of a counter.
pub fn counter_get(name: &str) -> i64 {
    // SAFETY: the host reads the name, a live string.
    unsafe { sys::counter_get(name.as_ptr(), len(name.len())) }
}

/// Adds `delta` to a counter and returns the new value.
pub fn counter_add(name: &str, delta: i64) -> i64 {
    // SAFETY: as in `counter_get`.
    unsafe { sys::counter_add(name.as_ptr(), len(name.len()), delta) }
}

/// Sets a counter to `new` if it is `expected`; true if it was set.
pub fn counter_compare_and_set(name: &str, expected: i64, new: i64) -> bool {
    // SAFETY: as in `counter_get`.
    unsafe { sys::counter_compare_and_set(name.as_ptr(), len(name.len()), expected, new) == 1 }
}

/// The value of a sum.
pub fn sum_get(name: &str) -> f64 {
    // SAFETY: as in `counter_get`.
    unsafe { sys::sum_get(name.as_ptr(), len(name.len())) }
}

/// Adds `delta` to a sum and returns the new value.
pub fn sum_add(name: &str, delta: f64) -> f64 {
    // SAFETY: as in `counter_get`.
    unsafe { sys::sum_add(name.as_ptr(), len(name.len()), delta) }
}

/// The value of `key` in a map, if any.
pub fn map_get(name: &str, key: &[u8]) -> Option<Vec<u8>> {
    fetch(|out, cap| {
        // SAFETY: the host reads the name and key, live slices, and writes
        // at most `cap` bytes at `out`, a buffer of that capacity.
        unsafe {
            sys::map_get(
                name.as_ptr(),
                len(name.len()),
                key.as_ptr(),
                len(key.len()),
                out,
                cap,
            )
        }
    })
}

/// Stores `value` under `key` in a map; true if it replaced a value.
pub fn map_put(name: &str, key: &[u8], value: &[u8]) -> bool {
    // SAFETY: the host reads three live slices.
    unsafe {
        sys::map_put(
            name.as_ptr(),
            len(name.len()),
            key.as_ptr(),
            len(key.len()),
            value.as_ptr(),
            len(value.len()),
        ) == 1
    }
}

/// Removes `key` from a map; true if it was there.
pub fn map_remove(name: &str, key: &[u8]) -> bool {
    // SAFETY: the host reads two live slices.
    unsafe { sys::map_remove(name.as_ptr(), len(name.len()), key.as_ptr(), len(key.len())) == 1 }
}

/// The number of keys in a map.
pub fn map_len(name: &str) -> u64 {
    // SAFETY: as in `counter_get`.
    unsafe { unsigned(sys::map_len(name.as_ptr(), len(name.len()))) }
}

/// Adds `values` to those stored under `key`, element by element, in one
/// atomic step; an absent key takes them as they are. The stored value is
/// the f64s' little-endian bytes. Adding to a value of another length traps.
pub fn map_add_f64s(name: &str, key: &[u8], values: &[f64]) {
    // SAFETY: the host reads three live slices.
    unsafe {
        sys::map_add_f64s(
            name.as_ptr(),
            len(name.len()),
            key.as_ptr(),
            len(key.len()),
            values.as_ptr(),
            len(values.len()),
        )
    }
}

/// Appends an item to a list and returns the new length.
pub fn list_append(name: &str, value: &[u8]) -> u64 {
    // SAFETY: the host reads two live slices.
    unsafe {
        unsigned(sys::list_append(
            name.as_ptr(),
            len(name.len()),
            value.as_ptr(),
            len(value.len()),
        ))
    }
}

/// The number of items in a list.
pub fn list_len(name: &str) -> u64 {
    // SAFETY: as in `counter_get`.
    unsafe { unsigned(sys::list_len(name.as_ptr(), len(name.len()))) }
}

/// Item `index` of a list, from 0; `None` past the end.
pub fn list_get(name: &str, index: u64) -> Option<Vec<u8>> {
    fetch(|out, cap| {
        // SAFETY: as in `map_get`.
        unsafe { sys::list_get(name.as_ptr(), len(name.len()), position(index), out, cap) }
    })
}

/// Reads a blob from `offset` into `buffer` and returns how many bytes it
/// read: fewer than the buffer holds past the end, 0 beyond it.
pub fn blob_read(name: &str, offset: u64, buffer: &mut [u8]) -> usize {
    let cap = buffer.len().min(i32::MAX as usize);
    // SAFETY: the host writes at most `cap` bytes into the buffer, which
    // the exclusive borrow makes ours alone.
    let got = unsafe {
        sys::blob_read(
            name.as_ptr(),
            len(name.len()),
            position(offset),
            buffer.as_mut_ptr(),
            cap as i32,
        )
    };
    usize::try_from(got).unwrap_or(0)
}

/// Writes `data` at `offset` of a blob, filling any gap before it with
/// zeros, and returns the new length.
pub fn blob_write(name: &str, offset: u64, data: &[u8]) -> u64 {
    // SAFETY: the host reads two live slices.
    unsafe {
        unsigned(sys::blob_write(
            name.as_ptr(),
            len(name.len()),
            position(offset),
            data.as_ptr(),
            len(data.len()),
        ))
    }
}

/// The length of a blob in bytes.
pub fn blob_len(name: &str) -> u64 {
    // SAFETY: as in `counter_get`.
    unsafe { unsigned(sys::blob_len(name.as_ptr(), len(name.len()))) }
}

/// Waits until `parties` tasks have arrived at a barrier, and returns the
/// round that completed, from 0. That many tasks must run at once.
pub fn barrier_wait(name: &str, parties: u32) -> u64 {
    // SAFETY: as in `counter_get`.
    unsafe {
        unsigned(sys::barrier_wait(
            name.as_ptr(),
            len(name.len()),
            count_arg(parties),
        ))
    }
}

/// Sets a future's value if it has none; true if this call set it.
pub fn future_set(name: &str, value: &[u8]) -> bool {
    // SAFETY: the host reads two live slices.
    unsafe {
        sys::future_set(
            name.as_ptr(),
            len(name.len()),
            value.as_ptr(),
            len(value.len()),
        ) == 1
    }
}

/// Waits for a future's value.
pub fn future_get(name: &str) -> Vec<u8> {
    let value = fetch(|out, cap| {
        // SAFETY: as in `map_get`.
        unsafe { sys::future_get(name.as_ptr(), len(name.len()), out, cap) }
    });
    value.unwrap_or_default()
}

/// A future's value if it is set, without waiting.
pub fn future_try_get(name: &str) -> Option<Vec<u8>> {
    fetch(|out, cap| {
        // SAFETY: as in `map_get`.
        unsafe { sys::future_try_get(name.as_ptr(), len(name.len()), out, cap) }
    })
}

/// Counts down a latch made to open after `count` count-downs, and returns
/// the count left.
pub fn latch_count_down(name: &str, count: u32) -> u32 {
    // SAFETY: as in `counter_get`.
    let left = unsafe { sys::latch_count_down(name.as_ptr(), len(name.len()), count_arg(count)) };
    u32::try_from(left).unwrap_or(0)
}

/// Waits until a latch made with `count` is counted down to 0.
pub fn latch_wait(name: &str, count: u32) {
    // SAFETY: as in `counter_get`.
    unsafe { sys::latch_wait(name.as_ptr(), len(name.len()), count_arg(count)) }
}

/// Takes `permits` from a semaphore made with `initial` permits, waiting
/// until they are available.
pub fn semaphore_acquire(name: &str, initial: u32, permits: u32) {
    // SAFETY: as in `counter_get`.
    unsafe {
        sys::semaphore_acquire(
            name.as_ptr(),
            len(name.len()),
            count_arg(initial),
            count_arg(permits),
        )
    }
}

/// Gives `permits` back to a semaphore made with `initial` permits.
pub fn semaphore_release(name: &str, initial: u32, permits: u32) {
    // SAFETY: as in `counter_get`.
    unsafe {
        sys::semaphore_release(
            name.as_ptr(),
            len(name.len()),
            count_arg(initial),
            count_arg(permits),
        )
    }
}
