import Docket
import DocketServerApp
import Foundation
import Testing
import Yams

/// The HTTP surfaces, driven in process on a manual clock.
@Suite("HTTP surfaces")
struct SurfaceTests {
    @Test("openapi.yaml documents exactly the routes the application serves")
    func openAPIMatchesRoutes() throws {
        let server = try Server()
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("openapi.yaml")
        let document = try #require(try Yams.load(yaml: String(contentsOf: url, encoding: .utf8)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: Any])
        let methods: Set<String> = ["get", "post", "put", "delete", "patch"]
        var documented: Set<String> = []
        for (path, item) in paths {
            for method in (item as? [String: Any] ?? [:]).keys where methods.contains(method) { documented.insert("\(method) \(path)") }
        }
        let served = Set(server.table.routes.map(\.description))
        #expect(served.count == server.table.routes.count, "a route is registered twice")
        #expect(documented.subtracting(served).sorted() == [], "documented but not served")
        #expect(served.subtracting(documented).sorted() == [], "served but not documented")
    }

    @Test("Submit, deferred: 202 with the ID and a Location; status; the result read once (200, then 410)")
    func readOnce() async throws {
        let server = try Server()
        try await server.application.test(.router) { client in
            let accepted = try await client.call(.post, "/v1/definitions/createDeal/operations?objectKey=deal-1", body: #"{"title":"Acme","amount":12}"#)
            #expect(accepted.status == .accepted)
            let id = try #require(accepted.json["id"] as? String)
            #expect(accepted.headers[.location] == "/v1/operations/\(id)")
            await server.docket.waitForIdle()
            #expect(try await client.call(.get, "/v1/operations/\(id)").json["state"] as? String == "succeeded")
            let first = try await client.call(.get, "/v1/operations/\(id)/result")
            #expect(first.status == .ok)
            #expect(first.json["LocalDealId"] as? Int == 12)
            #expect(try await client.call(.get, "/v1/operations/\(id)/result").status == .gone)
            #expect(try await client.call(.get, "/v1/operations/0123456789abcdef0123456789abcdef/result").status == .notFound)
            #expect(try await client.call(.get, "/v1/operations/not-an-id/result").status == .notFound)
        }
    }

    @Test("A server restarted on its store answers for the operations the previous one accepted")
    func restart() async throws {
        let store = InMemoryStore()
        let first = try await Server(store: store)
        let id = try await first.application.test(.router) { client in
            let accepted = try await client.call(.post, "/v1/definitions/createDeal/operations?objectKey=deal-7&delay=60", body: #"{"title":"Later","amount":7}"#)
            #expect(accepted.status == .accepted)
            return try #require(accepted.json["id"] as? String)
        }
        // The records as a crash would leave them, opened by a new server.
        let second = try await Server(store: InMemoryStore(records: store.records))
        #expect(second.docket.recovery.queued == 1)
        try await second.application.test(.router) { client in
            #expect(try await client.call(.get, "/v1/operations/\(id)").json["state"] as? String == "delayed")
            #expect(try await client.call(.get, "/v1/operations/\(id)", Server.bob).status == .notFound)
            second.clock.advance(by: .seconds(60))
            await second.docket.waitForIdle()
            let result = try await client.call(.get, "/v1/operations/\(id)/result")
            #expect(result.status == .ok)
            #expect(result.json["LocalDealId"] as? Int == 7)
        }
    }

    @Test("Deferred without a wait answers 202 even when the operation has already finished, and leaves its result unread")
    func deferredNeverTakesTheResult() async throws {
        let server = try Server()
        try await server.application.test(.router) { client in
            let uri = "/v1/definitions/createDeal/operations?objectKey=deal-9&idempotencyKey=bad-9"
            let first = try await client.call(.post, uri, body: #"{"title":"Bad","amount":-1}"#)
            #expect(first.status == .accepted)
            let id = try #require(first.json["id"] as? String)
            await server.docket.waitForIdle()
            // The repeat finds the same, already failed operation: still the handle, not its outcome.
            let repeated = try await client.call(.post, uri, body: #"{"title":"Bad","amount":-1}"#)
            #expect(repeated.status == .accepted)
            #expect(repeated.json["id"] as? String == id)
            #expect(repeated.json["state"] as? String == "failed")
            let result = try await client.call(.get, "/v1/operations/\(id)/result")
            #expect(result.status == .unprocessableContent)
            #expect(try await client.call(.get, "/v1/operations/\(id)/result").status == .gone)
        }
    }

    @Test("A result not finished yet answers 202 with Retry-After; a wait answers 200 when it finishes in time")
    func notFinishedAndWait() async throws {
        let server = try Server()
        try await server.application.test(.router) { client in
            let delayed = try await client.call(.post, "/v1/definitions/createDeal/operations?objectKey=deal-2&delay=60", body: #"{"title":"Later","amount":1}"#)
            let id = try #require(delayed.json["id"] as? String)
            let pending = try await client.call(.get, "/v1/operations/\(id)/result")
            #expect(pending.status == .accepted)
            #expect(pending.headers[.retryAfter] == "1")
            #expect(pending.json["state"] as? String == "delayed")
            let quick = try await client.call(.post, "/v1/definitions/createDeal/operations?objectKey=deal-3&wait=5", body: #"{"title":"Now","amount":3}"#)
            #expect(quick.status == .ok)
            #expect(quick.json["LocalDealId"] as? Int == 3)
            let now = try await client.call(.post, "/v1/definitions/createDeal/operations?objectKey=deal-4&defer=false", body: #"{"title":"Run","amount":4}"#)
            #expect(now.status == .ok)
            #expect(now.json["LocalDealId"] as? Int == 4)
            let failed = try await client.call(.post, "/v1/definitions/createDeal/operations?objectKey=deal-5&defer=false", body: #"{"title":"","amount":4}"#)
            #expect(failed.status == .unprocessableContent)
            #expect((failed.json["error"] as? [String: String])?["kind"] == "thrown")
            let refused = try await client.call(.post, "/v1/definitions/createDeal/operations?objectKey=deal-5&defer=false&delay=5", body: #"{"title":"Run","amount":4}"#)
            #expect(refused.status == .badRequest)
            // Behind deal-2's delayed head, run-now answers with the handle after its wait.
            let behind = try await client.call(.post, "/v1/definitions/createDeal/operations?objectKey=deal-2&defer=false&wait=0", body: #"{"title":"Behind","amount":5}"#)
            #expect(behind.status == .accepted)
        }
    }

    @Test("One caller never sees another's operations, on any surface")
    func ownerIsolation() async throws {
        let server = try Server()
        try await server.application.test(.router) { client in
            let mine = try await client.call(.post, "/v1/definitions/createDeal/operations?objectKey=deal-1", body: #"{"title":"Mine","amount":1}"#)
            let id = try #require(mine.json["id"] as? String)
            let report = try await client.call(.get, "/v2.5/reports/sales?t=csv&rows=3&msPerRow=0&bgrs=yes")
            let rid = try #require(report.json["request"] as? String)
            await server.docket.waitForIdle()
            for path in ["/v1/operations/\(id)", "/v1/operations/\(id)/details", "/v1/operations/\(id)/result", "/bgrs/\(rid)", "/bgrs/\(rid)/result", "/api/queue/\(id)"] {
                #expect(try await client.call(.get, path, Server.bob).status == .notFound, "\(path)")
            }
            #expect(try await client.call(.delete, "/v1/operations/\(id)", Server.bob).status == .notFound)
            let mobizon = try await client.form("/service/taskqueue/getStatus?output=json&api=v1&apiKey=key-bob", "id=\(id)")
            #expect(mobizon.json["code"] as? Int == 2)
            let corebos = try await client.call(.get, "/webservice.php?operation=getQueuedOperationResult&sessionName=key-bob&operationTrackingID=\(id)", [:])
            #expect(corebos.text == #""Operation not queued or not finished yet""#)
            // Still there for its owner, unread.
            #expect(try await client.call(.get, "/v1/operations/\(id)/result").status == .ok)
            #expect(try await client.call(.get, "/bgrs/\(rid)/result").text.hasPrefix("region,row,amount\n"))
            #expect(try await client.call(.get, "/v1/health", [:]).status == .unauthorized)
            #expect(try await client.call(.get, "/v1/health", [Callers.header: "key-mallory"]).status == .unauthorized)
        }
    }

    @Test("Kekker: an Error blocks the deal; InQueue and Error can be deleted, the Error with its followers; others cannot")
    func kekkerDeletion() async throws {
        let server = try Server()
        try await server.application.test(.router) { client in
            let bad = try #require(try await client.call(.post, "/api/deals/7", body: #"{"title":"Bad","amount":-1}"#).json["QueueId"] as? String)
            let next = try #require(try await client.call(.post, "/api/deals/7", body: #"{"title":"Next","amount":2}"#).json["QueueId"] as? String)
            let last = try #require(try await client.call(.post, "/api/deals/7", body: #"{"title":"Last","amount":3}"#).json["QueueId"] as? String)
            let other = try #require(try await client.call(.post, "/api/deals/8", body: #"{"title":"Fine","amount":4}"#).json["QueueId"] as? String)
            await server.docket.waitForIdle()
            let error = try await client.call(.get, "/api/queue/\(bad)").json
            #expect(error["Status"] as? String == "Error")
            #expect((error["Error"] as? String)?.contains("negative") == true)
            #expect(try await client.call(.get, "/api/queue/\(next)").json["Status"] as? String == "InQueue")
            let success = try await client.call(.get, "/api/queue/\(other)").json
            #expect(success["Status"] as? String == "Success")
            #expect(success["LocalDealId"] as? Int == 4)
            #expect(try await client.call(.delete, "/api/queue/\(other)").status == .conflict)
            // The queued one first, as Kekker asks; then the Error, which takes its follower along.
            #expect(try await client.call(.delete, "/api/queue/\(next)").json["Deleted"] as? [String] == [next])
            let deleted = try await client.call(.delete, "/api/queue/\(bad)").json["Deleted"] as? [String]
            #expect(Set(deleted ?? []) == [bad, last])
            #expect(try await client.call(.get, "/api/queue/\(bad)").status == .notFound)
        }
    }

    @Test("bear2b: bgrs answers a request ID; status, details and the CSV result in its content type")
    func bear2b() async throws {
        let server = try Server()
        try await server.application.test(.router) { client in
            let rid = try #require(try await client.call(.get, "/v2.5/reports/sales?t=csv&rows=8&msPerRow=0&bgrs=yes").json["request"] as? String)
            await server.docket.waitForIdle()
            let document = try #require(try await client.call(.get, "/bgrs/\(rid)").array.first)
            #expect(document["status_name"] as? String == "finished")
            #expect(document["progress"] as? String == "100.00")
            #expect(document["user_id"] as? String == "alice")
            #expect(document["content_type"] as? String == "text/csv; charset=utf-8")
            #expect(try await client.call(.get, "/bgrs/\(rid)/details").array.count == 4)
            let result = try await client.call(.get, "/bgrs/\(rid)/result")
            #expect(result.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(result.text.split(separator: "\n").count == 9)
            let now = try await client.call(.get, "/v2.5/users/me")
            #expect(now.json["user"] as? String == "alice")
        }
    }

    @Test("Mobizon: progress and status 0-3 by form id with the key in the query; code 2 when not found")
    func mobizon() async throws {
        let server = try Server()
        try await server.application.test(.router) { client in
            let sent = try await client.form("/service/campaign/send?output=json&api=v1&apiKey=key-alice", "recipients=5&msPerRecipient=0")
            let data = try #require(sent.json["data"] as? [String: Any])
            let task = try #require(data["taskId"] as? String)
            await server.docket.waitForIdle()
            let status = try await client.form("/service/taskqueue/getStatus?output=json&api=v1&apiKey=key-alice", "id=\(task)").json
            #expect(status["code"] as? Int == 0)
            #expect(status["data"] as? [String: Int] == ["progress": 100, "status": 2])
            #expect(try await client.form("/service/Taskqueue/GetStatus?apiKey=key-alice", "id=123").json["code"] as? Int == 2)
            #expect(try await client.form("/service/taskqueue/getStatus?apiKey=key-alice", "nothing=1").status == .badRequest)
        }
    }

    @Test("coreBOS: launchfromqueue answers a tracking ID; getQueuedOperationResult is pending, then the result once")
    func corebos() async throws {
        let server = try Server()
        try await server.application.test(.router) { client in
            let element = #"{"title":"Big","amount":7}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let options = #"{"launchfromqueue":true,"queuedelay":5}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let queued = try await client.form("/webservice.php", "operation=create&sessionName=key-alice&elementType=Deals&element=\(element)&cbwsOptions=\(options)")
            let result = try #require(queued.json["result"] as? [String: String])
            let id = try #require(result["operationTrackingID"])
            let uri = "/webservice.php?operation=getQueuedOperationResult&sessionName=key-alice&operationTrackingID=\(id)"
            #expect(try await client.call(.get, uri, [:]).text == #""Operation not queued or not finished yet""#)
            server.clock.advance(by: .seconds(5))
            await server.docket.waitForIdle()
            let finished = try await client.call(.get, uri, [:]).json
            #expect(finished["success"] as? Bool == true)
            #expect((finished["result"] as? [String: Any])?["success"] as? Bool == true)
            #expect(try await client.call(.get, uri, [:]).text == #""Operation not queued or not finished yet""#)
            let now = try await client.form("/webservice.php", "operation=create&sessionName=key-alice&elementType=Deals&element=\(element)")
            #expect((now.json["result"] as? [String: Any])?["LocalDealId"] as? Int == 7)
        }
    }
}
