#!/usr/bin/env bash
# Each seed's flow over HTTP with curl, against a running docket-server, checking every answer:
#   Examples/DocketServer/walkthrough.sh http://127.0.0.1:8080
# Prints each request and its answer, and the number of requests made.
set -euo pipefail
BASE="${1:?usage: walkthrough.sh BASE_URL}"
ALICE="X-API-Key: key-alice"
BOB="X-API-Key: key-bob"
REQUESTS=0
STATUS=""
BODY=""

# req METHOD PATH [curl arguments...]: sets STATUS and BODY.
req() {
    local method="$1" path="$2"
    shift 2
    local out
    out=$(curl -sS -X "$method" -w $'\n%{http_code}' "$@" "$BASE$path")
    REQUESTS=$((REQUESTS + 1))
    STATUS="${out##*$'\n'}"
    BODY="${out%$'\n'*}"
    printf '%s %s -> %s %s\n' "$method" "$path" "$STATUS" "$(printf '%s' "$BODY" | head -c 240 | tr '\n' ' ')"
}

expect_status() {
    if [ "$STATUS" != "$1" ]; then echo "FAIL: expected HTTP $1, got $STATUS" >&2; exit 1; fi
}

expect_body() {
    case "$BODY" in
        *"$1"*) ;;
        *) echo "FAIL: expected the answer to contain $1" >&2; exit 1 ;;
    esac
}

# json EXPRESSION: evaluates a Python expression over the last body, parsed as `j`.
json() {
    printf '%s' "$BODY" | python3 -c "import json, sys; j = json.load(sys.stdin); print($1)"
}

# until_status METHOD PATH TEXT [curl arguments...]: repeats the request until its answer contains TEXT.
until_body() {
    local method="$1" path="$2" text="$3"
    shift 3
    for _ in $(seq 100); do
        req "$method" "$path" "$@"
        case "$BODY" in *"$text"*) return 0 ;; esac
        sleep 0.05
    done
    echo "FAIL: $method $path never answered $text" >&2
    exit 1
}

echo "== Docket's own surface"
req POST "/v1/definitions/salesReport/operations?objectKey=report-1" -H "$ALICE" -d '{"rows":20,"millisecondsPerRow":10}'
expect_status 202
ID=$(json 'j["id"]')
until_body GET "/v1/operations/$ID" '"succeeded"' -H "$ALICE"
expect_body '"progress":100'
req GET "/v1/operations/$ID/details" -H "$ALICE"
expect_body '20 of 20 rows'
req GET "/v1/operations/$ID/result" -H "$BOB"
expect_status 404
req GET "/v1/operations/$ID/result" -H "$ALICE"
expect_status 200
expect_body 'region,row,amount'
req GET "/v1/operations/$ID/result" -H "$ALICE"
expect_status 410
req POST "/v1/definitions/createDeal/operations?objectKey=deal-1&wait=5" -H "$ALICE" -d '{"title":"Quick","amount":10}'
expect_status 200
expect_body '"LocalDealId":10'
req POST "/v1/definitions/createDeal/operations?objectKey=deal-2" -H "$ALICE" -d '{"title":"Bad","amount":-1}'
FAILED=$(json 'j["id"]')
req POST "/v1/definitions/createDeal/operations?objectKey=deal-2" -H "$ALICE" -d '{"title":"Next","amount":2}'
NEXT=$(json 'j["id"]')
until_body GET "/v1/operations/$FAILED" '"failed"' -H "$ALICE"
req GET "/v1/operations/$NEXT" -H "$ALICE"
expect_body '"waiting"'
req DELETE "/v1/operations/$FAILED" -H "$ALICE"
expect_status 409
expect_body followerChoiceRequired
req POST "/v1/operations/$FAILED/retry" -H "$ALICE" -d '{"title":"Fixed","amount":3}'
expect_status 202
until_body GET "/v1/operations/$NEXT" '"succeeded"' -H "$ALICE"
req GET "/v1/operations/$FAILED/result" -H "$ALICE"
expect_body '"LocalDealId":3'
req GET "/v1/health" -H "$ALICE"
expect_body '"status":"ok"'

echo "== Kekker"
req POST "/api/deals/42" -H "$ALICE" -d '{"title":"Wrong","amount":-5}'
WRONG=$(json 'j["QueueId"]')
req POST "/api/deals/42" -H "$ALICE" -d '{"title":"Later","amount":6}'
LATER=$(json 'j["QueueId"]')
until_body GET "/api/queue/$WRONG" '"Status":"Error"' -H "$ALICE"
expect_body '"Error":'
req GET "/api/queue/$LATER" -H "$ALICE"
expect_body '"Status":"InQueue"'
req GET "/api/queue/$LATER" -H "$BOB"
expect_status 404
req DELETE "/api/queue/$LATER" -H "$ALICE"
expect_status 200
req DELETE "/api/queue/$WRONG" -H "$ALICE"
expect_status 200
req GET "/api/queue/$WRONG" -H "$ALICE"
expect_status 404
req POST "/api/deals/43" -H "$ALICE" -d '{"title":"Good","amount":7}'
GOOD=$(json 'j["QueueId"]')
until_body GET "/api/queue/$GOOD" '"Status":"Success"' -H "$ALICE"
expect_body '"LocalDealId":7'
req DELETE "/api/queue/$GOOD" -H "$ALICE"
expect_status 409

echo "== bear2b"
req GET "/v2.5/users/me?bgrs=yes" -H "$ALICE"
RID=$(json 'j["request"]')
until_body GET "/bgrs/$RID" '"status_name":"finished"' -H "$ALICE"
req GET "/bgrs/$RID/details" -H "$ALICE"
expect_body '"details":"done"'
req GET "/bgrs/$RID/result" -H "$ALICE"
expect_body '"user":"alice"'
req GET "/v2.5/reports/sales?t=csv&rows=12&msPerRow=5&bgrs=yes" -H "$ALICE"
CSV=$(json 'j["request"]')
until_body GET "/bgrs/$CSV" '"progress":"100.00"' -H "$ALICE"
req GET "/bgrs/$CSV/result" -H "$ALICE"
expect_body 'region,row,amount'
req GET "/bgrs/$CSV/result" -H "$BOB"
expect_status 404

echo "== Mobizon"
req POST "/service/campaign/send?output=json&api=v1&apiKey=key-alice" -H 'content-type: application/x-www-form-urlencoded' -d 'recipients=10&msPerRecipient=20'
TASK=$(json 'j["data"]["taskId"]')
req POST "/service/taskqueue/getStatus?output=json&api=v1&apiKey=key-alice" -H 'cache-control: no-cache' -H 'content-type: application/x-www-form-urlencoded' -d "id=$TASK"
expect_body '"code":0'
until_body POST "/service/taskqueue/getStatus?output=json&api=v1&apiKey=key-alice" '"status":2' -H 'content-type: application/x-www-form-urlencoded' -d "id=$TASK"
expect_body '"progress":100'
req POST "/service/taskqueue/getStatus?output=json&api=v1&apiKey=key-bob" -H 'content-type: application/x-www-form-urlencoded' -d "id=$TASK"
expect_body '"code":2'
req POST "/service/taskqueue/getStatus?output=json&api=v1&apiKey=key-alice" -H 'content-type: application/x-www-form-urlencoded' -d 'id=123'
expect_body '"code":2'

echo "== coreBOS"
req POST "/webservice.php" --data-urlencode operation=create --data-urlencode sessionName=key-alice --data-urlencode elementType=Deals \
    --data-urlencode 'element={"title":"Queued","amount":8}' --data-urlencode 'cbwsOptions={"launchfromqueue":true,"queuedelay":1}'
TRACKING=$(json 'j["result"]["operationTrackingID"]')
req GET "/webservice.php?operation=getQueuedOperationResult&sessionName=key-alice&operationTrackingID=$TRACKING"
expect_body 'Operation not queued or not finished yet'
until_body GET "/webservice.php?operation=getQueuedOperationResult&sessionName=key-alice&operationTrackingID=$TRACKING" '"success":true'
expect_body '"LocalDealId":8'
req GET "/webservice.php?operation=getQueuedOperationResult&sessionName=key-alice&operationTrackingID=$TRACKING"
expect_body 'Operation not queued or not finished yet'
req POST "/webservice.php" --data-urlencode operation=create --data-urlencode sessionName=key-alice --data-urlencode elementType=Deals \
    --data-urlencode 'element={"title":"Now","amount":9}'
expect_body '"LocalDealId":9'

echo "== Server-Sent Events"
req POST "/v1/definitions/salesReport/operations" -H "$ALICE" -d '{"rows":10,"millisecondsPerRow":20}'
STREAMED=$(json 'j["id"]')
EVENTS=$(curl -sS -N --max-time 20 -H "$ALICE" "$BASE/v1/operations/$STREAMED/events")
REQUESTS=$((REQUESTS + 1))
printf 'GET /v1/operations/%s/events -> %s events, last: %s\n' "$STREAMED" "$(printf '%s\n' "$EVENTS" | grep -c '^event:')" "$(printf '%s\n' "$EVENTS" | grep '^data:' | tail -1)"
case "$EVENTS" in *'"state":"succeeded"'*) ;; *) echo "FAIL: the stream did not end at succeeded" >&2; exit 1 ;; esac

echo "walkthrough passed: $REQUESTS requests"
