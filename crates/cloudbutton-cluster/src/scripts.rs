//! The Lua scripts that make the queue's multi-key steps atomic. Each runs
//! whole on the server, so no other client sees a step half done.

use redis::Script;

/// The Lua scripts, loaded once per connection (`EVALSHA`, falling back to
/// `EVAL` when the server does not know them yet).
pub(crate) struct Scripts {
    pub(crate) take: Script,
    pub(crate) renew: Script,
    pub(crate) complete: Script,
    pub(crate) cancel: Script,
    pub(crate) heartbeat: Script,
    pub(crate) workers: Script,
}

impl Scripts {
    pub(crate) fn new() -> Scripts {
        Scripts {
            take: Script::new(TAKE),
            renew: Script::new(RENEW),
            complete: Script::new(COMPLETE),
            cancel: Script::new(CANCEL),
            heartbeat: Script::new(HEARTBEAT),
            workers: Script::new(WORKERS),
        }
    }
}

/// Opens a delivered task: KEYS = tasks stream, then the job's keys in
/// `JobKeys::all` order (meta, input, attempts, done, results); ARGV = group,
/// entry id, task index, TTL in ms. Returns `{attempt, input, spec}` (the
/// spec is empty if the driver wrote none), or nil after
/// dropping the entry if the job is gone or cancelled or the task committed.
const TAKE: &str = r"
local tasks, meta, input, attempts, done = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local group, id, index, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local bytes = redis.call('HGET', input, index)
if redis.call('HGET', meta, 'cancelled') == '1' or redis.call('HEXISTS', done, index) == 1
    or not bytes then
  redis.call('XACK', tasks, group, id)
  redis.call('XDEL', tasks, id)
  return false
end
local attempt = redis.call('HINCRBY', attempts, index, 1)
for i = 2, #KEYS do redis.call('PEXPIRE', KEYS[i], ttl) end
return {attempt, bytes, redis.call('HGET', meta, 'spec') or ''}
";

/// Renews a lease: KEYS = tasks stream, job meta; ARGV = group, entry id,
/// consumer. Returns 2 if the job was cancelled, 0 if the consumer no longer
/// holds the entry, else resets the entry's idle time and returns 1.
const RENEW: &str = r"
local tasks, meta = KEYS[1], KEYS[2]
local group, id, consumer = ARGV[1], ARGV[2], ARGV[3]
if redis.call('HGET', meta, 'cancelled') == '1' then return 2 end
local pending = redis.call('XPENDING', tasks, group, id, id, 1, consumer)
if #pending == 0 then return 0 end
redis.call('XCLAIM', tasks, group, consumer, 0, id, 'JUSTID')
return 1
";

/// Commits a completion: KEYS as for TAKE; ARGV = group, entry id, index,
/// attempt, worker, ok ('1' or '0'), payload, TTL in ms. Returns 1 if this
/// was the task's first completion, else 0.
const COMPLETE: &str = r"
local tasks, meta, input, done, results = KEYS[1], KEYS[2], KEYS[3], KEYS[5], KEYS[6]
local group, id, index, attempt = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local first = redis.call('HSETNX', done, index, attempt)
if first == 1 then
  redis.call('XADD', results, '*', 'index', index, 'attempt', attempt, 'worker', ARGV[5],
    'ok', ARGV[6], 'payload', ARGV[7])
  redis.call('HINCRBY', meta, 'committed', 1)
  redis.call('HDEL', input, index)
else
  redis.call('HINCRBY', meta, 'duplicates', 1)
end
redis.call('XACK', tasks, group, id)
redis.call('XDEL', tasks, id)
for i = 2, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[8]) end
return first
";

/// Cancels a job: KEYS = job meta; ARGV = TTL in ms. Returns 0 if the job
/// does not exist.
const CANCEL: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'cancelled', '1')
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
";

/// Says a worker is alive: KEYS = workers hash; ARGV = worker name, slots,
/// how long the word holds in ms. Expiry is in the server's clock, so that
/// hosts whose clocks differ agree on it.
const HEARTBEAT: &str = r"
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ' ' .. (now_ms + tonumber(ARGV[3])))
return 1
";

/// Lists live workers: KEYS = workers hash. Returns a flat list of name,
/// slots, name, slots ...; removes the workers whose word expired.
const WORKERS: &str = r"
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local entries = redis.call('HGETALL', KEYS[1])
local live = {}
for i = 1, #entries, 2 do
  local slots, expires = string.match(entries[i + 1], '^(%d+) (%d+)$')
  if slots and tonumber(expires) >= now_ms then
    live[#live + 1] = entries[i]
    live[#live + 1] = slots
  else
    redis.call('HDEL', KEYS[1], entries[i])
  end
end
return live
";
