#!lua name=runcue
--[[
runcue.lua -- the distributed side of runcue, as one Redis Functions library.

Every state change of a namespace is one atomic call on the server's clock:
register, enqueue (one or many), claim, extend, finish, reclaim, cancel, and a read-only
snapshot.  The limits runcue keeps in one process hold across every scheduler
and agent: never more than N starts in any window of W (the exact sliding
window: a list of the last N start times), never more than C leased.

Calling convention: FCALL <name> 1 rc:{<ns>} args...
  KEYS[1] is the namespace's base key; every other key is KEYS[1]..":<part>",
  so all of them share the hash tag {<ns>}: one slot, Redis Cluster safe.
  Times are microseconds of the server's clock (TIME), kept as integers
  written with string.format('%.0f') (exact up to 2^53).

Keys (base = rc:{ns}):
  base:svcs          set of service names
  base:svc:<s>       hash  rate_n rate_w conc lease maxd
  base:ready:<s>     zset  job id -> score (priority bucket * 2^40 + seq)
  base:leased:<s>    zset  job id -> lease expiry
  base:ring:<s>      list  the last rate_n start times, newest first
  base:job:<id>      hash  svc task payload owner dd score st tok dl lu ag
                           res err pg eq prod fin rs (st: queued leased done
                           failed retry dead cancelled; rs: the id of its result
                           in its owner's stream)
  base:dd:<key>      string dedupe key -> job id (a done job's only while its
                           result is unread)
  base:seq, base:tok counters (job ids; fencing tokens)
  base:clock         the last time used (the clock never runs backwards)
  base:agents        zset  agent -> last time seen (an agent unseen for an
                           hour leaves it, a few at each claim)
  base:stats         hash  counters (claims finishes stale redeliveries dead)
  base:dead          list  dead-lettered job ids, newest first (bounded)
  base:res:<owner>   stream a scheduler's results
  base:art           stream produced artifact keys (bounded)
Channel base:wake    a message when work is queued or a slot of a service with
                   a concurrency limit frees.

The only server calls (the list an emulation must provide): TIME,
DEL, GET, SET, PEXPIRE, INCR, HGET, HMGET, HSET, HINCRBY, HGETALL, SADD,
SMEMBERS, ZADD, ZREM, ZCARD, ZRANGE (WITHSCORES),
ZRANGEBYSCORE (LIMIT), ZPOPMIN, LPUSH, LTRIM, LLEN, LINDEX, LRANGE, XADD
(MAXLEN ~), XRANGE (one id), XLEN, PUBLISH; plus redis.register_function, redis.call and
redis.error_reply.  Plain Lua 5.1 otherwise (no cjson, no bit ops); a host
that loads this file with luaL_loadbuffer strips the first line.
]]

local VERSION = '3'
local RECLAIM_BATCH = 16  -- expired leases requeued per claim call
local MAX_CLAIM = 64      -- jobs one claim may return
local MAX_ENQUEUE = 256   -- items one enqueue_many may take
local DEAD_KEEP = 1000    -- dead-letter list length
local ART_KEEP = 10000    -- artifacts stream length (approximate)
local RETAIN_US = 3600 * 1000000 -- finished jobs and their dedupe keys
local PRIO_SPAN = 1099511627776  -- 2^40: FIFO sequence space per bucket
local AGENT_KEEP_US = 3600 * 1000000 -- an agent unseen this long is forgotten
local AGENT_PRUNE = 16    -- agents forgotten per claim call at most
local SCAN_READY = 64     -- ready jobs a claim for some tasks looks through
local MAX_TASKS = 64      -- tasks one claim may name
local PROGRESS_BACKLOG = 1000 -- unread entries past which progress is not sent

local function fmt(n) return string.format('%.0f', n) end

local function now_us(base)
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
    local last = tonumber(redis.call('GET', base .. ':clock') or '0')
    if now < last then now = last end
    return now
end

local function touch_clock(base, now)
    redis.call('SET', base .. ':clock', fmt(now))
end

local function err(msg) return redis.error_reply('runcue: ' .. msg) end

local function num_arg(v, name, lo, hi)
    local n = tonumber(v)
    if n == nil or n ~= n or n < lo or n > hi then
        error({err = 'runcue: bad ' .. name .. " '" .. tostring(v) .. "'"})
    end
    return n
end

local function str_arg(v, name, maxlen)
    if type(v) ~= 'string' or #v > maxlen then
        error({err = 'runcue: bad ' .. name})
    end
    return v
end

local function service(base, s)
    local v = redis.call('HMGET', base .. ':svc:' .. s, 'rate_n', 'rate_w', 'conc', 'lease', 'maxd')
    if not v[1] then return nil end
    return {rate_n = tonumber(v[1]), rate_w = tonumber(v[2]), conc = tonumber(v[3]),
            lease = tonumber(v[4]), maxd = tonumber(v[5])}
end

local function stat(base, field, by)
    redis.call('HINCRBY', base .. ':stats', field, by or 1)
end

-- The result of a job goes to its owner's stream; returns the entry's id.
local function emit_result(base, id, job, status, result, errmsg)
    return redis.call('XADD', base .. ':res:' .. job.owner, '*', 'id', id, 'status', status,
                      'dd', job.dd or '', 'result', result or '', 'error', errmsg or '',
                      'dl', job.dl or '0')
end

local function load_job(base, id)
    local v = redis.call('HMGET', base .. ':job:' .. id, 'svc', 'owner', 'dd', 'st', 'tok',
                         'dl', 'score', 'ag', 'prod')
    if not v[1] or not v[2] or not v[4] then return nil end
    return {svc = v[1], owner = v[2], dd = v[3] or '', st = v[4], tok = v[5] or '',
            dl = v[6] or '0', score = v[7] or '0', ag = v[8] or '', prod = v[9] or ''}
end

-- A finished job is kept RETAIN_US (for dedupe re-attach), then expires.
-- More field-value pairs to set with its state may follow.
local function retire(base, id, job, state, keep_dedupe, ...)
    local key = base .. ':job:' .. id
    redis.call('HSET', key, 'st', state, ...)
    redis.call('PEXPIRE', key, fmt(RETAIN_US / 1000))
    if job.dd ~= '' then
        local ddkey = base .. ':dd:' .. job.dd
        if keep_dedupe then
            redis.call('PEXPIRE', ddkey, fmt(RETAIN_US / 1000))
        elseif redis.call('GET', ddkey) == id then
            redis.call('DEL', ddkey)
        end
    end
end

-- Requeue (or dead-letter) up to `max` leases of service s that expired.
local function reclaim_expired(base, s, svc, now, max)
    local ids = redis.call('ZRANGEBYSCORE', base .. ':leased:' .. s, '-inf', fmt(now),
                           'LIMIT', 0, max)
    local requeued, dead = 0, 0
    for _, id in ipairs(ids) do
        redis.call('ZREM', base .. ':leased:' .. s, id)
        local job = load_job(base, id)
        if job and job.st == 'leased' then
            if tonumber(job.dl) >= svc.maxd then
                retire(base, id, job, 'dead', false)
                redis.call('LPUSH', base .. ':dead', id)
                redis.call('LTRIM', base .. ':dead', 0, DEAD_KEEP - 1)
                stat(base, 'dead')
                emit_result(base, id, job, 'dead', '',
                            'lease expired ' .. job.dl .. ' times (last agent ' .. job.ag .. ')')
                dead = dead + 1
            else
                redis.call('HSET', base .. ':job:' .. id, 'st', 'queued', 'tok', '', 'ag', '')
                redis.call('ZADD', base .. ':ready:' .. s, job.score, id)
                stat(base, 'redeliveries')
                requeued = requeued + 1
            end
        end
    end
    return requeued, dead
end

-- When the rate ring next admits a start (<= now: it does).
local function rate_next(base, s, svc)
    if svc.rate_n <= 0 then return 0 end
    local ring = base .. ':ring:' .. s
    if redis.call('LLEN', ring) < svc.rate_n then return 0 end
    return tonumber(redis.call('LINDEX', ring, -1)) + svc.rate_w
end

local function record_start(base, s, svc, now)
    if svc.rate_n <= 0 then return end
    local ring = base .. ':ring:' .. s
    redis.call('LPUSH', ring, fmt(now))
    redis.call('LTRIM', ring, 0, svc.rate_n - 1)
end

-- When a lease of s next ends (for "wait until t (full)").
local function next_expiry(base, s)
    local v = redis.call('ZRANGE', base .. ':leased:' .. s, 0, 0, 'WITHSCORES')
    return tonumber(v[2] or '0')
end

local function wake(base, s)
    redis.call('PUBLISH', base .. ':wake', s)
end

local function protect(fn)
    return function(keys, args)
        local ok, res = pcall(fn, keys, args)
        if ok then return res end
        if type(res) == 'table' and res.err then return res end
        -- Redis hands a raised {err = ...} table to pcall as its string:
        -- ours already carries the prefix.
        local text = tostring(res)
        if string.sub(text, 1, 8) == 'runcue: ' then return redis.error_reply(text) end
        return err(text)
    end
end

local function base_of(keys)
    local b = keys[1]
    if type(b) ~= 'string' or not string.find(b, '^rc:{[%w_.%-]+}$') then
        error({err = "runcue: the key must be rc:{namespace}, got '" .. tostring(b) .. "'"})
    end
    return b
end

------------------------------------------------------------------------
-- runcue_version: the library's version, to refuse a mismatched one.
local function f_version(keys, args)
    return VERSION
end

-- runcue_register svc rate_n rate_w_us conc lease_us max_deliveries
--   -> "created" | "same"; error if stored limits differ.
local function f_register(keys, args)
    local base = base_of(keys)
    local s = str_arg(args[1], 'service name', 128)
    local rn = num_arg(args[2], 'rate count', 0, 1000000)
    local rw = num_arg(args[3], 'rate window', 0, 1e15)
    local conc = num_arg(args[4], 'concurrency', -1, 1000000)
    local lease = num_arg(args[5], 'lease', 1000, 1e13)
    local maxd = num_arg(args[6], 'max deliveries', 1, 1000000)
    if rn > 0 and rw <= 0 then return err('a rate needs a positive window') end
    local svc = service(base, s)
    if svc then
        if svc.rate_n ~= rn or svc.rate_w ~= rw or svc.conc ~= conc or svc.lease ~= lease
                or svc.maxd ~= maxd then
            return err(string.format("service '%s' is registered with other limits "
                .. "(%s starts per %gs, %s at once, lease %gs, %s deliveries); "
                .. "refusing %s per %gs, %s at once, lease %gs, %s deliveries",
                s, fmt(svc.rate_n), svc.rate_w / 1e6, fmt(svc.conc), svc.lease / 1e6,
                fmt(svc.maxd), fmt(rn), rw / 1e6, fmt(conc), lease / 1e6, fmt(maxd)))
        end
        return 'same'
    end
    redis.call('HSET', base .. ':svc:' .. s, 'rate_n', fmt(rn), 'rate_w', fmt(rw),
               'conc', fmt(conc), 'lease', fmt(lease), 'maxd', fmt(maxd))
    redis.call('SADD', base .. ':svcs', s)
    return 'created'
end

-- One enqueue: args[i..i+6] are svc owner dedupe priority task payload
-- produces.  ctx is the caller's: ctx.now (the server's time, read when first
-- needed) and ctx.svcs (service name -> limits, a cache).
-- Returns the reply of runcue_enqueue and whether a new job was queued;
-- raises {err = ...} on bad input.
local function enqueue_one(base, args, i, ctx)
    local s = str_arg(args[i], 'service name', 128)
    local owner = str_arg(args[i + 1], 'owner', 128)
    local dd = str_arg(args[i + 2], 'dedupe key', 512)
    local prio = num_arg(args[i + 3], 'priority', 0, 1)
    local task = str_arg(args[i + 4], 'task', 256)
    local payload = str_arg(args[i + 5], 'payload', 64 * 1024 * 1024)
    local prod = str_arg(args[i + 6] or '', 'produces', 1024 * 1024)
    if owner == '' then error({err = 'runcue: an owner is needed'}) end
    local svcs = ctx.svcs
    if svcs[s] == nil then svcs[s] = service(base, s) or false end
    if not svcs[s] then error({err = "runcue: unknown service '" .. s .. "'"}) end
    if dd ~= '' then
        local id = redis.call('GET', base .. ':dd:' .. dd)
        if id then
            local v = redis.call('HMGET', base .. ':job:' .. id, 'st', 'res', 'rs', 'owner')
            local st = v[1]
            if st == 'queued' or st == 'leased' then
                redis.call('HSET', base .. ':job:' .. id, 'owner', owner)
                return {id, st}, false
            elseif st == 'done' and v[3] and v[3] ~= '' and v[4] and
                #redis.call('XRANGE', base .. ':res:' .. v[4], v[3], v[3]) > 0 then
                -- Its result is still unread in its owner's stream (the
                -- owner restarted before it took it): this is that work,
                -- handed the result once.  Once taken, the same work asked
                -- again is asked anew (an artifact invalidated): a new job
                -- runs it.
                redis.call('HSET', base .. ':job:' .. id, 'rs', '')
                return {id, 'done', v[2] or ''}, false
            end
        end
    end
    if not ctx.now then ctx.now = now_us(base) end
    local now = ctx.now
    local seq = redis.call('INCR', base .. ':seq')
    local id = tostring(seq)
    local score = fmt(math.floor((1 - prio) * 1000 + 0.5) * PRIO_SPAN + seq)
    redis.call('HSET', base .. ':job:' .. id, 'svc', s, 'task', task, 'payload', payload,
               'owner', owner, 'dd', dd, 'score', score, 'st', 'queued', 'dl', '0',
               'eq', fmt(now), 'prod', prod)
    redis.call('ZADD', base .. ':ready:' .. s, score, id)
    if dd ~= '' then redis.call('SET', base .. ':dd:' .. dd, id) end
    return {id, 'new'}, true
end

-- runcue_enqueue svc owner dedupe priority task payload [produces]
--   (produces: artifact keys separated by newlines, announced on success)
--   -> {id, "new"} | {id, "queued"|"leased"} | {id, "done", result}
local function f_enqueue(keys, args)
    local base = base_of(keys)
    local rep, new = enqueue_one(base, args, 1, {svcs = {}})
    if new then wake(base, args[1]) end
    return rep
end

-- runcue_enqueue_many n, then n times: svc owner dedupe priority task payload
--   produces  -> n replies, each as runcue_enqueue's, or {"", "error", message}
--   for an item refused (the others are queued).  One wake per service.
local function f_enqueue_many(keys, args)
    local base = base_of(keys)
    local n = num_arg(args[1], 'item count', 1, MAX_ENQUEUE)
    if #args ~= 1 + 7 * n then return err('enqueue_many takes 7 arguments per item') end
    local ctx, woken, order, out = {svcs = {}}, {}, {}, {}
    for r = 1, n do
        local i = 2 + 7 * (r - 1)
        local ok, rep, new = pcall(enqueue_one, base, args, i, ctx)
        if ok then
            out[r] = rep
            if new and not woken[args[i]] then
                woken[args[i]] = true
                order[#order + 1] = args[i]
            end
        else
            local text = type(rep) == 'table' and rep.err or tostring(rep)
            out[r] = {'', 'error', text}
        end
    end
    for _, s in ipairs(order) do wake(base, s) end
    return out
end

-- Agents last seen more than AGENT_KEEP_US before now leave base:agents, at
-- most AGENT_PRUNE of them (the oldest): agents that come and go under new
-- names (a host and a pid) do not pile up there.  A live agent claims at least
-- once a second, and is put back by its next call if it was only quiet.
local function forget_agents(base, now)
    local old = redis.call('ZRANGEBYSCORE', base .. ':agents', '-inf',
                           '(' .. fmt(now - AGENT_KEEP_US), 'LIMIT', 0, AGENT_PRUNE)
    for _, a in ipairs(old) do redis.call('ZREM', base .. ':agents', a) end
end

-- The best ready job of service s for an agent: the first (priority, then
-- FIFO), or with want (a set of task names) the first of the first
-- SCAN_READY whose task is one of them.  A ready id with no job is taken
-- too (the caller counts it as garbage).  Its id, or nil.
local function pop_ready(base, s, want)
    local rkey = base .. ':ready:' .. s
    if not want then return redis.call('ZPOPMIN', rkey)[1] end
    for _, id in ipairs(redis.call('ZRANGE', rkey, 0, SCAN_READY - 1)) do
        local t = redis.call('HGET', base .. ':job:' .. id, 'task')
        if not t or want[t] then
            redis.call('ZREM', rkey, id)
            return id
        end
    end
    return nil
end

-- The set of the task names in text, one a line ('': nil, any task).
local function task_set(text)
    if text == '' then return nil end
    local want, n = {}, 0
    for t in string.gmatch(text, '[^\n]+') do
        n = n + 1
        if n > MAX_TASKS or #t > 256 then error({err = 'runcue: bad task list'}) end
        want[t] = true
    end
    return want
end

-- runcue_claim agent k svc [svc ...]
--   -> {"jobs", n, then n times: id token task payload deliveries lease_us svc}
--    | {"wait", t, "rate"|"full"|"lease", delay_us} | {"empty"}
--   (lease_us: the lease's length; heartbeat well within it.  "lease": nothing
--   is ready, but a lease ends at t and its job may be delivered again then.)
-- runcue_claim_for agent k tasks svc [svc ...]: the same, of the jobs of the
--   tasks named (one a line; '': any), looking through the first SCAN_READY
--   ready jobs of each service: an agent takes only work it can run.
local function claim(keys, args, want, first_svc)
    local base = base_of(keys)
    local agent = str_arg(args[1], 'agent', 128)
    local k = num_arg(args[2], 'claim count', 1, MAX_CLAIM)
    if #args < first_svc or #args > first_svc + 63 then
        return err('claim names 1 to 64 services')
    end
    local now = now_us(base)
    touch_clock(base, now)
    redis.call('ZADD', base .. ':agents', fmt(now), agent)
    forget_agents(base, now)
    local out = {'jobs', 0}
    local n = 0
    local wait_t, wait_why = nil, nil
    local lease_t = nil
    for i = first_svc, #args do
        local s = args[i]
        local svc = service(base, s)
        if not svc then return err("unknown service '" .. tostring(s) .. "'") end
        reclaim_expired(base, s, svc, now, RECLAIM_BATCH)
        local tries = 0
        while n < k and tries < MAX_CLAIM * 2 do
            tries = tries + 1
            local why, t = nil, nil
            if svc.conc >= 0 and redis.call('ZCARD', base .. ':leased:' .. s) >= svc.conc then
                why, t = 'full', next_expiry(base, s)
            else
                local nx = rate_next(base, s, svc)
                if nx > now then why, t = 'rate', nx end
            end
            if why then
                if redis.call('ZCARD', base .. ':ready:' .. s) > 0
                        and (wait_t == nil or t < wait_t) then
                    wait_t, wait_why = t, why
                end
                break
            end
            local id = pop_ready(base, s, want)
            if not id then break end
            local key = base .. ':job:' .. id
            local v = redis.call('HMGET', key, 'task', 'payload', 'st', 'dl', 'owner')
            if v[1] and v[2] and v[5] and v[3] == 'queued' then
                local tok = redis.call('INCR', base .. ':tok')
                local dl = (tonumber(v[4]) or 0) + 1
                local until_t = now + svc.lease
                redis.call('HSET', key, 'st', 'leased', 'tok', tostring(tok), 'dl', tostring(dl),
                           'lu', fmt(until_t), 'ag', agent)
                redis.call('ZADD', base .. ':leased:' .. s, fmt(until_t), id)
                record_start(base, s, svc, now)
                n = n + 1
                local o = #out
                out[o + 1] = id
                out[o + 2] = tostring(tok)
                out[o + 3] = v[1]
                out[o + 4] = v[2]
                out[o + 5] = tostring(dl)
                out[o + 6] = fmt(svc.lease)
                out[o + 7] = s
            else
                stat(base, 'garbage')
            end
        end
        if n >= k then break end
        local e = next_expiry(base, s)
        if e > 0 and (lease_t == nil or e < lease_t) then lease_t = e end
    end
    if n > 0 then
        stat(base, 'claims', n)
        out[2] = n
        return out
    end
    if wait_t then return {'wait', fmt(wait_t), wait_why, fmt(math.max(wait_t - now, 0))} end
    if lease_t then return {'wait', fmt(lease_t), 'lease', fmt(math.max(lease_t - now, 0))} end
    return {'empty'}
end

local function f_claim(keys, args)
    return claim(keys, args, nil, 3)
end

local function f_claim_for(keys, args)
    return claim(keys, args, task_set(str_arg(args[3], 'task list', MAX_TASKS * 257)), 4)
end

-- runcue_extend agent id token [message [fraction]] -> {"ok", lease_us} | {"lost"}
--   (message: the job's progress, kept in its hash; with a fraction, 0..1,
--   also sent to its owner's results stream as a "progress" entry: result
--   the fraction, error the message)
local function f_extend(keys, args)
    local base = base_of(keys)
    local agent = str_arg(args[1], 'agent', 128)
    local id = str_arg(args[2], 'job id', 32)
    local tok = str_arg(args[3], 'token', 32)
    local now = now_us(base)
    redis.call('ZADD', base .. ':agents', fmt(now), agent)
    local job = load_job(base, id)
    if not job or job.st ~= 'leased' or job.tok ~= tok then return {'lost'} end
    local svc = service(base, job.svc)
    if not svc then return {'lost'} end
    local until_t = now + svc.lease
    redis.call('ZADD', base .. ':leased:' .. job.svc, fmt(until_t), id)
    redis.call('HSET', base .. ':job:' .. id, 'lu', fmt(until_t))
    if args[4] then
        local msg = str_arg(args[4], 'progress', 4096)
        if args[5] then num_arg(args[5], 'progress fraction', 0, 1) end
        redis.call('HSET', base .. ':job:' .. id, 'pg', msg)
        -- An owner that does not read its stream (gone) gets no more
        -- progress once PROGRESS_BACKLOG entries wait there.
        if args[5] and redis.call('XLEN', base .. ':res:' .. job.owner) < PROGRESS_BACKLOG then
            emit_result(base, id, job, 'progress', args[5], msg)
        end
    end
    return {'ok', fmt(svc.lease)}
end

-- A slot of each service in `order` freed: wake the agents that wait for one
-- (only a service with a concurrency limit makes them wait for a slot).
local function wake_freed(base, order)
    for _, s in ipairs(order) do
        local conc = tonumber(redis.call('HGET', base .. ':svc:' .. s, 'conc') or '-1')
        if conc >= 0 then wake(base, s) end
    end
end

-- runcue_finish agent n, then n times: id token status(ok|fail|retry) result error
--   [produced-key-count keys...]  -> one "ok" | "stale" per result; one wake per
--   service with a concurrency limit
local function f_finish(keys, args)
    local base = base_of(keys)
    local agent = str_arg(args[1], 'agent', 128)
    local n = num_arg(args[2], 'result count', 1, MAX_CLAIM)
    local now = now_us(base)
    redis.call('ZADD', base .. ':agents', fmt(now), agent)
    local out, woken, order = {}, {}, {}
    local i = 3
    for r = 1, n do
        local id = str_arg(args[i], 'job id', 32)
        local tok = str_arg(args[i + 1], 'token', 32)
        local status = args[i + 2]
        local result = str_arg(args[i + 3], 'result', 64 * 1024 * 1024)
        local emsg = str_arg(args[i + 4], 'error', 64 * 1024)
        local np = num_arg(args[i + 5], 'produced count', 0, 4096)
        if status ~= 'ok' and status ~= 'fail' and status ~= 'retry' then
            wake_freed(base, order)
            return err("bad status '" .. tostring(status) .. "'")
        end
        local job = load_job(base, id)
        if not job or job.st ~= 'leased' or job.tok ~= tok then
            stat(base, 'stale')
            out[r] = 'stale'
        else
            redis.call('ZREM', base .. ':leased:' .. job.svc, id)
            local state = status == 'ok' and 'done' or (status == 'fail' and 'failed' or 'retry')
            local rs = emit_result(base, id, job, status, result, emsg)
            retire(base, id, job, state, status == 'ok', 'res', result, 'err', emsg, 'fin',
                   fmt(now), 'rs', rs)
            if status == 'ok' then
                for k in string.gmatch(job.prod, '[^\n]+') do
                    redis.call('XADD', base .. ':art', 'MAXLEN', '~', ART_KEEP, '*',
                               'key', k, 'owner', job.owner)
                end
                for p = 1, np do
                    redis.call('XADD', base .. ':art', 'MAXLEN', '~', ART_KEEP, '*',
                               'key', str_arg(args[i + 5 + p], 'artifact key', 4096),
                               'owner', job.owner)
                end
            end
            stat(base, 'finishes')
            if not woken[job.svc] then
                woken[job.svc] = true
                order[#order + 1] = job.svc
            end
            out[r] = 'ok'
        end
        i = i + 6 + np
    end
    wake_freed(base, order)
    return out
end

-- runcue_reclaim svc max -> {requeued, dead}
local function f_reclaim(keys, args)
    local base = base_of(keys)
    local s = str_arg(args[1], 'service name', 128)
    local max = num_arg(args[2], 'batch', 1, 10000)
    local svc = service(base, s)
    if not svc then return err("unknown service '" .. s .. "'") end
    local now = now_us(base)
    local rq, dead = reclaim_expired(base, s, svc, now, max)
    if rq > 0 then wake(base, s) end
    return {rq, dead}
end

-- runcue_cancel id -> "cancelled" | "finished" | "unknown"
local function f_cancel(keys, args)
    local base = base_of(keys)
    local id = str_arg(args[1], 'job id', 32)
    local job = load_job(base, id)
    if not job then return 'unknown' end
    if job.st ~= 'queued' and job.st ~= 'leased' then return 'finished' end
    redis.call('ZREM', base .. ':ready:' .. job.svc, id)
    redis.call('ZREM', base .. ':leased:' .. job.svc, id)
    retire(base, id, job, 'cancelled', false)
    emit_result(base, id, job, 'cancelled', '', 'cancelled')
    wake(base, job.svc)
    return 'cancelled'
end

-- runcue_job id -> {"now", t, then field, value pairs of the job's hash:
--   svc task owner st dl ag eq lu fin err pg payload res} (those it has;
--   payload, res and err cut to JOB_TEXT bytes), or {"now", t} if there is no
--   such job (never was, or expired an hour after it ended)
local JOB_TEXT = 4096
local JOB_FIELDS = {'svc', 'task', 'owner', 'st', 'dl', 'ag', 'eq', 'lu', 'fin', 'err', 'pg',
                    'payload', 'res'}
local function f_job(keys, args)
    local base = base_of(keys)
    local id = str_arg(args[1], 'job id', 32)
    local v = redis.call('HMGET', base .. ':job:' .. id, 'svc', 'task', 'owner', 'st', 'dl',
                         'ag', 'eq', 'lu', 'fin', 'err', 'pg', 'payload', 'res')
    local out = {'now', fmt(now_us(base))}
    for i, f in ipairs(JOB_FIELDS) do
        local x = v[i]
        if x then
            if #x > JOB_TEXT then x = string.sub(x, 1, JOB_TEXT) end
            out[#out + 1] = f
            out[#out + 1] = x
        end
    end
    return out
end

-- runcue_snapshot -> a list of rows, each a list:
--   {"now", t}
--   {"service", name, rate_n, rate_w, conc, lease, maxd, queued, leased,
--    starts_in_window, next_start, oldest_lease_id, oldest_lease_until}
--   {"agent", name, last_seen, leases}
--   {"stat", name, value}
--   {"dead", count, newest ids...}
local function f_snapshot(keys, args)
    local base = base_of(keys)
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
    local rows = {{'now', fmt(now)}}
    local per_agent = {}
    local names = redis.call('SMEMBERS', base .. ':svcs')
    table.sort(names)
    for _, s in ipairs(names) do
        local svc = service(base, s)
        if svc then
            local ring = redis.call('LRANGE', base .. ':ring:' .. s, 0, -1)
            local inwin = 0
            for _, st in ipairs(ring) do
                if now - tonumber(st) < svc.rate_w then inwin = inwin + 1 end
            end
            local leased = redis.call('ZRANGE', base .. ':leased:' .. s, 0, -1, 'WITHSCORES')
            for j = 1, #leased, 2 do
                local ag = redis.call('HGET', base .. ':job:' .. leased[j], 'ag') or ''
                per_agent[ag] = (per_agent[ag] or 0) + 1
            end
            rows[#rows + 1] = {'service', s, fmt(svc.rate_n), fmt(svc.rate_w), fmt(svc.conc),
                fmt(svc.lease), fmt(svc.maxd), redis.call('ZCARD', base .. ':ready:' .. s),
                #leased / 2, inwin, fmt(rate_next(base, s, svc)), leased[1] or '',
                leased[2] or '0'}
        end
    end
    local agents = redis.call('ZRANGE', base .. ':agents', 0, -1, 'WITHSCORES')
    for j = 1, #agents, 2 do
        rows[#rows + 1] = {'agent', agents[j], agents[j + 1], per_agent[agents[j]] or 0}
    end
    local st = redis.call('HGETALL', base .. ':stats')
    for j = 1, #st, 2 do rows[#rows + 1] = {'stat', st[j], st[j + 1]} end
    local dead = {'dead', redis.call('LLEN', base .. ':dead')}
    local ids = redis.call('LRANGE', base .. ':dead', 0, 9)
    for _, id in ipairs(ids) do dead[#dead + 1] = id end
    rows[#rows + 1] = dead
    return rows
end

local ro = {'no-writes'}
redis.register_function{function_name = 'runcue_version', callback = f_version, flags = ro}
redis.register_function('runcue_register', protect(f_register))
redis.register_function('runcue_enqueue', protect(f_enqueue))
redis.register_function('runcue_enqueue_many', protect(f_enqueue_many))
redis.register_function('runcue_claim', protect(f_claim))
redis.register_function('runcue_claim_for', protect(f_claim_for))
redis.register_function('runcue_extend', protect(f_extend))
redis.register_function('runcue_finish', protect(f_finish))
redis.register_function('runcue_reclaim', protect(f_reclaim))
redis.register_function('runcue_cancel', protect(f_cancel))
redis.register_function{function_name = 'runcue_snapshot', callback = protect(f_snapshot),
                        flags = ro}
redis.register_function{function_name = 'runcue_job', callback = protect(f_job), flags = ro}
