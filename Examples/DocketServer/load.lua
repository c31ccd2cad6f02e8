-- wrk script: each connection submits a deal on one of 1 000 objects, then polls that
-- operation's status, alternately (half the requests submit, half poll).
--   wrk -t2 -c32 -d20s --latency -s Examples/DocketServer/load.lua http://127.0.0.1:8080
local counter = 0
local last = nil

function setup(thread)
    thread:set("seed", counter)
    counter = counter + 1
end

function init(args)
    math.randomseed(seed + os.time())
    wrk.headers["X-API-Key"] = "key-alice"
    wrk.headers["Content-Type"] = "application/json"
end

function request()
    if last ~= nil then
        local id = last
        last = nil
        return wrk.format("GET", "/v1/operations/" .. id)
    end
    local key = math.random(1, 1000)
    return wrk.format("POST", "/v1/definitions/createDeal/operations?objectKey=load-" .. key, nil,
        '{"title":"Load","amount":' .. key .. '}')
end

function response(status, headers, body)
    if status == 202 then
        last = string.match(body, '"id":"(%x+)"')
    end
end
