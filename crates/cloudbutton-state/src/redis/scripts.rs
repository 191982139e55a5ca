//! The Lua scripts of the Redis store: every operation that reads and then
//! writes, or writes more than one key, is one script, so that Redis runs
//! it atomically.
//!
//! Conventions shared by all of them: `KEYS[1]` is the object's key;
//! `ARGV[1]` is the time-to-live in milliseconds that every key written
//! gets (`0`: none), applied by `touch`. Integers that may exceed 2^53
//! (counter values) are never turned into Lua numbers, which are doubles:
//! they are compared and returned as strings. A parameter that disagrees
//! with the one the object was created with is answered with the error
//! `MISMATCH <stored value>`.

use ::redis::Script;

/// Functions every script may call: `touch` refreshes the time-to-live of
/// a key the script wrote; `wake(key, n, ttl)` pushes `n` tokens on the
/// wake list `key`, which expires `ttl` milliseconds later. Tokens go in
/// batches, as Lua's `unpack` takes only so many values.
const COMMON: &str = r"
local function touch(key)
  if ARGV[1] ~= '0' then redis.call('PEXPIRE', key, ARGV[1]) end
end
local function wake(key, n, ttl)
  local batch = {}
  for i = 1, math.min(n, 1000) do batch[i] = '1' end
  while n > 0 do
    local size = math.min(n, #batch)
    redis.call('RPUSH', key, unpack(batch, 1, size))
    n = n - size
  end
  redis.call('PEXPIRE', key, ttl)
end
";

/// Counter compare-and-set. `ARGV`: ttl, expected, new. Returns the value
/// before, as a string (`0` for an absent counter).
const COUNTER_CAS: &str = r"
local before = redis.call('GET', KEYS[1]) or '0'
if before == ARGV[2] then
  redis.call('SET', KEYS[1], ARGV[3])
  touch(KEYS[1])
end
return before
";

/// Sum add, in IEEE double arithmetic; the sum is stored with 17
/// significant digits, which read back as the same double. `ARGV`: ttl,
/// the addend. Returns the new sum as stored.
const SUM_ADD: &str = r"
local sum = tonumber(redis.call('GET', KEYS[1]) or '0') + tonumber(ARGV[2])
local text = string.format('%.17g', sum)
redis.call('SET', KEYS[1], text)
touch(KEYS[1])
return text
";

/// Map put. `ARGV`: ttl, field, value. Returns the value before.
const MAP_PUT: &str = r"
local before = redis.call('HGET', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
touch(KEYS[1])
return before
";

/// Map remove. `ARGV`: ttl, field. Returns the removed value.
const MAP_REMOVE: &str = r"
local before = redis.call('HGET', KEYS[1], ARGV[2])
if before then
  redis.call('HDEL', KEYS[1], ARGV[2])
  touch(KEYS[1])
end
return before
";

/// Map compare-and-set. `ARGV`: ttl, field, `1` if a value is expected
/// (`0`: the field must be absent), the expected value, `1` if the field
/// is to be set (`0`: removed), the new value. Returns the value before.
const MAP_CAS: &str = r"
local before = redis.call('HGET', KEYS[1], ARGV[2])
local matches
if ARGV[3] == '1' then matches = before == ARGV[4] else matches = not before end
if matches then
  if ARGV[5] == '1' then
    redis.call('HSET', KEYS[1], ARGV[2], ARGV[6])
    touch(KEYS[1])
  else
    redis.call('HDEL', KEYS[1], ARGV[2])
  end
end
return before
";

/// Blob write at an offset, zero-filling any gap. `SETRANGE` alone leaves
/// an empty write alone, where the blob must still grow to the offset (or
/// come into existence, empty). `ARGV`: ttl, offset, data. Returns the new
/// length.
const BLOB_WRITE: &str = r"
if #ARGV[3] > 0 then
  redis.call('SETRANGE', KEYS[1], ARGV[2], ARGV[3])
else
  local offset = tonumber(ARGV[2])
  if offset > redis.call('STRLEN', KEYS[1]) then
    redis.call('SETRANGE', KEYS[1], offset - 1, '\0')
  elseif redis.call('EXISTS', KEYS[1]) == 0 then
    redis.call('SET', KEYS[1], '')
  end
end
touch(KEYS[1])
return redis.call('STRLEN', KEYS[1])
";

/// Future set, if unset; the wake list (`KEYS[2]`) gets its token, which
/// stays for every waiter to move along. `ARGV`: ttl, value. Returns 1 if this call set it.
const FUTURE_SET: &str = r"
if not redis.call('SET', KEYS[1], ARGV[2], 'NX') then return 0 end
redis.call('RPUSH', KEYS[2], '1')
touch(KEYS[1])
touch(KEYS[2])
return 1
";

/// Barrier arrival. `ARGV`: ttl, parties, the wake list's key around the
/// round number (prefix, suffix), the wake list's ttl. Returns `{1,
/// round}` for the caller that completes the round, which pushes a token
/// for each caller waiting in it on the round's wake list, and `{0,
/// round}` for one that must wait.
const BARRIER_WAIT: &str = r"
local parties = redis.call('HGET', KEYS[1], 'parties')
if not parties then
  redis.call('HSET', KEYS[1], 'parties', ARGV[2], 'arrived', 0, 'round', 0)
elseif parties ~= ARGV[2] then
  return redis.error_reply('MISMATCH ' .. parties)
end
local round = redis.call('HGET', KEYS[1], 'round')
local arrived = redis.call('HINCRBY', KEYS[1], 'arrived', 1)
touch(KEYS[1])
if arrived < tonumber(ARGV[2]) then return {0, round} end
redis.call('HSET', KEYS[1], 'arrived', 0)
redis.call('HINCRBY', KEYS[1], 'round', 1)
if arrived > 1 then wake(ARGV[3] .. round .. ARGV[4], arrived - 1, ARGV[5]) end
return {1, round}
";

/// Barrier withdrawal of a caller that timed out in round `ARGV[2]`, whose
/// wake list is `KEYS[2]`. `ARGV`: ttl, round. Returns 1 if the round
/// completed in the meantime (the caller made it, and takes its token), 0
/// if the caller withdrew (or the barrier is gone).
const BARRIER_WITHDRAW: &str = r"
local round = redis.call('HGET', KEYS[1], 'round')
if not round then return 0 end
if round ~= ARGV[2] then
  redis.call('LPOP', KEYS[2])
  return 1
end
redis.call('HINCRBY', KEYS[1], 'arrived', -1)
touch(KEYS[1])
return 0
";

/// Every semaphore operation. `ARGV`: ttl, initial permits, the operation
/// (`available`, `release`, `try`, `acquire`, or `retry`: an acquire
/// after a wait, which does not bring back a deleted semaphore), permits,
/// the wake list's key around the release number (prefix, suffix), the
/// wake list's ttl, and the release number the caller already waits for
/// (empty if none), so that it is counted once.
///
/// `gen` counts the releases that woke someone; `waiters` callers wait
/// for the release after `gen` number `wanted`. A release with waiters
/// pushes a token for each on the wake list of the current `gen`, then
/// moves `gen` on; each waiter takes a token and tries again.
///
/// Returns `{available, ''}` for `available`; `{1, ''}` when permits were
/// released or taken; `{0, ''}` when `try` cannot take them, or `retry`
/// finds the semaphore gone; and `{0, gen}` when `acquire` must wait on
/// the wake list of `gen`.
const SEMAPHORE: &str = r"
local initial = redis.call('HGET', KEYS[1], 'initial')
if not initial and ARGV[3] == 'retry' then return {0, ''} end
if not initial then
  redis.call('HSET', KEYS[1], 'initial', ARGV[2], 'available', ARGV[2], 'gen', 0)
  touch(KEYS[1])
elseif initial ~= ARGV[2] then
  return redis.error_reply('MISMATCH ' .. initial)
end
local op = ARGV[3]
if op == 'available' then return {redis.call('HGET', KEYS[1], 'available'), ''} end
local gen = redis.call('HGET', KEYS[1], 'gen')
local waiting = redis.call('HGET', KEYS[1], 'wanted') == gen
if op == 'release' then
  redis.call('HINCRBY', KEYS[1], 'available', ARGV[4])
  if waiting then
    local waiters = tonumber(redis.call('HGET', KEYS[1], 'waiters'))
    wake(ARGV[5] .. gen .. ARGV[6], waiters, ARGV[7])
    redis.call('HINCRBY', KEYS[1], 'gen', 1)
  end
  touch(KEYS[1])
  return {1, ''}
end
if tonumber(redis.call('HGET', KEYS[1], 'available')) >= tonumber(ARGV[4]) then
  if ARGV[4] ~= '0' then
    redis.call('HINCRBY', KEYS[1], 'available', '-' .. ARGV[4])
    touch(KEYS[1])
  end
  return {1, ''}
end
if op == 'try' then return {0, ''} end
if ARGV[8] == gen then return {0, gen} end
if waiting then
  redis.call('HINCRBY', KEYS[1], 'waiters', 1)
else
  redis.call('HSET', KEYS[1], 'wanted', gen, 'waiters', 1)
end
touch(KEYS[1])
return {0, gen}
";

/// Withdrawal of a semaphore waiter that timed out waiting for release
/// `ARGV[2]`, whose wake list is `KEYS[2]`: it no longer counts among the
/// waiters, or, if that release came meanwhile, takes its token. `ARGV`:
/// ttl, release number.
const SEMAPHORE_WITHDRAW: &str = r"
local gen = redis.call('HGET', KEYS[1], 'gen')
if not gen then return 0 end
if gen ~= ARGV[2] then
  redis.call('LPOP', KEYS[2])
elseif redis.call('HGET', KEYS[1], 'wanted') == gen
    and tonumber(redis.call('HGET', KEYS[1], 'waiters')) > 0 then
  redis.call('HINCRBY', KEYS[1], 'waiters', -1)
  touch(KEYS[1])
end
return 0
";

/// Every latch operation. `KEYS[2]` is the wake list, which gets its token
/// (and keeps it) when the count reaches 0. `ARGV`: ttl, count, the
/// operation (`down`; `count` to read; `retry` to read after a wait,
/// which does not bring back a deleted latch). Returns the count left, or
/// -1 when `retry` finds the latch gone.
const LATCH: &str = r"
local count = redis.call('HGET', KEYS[1], 'count')
if not count and ARGV[3] == 'retry' then return -1 end
if not count then
  redis.call('HSET', KEYS[1], 'count', ARGV[2], 'remaining', ARGV[2])
  touch(KEYS[1])
elseif count ~= ARGV[2] then
  return redis.error_reply('MISMATCH ' .. count)
end
local remaining = tonumber(redis.call('HGET', KEYS[1], 'remaining'))
if ARGV[3] == 'down' and remaining > 0 then
  remaining = redis.call('HINCRBY', KEYS[1], 'remaining', -1)
  touch(KEYS[1])
  if remaining == 0 then
    redis.call('RPUSH', KEYS[2], '1')
    touch(KEYS[2])
  end
end
return remaining
";

/// Delete an object and its wake lists: `KEYS[2..]`, and, for a barrier or
/// a semaphore, the one of the last round. `ARGV`: ttl (unused), the hash
/// field that holds the current round (empty for other kinds), the wake
/// list's key around the round number (prefix, suffix). Older rounds'
/// lists expire by themselves. Returns 1 if the object existed.
const DELETE: &str = r"
local existed = redis.call('EXISTS', KEYS[1])
local doomed = {}
for i = 1, #KEYS do doomed[i] = KEYS[i] end
if ARGV[2] ~= '' then
  local round = tonumber(redis.call('HGET', KEYS[1], ARGV[2]) or '0')
  if round > 0 then
    table.insert(doomed, ARGV[3] .. string.format('%d', round - 1) .. ARGV[4])
  end
end
redis.call('DEL', unpack(doomed))
return existed
";

/// The scripts, loaded into Redis on first use of each.
pub(super) struct Scripts {
    pub(super) counter_cas: Script,
    pub(super) sum_add: Script,
    pub(super) map_put: Script,
    pub(super) map_remove: Script,
    pub(super) map_cas: Script,
    pub(super) blob_write: Script,
    pub(super) future_set: Script,
    pub(super) barrier_wait: Script,
    pub(super) barrier_withdraw: Script,
    pub(super) semaphore: Script,
    pub(super) semaphore_withdraw: Script,
    pub(super) latch: Script,
    pub(super) delete: Script,
}

impl Scripts {
    /// Every script, with the common functions in front of it.
    pub(super) fn new() -> Self {
        let script = |body: &str| Script::new(&format!("{COMMON}{body}"));
        Scripts {
            counter_cas: script(COUNTER_CAS),
            sum_add: script(SUM_ADD),
            map_put: script(MAP_PUT),
            map_remove: script(MAP_REMOVE),
            map_cas: script(MAP_CAS),
            blob_write: script(BLOB_WRITE),
            future_set: script(FUTURE_SET),
            barrier_wait: script(BARRIER_WAIT),
            barrier_withdraw: script(BARRIER_WITHDRAW),
            semaphore: script(SEMAPHORE),
            semaphore_withdraw: script(SEMAPHORE_WITHDRAW),
            latch: script(LATCH),
            delete: script(DELETE),
        }
    }
}
