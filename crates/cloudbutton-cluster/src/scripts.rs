//! The Lua scripts that make the queue's multi-key steps atomic. Each runs
//! whole on the server, so no other client sees a step half done.

use redis::Script;

/// The Lua scripts, loaded once per connection (`EVALSHA`, falling back to
/// `EVAL` when the server does not know them yet).
pub(crate) struct Scripts {
    pub(crate) open: Script,
    pub(crate) take_next: Script,
    pub(crate) renew: Script,
    pub(crate) complete: Script,
    pub(crate) complete_and_take: Script,
    pub(crate) cancel: Script,
    pub(crate) heartbeat: Script,
    pub(crate) workers: Script,
}

impl Scripts {
    pub(crate) fn new() -> Scripts {
        Scripts {
            open: Script::new(&format!("{PRELUDE}{OPEN}")),
            take_next: Script::new(&format!("{PRELUDE}{TAKE_NEXT}")),
            renew: Script::new(RENEW),
            complete: Script::new(&format!("{PRELUDE}{COMPLETE}")),
            complete_and_take: Script::new(&format!("{PRELUDE}{COMPLETE_AND_TAKE}")),
            cancel: Script::new(CANCEL),
            heartbeat: Script::new(HEARTBEAT),
            workers: Script::new(WORKERS),
        }
    }
}

/// The steps the scripts share, as Lua functions.
///
/// `job_keys` must name a job's keys as `Keys::job` does: the scripts that
/// take a task not yet read find its job only in the stream entry, so they
/// make the key names themselves. That is also why the queue needs a single
/// Redis server rather than Redis Cluster.
///
/// `open_task` opens a delivered entry: unless the job is gone or
/// cancelled or the task committed, it counts a delivery and returns
/// `{entry id, job, index, function, attempt, input, spec}` (the spec empty
/// if the driver wrote none); otherwise it drops the entry and returns
/// false. `take_next` reads new entries without waiting until one opens,
/// returning false when none is left. `complete` commits a completion and
/// returns 1 if it was the task's first, else 0.
const PRELUDE: &str = r"
local function job_keys(prefix, job)
  local base = prefix .. job
  return {base .. ':meta', base .. ':input', base .. ':attempts', base .. ':done', base .. ':results'}
end

local function drop_entry(tasks, group, id)
  redis.call('XACK', tasks, group, id)
  redis.call('XDEL', tasks, id)
end

local function touch(keys, ttl)
  for i = 1, #keys do redis.call('PEXPIRE', keys[i], ttl) end
end

local function open_task(tasks, group, id, job, index, fn, keys, ttl)
  local meta, input, attempts, done = keys[1], keys[2], keys[3], keys[4]
  local bytes = redis.call('HGET', input, index)
  if not bytes or redis.call('HGET', meta, 'cancelled') == '1'
      or redis.call('HEXISTS', done, index) == 1 then
    drop_entry(tasks, group, id)
    return false
  end
  local attempt = redis.call('HINCRBY', attempts, index, 1)
  touch(keys, ttl)
  return {id, job, index, fn, attempt, bytes, redis.call('HGET', meta, 'spec') or ''}
end

local function take_next(tasks, group, consumer, prefix, ttl)
  while true do
    local reply = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', 1,
      'STREAMS', tasks, '>')
    if not reply then return false end
    local entry = reply[1][2][1]
    local id, fields = entry[1], entry[2]
    local found = {}
    for i = 1, #fields, 2 do found[fields[i]] = fields[i + 1] end
    if found.job and found.index and found['function'] then
      local task = open_task(tasks, group, id, found.job, found.index, found['function'],
        job_keys(prefix, found.job), ttl)
      if task then return task end
    else
      drop_entry(tasks, group, id)
    end
  end
end

local function complete(tasks, group, id, keys, index, attempt, worker, ok, payload, ttl)
  local meta, input, done, results = keys[1], keys[2], keys[4], keys[5]
  local first = redis.call('HSETNX', done, index, attempt)
  if first == 1 then
    redis.call('XADD', results, '*', 'index', index, 'attempt', attempt, 'worker', worker,
      'ok', ok, 'payload', payload)
    redis.call('HINCRBY', meta, 'committed', 1)
    redis.call('HDEL', input, index)
  else
    redis.call('HINCRBY', meta, 'duplicates', 1)
  end
  drop_entry(tasks, group, id)
  touch(keys, ttl)
  return first
end
";

/// Opens an entry already delivered (read with `XREADGROUP BLOCK`, or
/// claimed): KEYS = tasks stream, then the job's keys in `JobKeys::all`
/// order; ARGV = group, entry id, job, task index, function, TTL in ms.
const OPEN: &str = r"
local keys = {KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]}
return open_task(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], keys, ARGV[6])
";

/// Takes the next new task without waiting: KEYS = tasks stream; ARGV =
/// group, consumer, job key prefix (`NS:job:`), TTL in ms.
const TAKE_NEXT: &str = r"
return take_next(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
";

/// Commits a completion: KEYS = tasks stream, then the job's keys; ARGV =
/// group, entry id, index, attempt, worker, ok ('1' or '0'), payload, TTL in
/// ms. Returns 1 if this was the task's first completion, else 0.
const COMPLETE: &str = r"
local keys = {KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]}
return complete(KEYS[1], ARGV[1], ARGV[2], keys, ARGV[3], ARGV[4], ARGV[5], ARGV[6],
  ARGV[7], ARGV[8])
";

/// Commits a completion as `COMPLETE` does, then takes the next new task
/// for the same worker as `TAKE_NEXT` does (ARGV 9: the job key prefix).
/// Returns `{first, task or false}`.
const COMPLETE_AND_TAKE: &str = r"
local keys = {KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]}
local first = complete(KEYS[1], ARGV[1], ARGV[2], keys, ARGV[3], ARGV[4], ARGV[5], ARGV[6],
  ARGV[7], ARGV[8])
return {first, take_next(KEYS[1], ARGV[1], ARGV[5], ARGV[9], ARGV[8])}
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
