-- wrk script: replays pre-signed Twilio webhook requests, each one once.
--
--   wrk -s bench/replay.lua URL -- REQUESTS_FILE THREADS
--
-- REQUESTS_FILE (written by bench/workload.py) holds one request a line:
-- path TAB X-Twilio-Signature TAB form body. Thread k of n keeps lines k, k+n,
-- k+2n ... so no two threads send the same request. A thread that runs out of
-- requests starts its share again and counts it in `wrapped`: the app then sees
-- repeats (Twilio retries), which the report flags.
--
-- done() prints one line, "BENCH {json}", with what bench.py reads.

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   local file, count = args[1], tonumber(args[2])
   queue, nxt, wrapped, non2xx = {}, 1, 0, 0
   local line_number = 0
   for line in io.lines(file) do
      if line_number % count == id then
         local path, signature, body = line:match("^([^\t]+)\t([^\t]+)\t(.*)$")
         queue[#queue + 1] = wrk.format("POST", path, {
            ["Content-Type"] = "application/x-www-form-urlencoded",
            ["X-Twilio-Signature"] = signature,
         }, body)
      end
      line_number = line_number + 1
   end
   assert(#queue > 0, "no requests for thread " .. id .. " in " .. file)
end

function request()
   local next_request = queue[nxt]
   nxt = nxt + 1
   if nxt > #queue then
      nxt, wrapped = 1, wrapped + 1
   end
   return next_request
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
   end
end

function done(summary, latency, rates)
   local wraps, bad = 0, 0
   for _, thread in ipairs(threads) do
      wraps = wraps + thread:get("wrapped")
      bad = bad + thread:get("non2xx")
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH {"duration_us": %d, "requests": %d, "bytes": %d, "connect": %d, "read": %d, '
         .. '"write": %d, "timeout": %d, "non_2xx": %d, "wrapped": %d, "p50_us": %d, '
         .. '"p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
      summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write,
      e.timeout, bad, wraps, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, latency.mean))
end
