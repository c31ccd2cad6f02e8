import Docket
import Foundation
import HTTPTypes
import Hummingbird

/// Docket's own REST surface: submit by name, then status, details, result (read once),
/// delete, retry, cancel, events (Server-Sent Events) and health.
struct DocketRoutes: Sendable {
    let docket: Docket
    let callers: Callers
    /// The longest wait a submission may ask for, in seconds.
    static let maximumWait = 30

    func register<Context: RequestContext>(on router: Router<Context>, table: RouteTable) {
        table.on(router, .get, "/v1/definitions") { request, _ in
            _ = try callers.owner(of: request)
            return .json(docket.operations.map { ["name": $0.name, "queueable": $0.isQueueable ? "true" : "false"] })
        }
        table.on(router, .post, "/v1/definitions/{name}/operations") { request, context in try await submit(request, context) }
        table.on(router, .get, "/v1/operations/{id}") { request, context in
            let owner = try callers.owner(of: request)
            let id = try operationID(context.parameters.require("id"))
            return .json(StatusBody(try await refusals { try docket.status(of: id, owner: owner) }))
        }
        table.on(router, .get, "/v1/operations/{id}/details") { request, context in
            let owner = try callers.owner(of: request)
            let id = try operationID(context.parameters.require("id"))
            let status = try await refusals { try docket.status(of: id, owner: owner) }
            return .json(status.details.map { DetailBody(at: $0.date, message: $0.message) })
        }
        table.on(router, .get, "/v1/operations/{id}/result") { request, context in
            let owner = try callers.owner(of: request)
            let id = try operationID(context.parameters.require("id"))
            return try Self.answer(docket.takeResult(of: id, owner: owner), id: id)
        }
        table.on(router, .delete, "/v1/operations/{id}") { request, context in
            let owner = try callers.owner(of: request)
            let id = try operationID(context.parameters.require("id"))
            let followers = try request.uri.queryParameters.get("followers").map { text in
                guard let policy = FollowerPolicy(rawValue: text) else {
                    throw APIError(.badRequest, code: "invalidInput", "followers is keep or cascade, not \(text).")
                }
                return policy
            }
            let report = try await refusals { try await docket.delete(id, owner: owner, followers: followers) }
            return .json(["removed": report.removed.map { ["id": $0.id.description, "reason": $0.reason.rawValue] }])
        }
        table.on(router, .post, "/v1/operations/{id}/retry") { request, context in
            let owner = try callers.owner(of: request)
            let id = try operationID(context.parameters.require("id"))
            let body = try await request.body.collect(upTo: context.maxUploadSize)
            try await refusals {
                if body.readableBytes == 0 {
                    try await docket.retry(id, owner: owner)
                } else {
                    try await docket.retry(id, owner: owner, correctedInput: Data(body.readableBytesView))
                }
            }
            return .json(StatusBody(try await refusals { try docket.status(of: id, owner: owner) }), status: .accepted)
        }
        table.on(router, .post, "/v1/operations/{id}/cancel") { request, context in
            let owner = try callers.owner(of: request)
            let id = try operationID(context.parameters.require("id"))
            try await refusals { try await docket.cancel(id, owner: owner) }
            return .json(StatusBody(try await refusals { try docket.status(of: id, owner: owner) }), status: .accepted)
        }
        table.on(router, .get, "/v1/operations/{id}/events") { request, context in
            let owner = try callers.owner(of: request)
            let id = try operationID(context.parameters.require("id"))
            let events = try await refusals { try docket.events(of: id, owner: owner) }
            return EventStream.response(events)
        }
        table.on(router, .get, "/v1/health") { request, _ in
            _ = try callers.owner(of: request)
            return .json(HealthBody(await docket.metrics()))
        }
    }

    /// `POST /v1/definitions/{name}/operations`: defers by default (202 with the tracking ID and a
    /// `Location`); `defer=false` runs now (in the object's order, waiting up to 30 seconds unless
    /// `wait` says less); `wait=N` answers 200 with the outcome when it comes within N seconds,
    /// else 202.
    private func submit(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let owner = try callers.owner(of: request)
        let name = try context.parameters.require("name")
        let query = request.uri.queryParameters
        let deferred = try Self.flag(query.get("defer"), name: "defer", default: true)
        let delay = try Self.seconds(query.get("delay"), name: "delay", maximum: 86_400)
        let wait = try Self.seconds(query.get("wait"), name: "wait", maximum: Self.maximumWait)
        let key = query.get("objectKey")
        let idempotencyKey = request.headers[HTTPField.Name("Idempotency-Key")!] ?? query.get("idempotencyKey")
        let input = Data(try await request.body.collect(upTo: context.maxUploadSize).readableBytesView)
        let options = SubmitOptions(objectKey: key, delay: .seconds(delay), owner: owner, idempotencyKey: idempotencyKey)
        let submission: Submission<OperationPayload>
        if deferred && wait == 0 {
            // Deferred without a wait: always the tracking handle (coreBOS), even when a fast
            // operation has already finished, so its result stays for the caller to read.
            let id = try await refusals { try await docket.submit(operationNamed: name, input: input, options: options) }
            return accepted(id, owner: owner)
        }
        if deferred {
            submission = try await refusals {
                try await docket.submit(operationNamed: name, input: input, options: options, waitingUpTo: .seconds(wait))
            }
        } else {
            // Run now: still in the object's order, so the answer is bounded by the wait
            // (all of it when none is given), then it is the tracking handle.
            guard delay == 0 else {
                throw APIError(.badRequest, code: "invalidDelay", "A delay needs a deferred operation; drop delay or defer=false.")
            }
            let budget = query.get("wait") == nil ? Self.maximumWait : wait
            submission = try await refusals {
                try await docket.perform(operationNamed: name, input: input, options: options, waitingUpTo: .seconds(budget))
            }
        }
        switch submission {
        case .finished(.success(let payload)):
            return .bytes(try payload.data(), contentType: payload.contentType)
        case .finished(.failure(let failure)):
            return .json(FailureBody(id: nil, failure: failure), status: .unprocessableContent)
        case .accepted(let handle):
            return accepted(handle.id, owner: owner)
        }
    }

    /// 202 with the tracking ID, its current state and its `Location`.
    private func accepted(_ id: OperationID, owner: String) -> Response {
        let location = "/v1/operations/\(id)"
        let state = (try? docket.status(of: id, owner: owner).state.description) ?? "waiting"
        let body: [String: String] = ["id": id.description, "state": state, "location": location]
        return .json(body, status: .accepted, headers: [.location: location])
    }

    /// The result read: 200 with the payload, 422 with the operation's failure, 202 while
    /// unfinished, 410 once taken, 404 for unknown or foreign IDs.
    static func answer(_ take: ResultTake<OperationPayload>, id: OperationID) throws -> Response {
        switch take {
        case .finished(.success(let payload)):
            return .bytes(try payload.data(), contentType: payload.contentType)
        case .finished(.failure(let failure)):
            return .json(FailureBody(id: id.description, failure: failure), status: .unprocessableContent)
        case .notFinished(let state):
            return .json(["id": id.description, "state": state.description], status: .accepted, headers: [.retryAfter: "1"])
        case .consumed:
            throw APIError(.gone, code: "alreadyConsumed", "The result of \(id) was already read; results are read once.")
        case .notFound:
            throw APIError(.notFound, code: "notFound", "No operation \(id) is visible to this caller.")
        }
    }

    static func flag(_ text: String?, name: String, default value: Bool) throws -> Bool {
        switch text {
        case nil: value
        case "true", "1", "yes": true
        case "false", "0", "no": false
        case let other?: throw APIError(.badRequest, code: "invalidInput", "\(name) is true or false, not \(other).")
        }
    }

    static func seconds(_ text: String?, name: String, maximum: Int) throws -> Int {
        guard let text else { return 0 }
        guard let value = Int(text), (0...maximum).contains(value) else {
            throw APIError(.badRequest, code: "invalidInput", "\(name) is a whole number of seconds from 0 to \(maximum), not \(text).")
        }
        return value
    }
}

/// A status snapshot as JSON.
struct StatusBody: Encodable {
    let id: String
    let operation: String
    let objectKey: String?
    let state: String
    let progress: Int
    let attempt: Int
    let createdAt: Date?
    let dueAt: Date?
    let startedAt: Date?
    let finishedAt: Date?
    let error: String?
    let contentType: String?
    let resultConsumed: Bool

    init(_ status: OperationStatus) {
        id = status.id.description
        operation = status.operationName
        objectKey = status.objectKey
        state = status.state.description
        progress = status.progress
        attempt = status.attempt
        createdAt = status.createdAt
        dueAt = status.dueAt
        startedAt = status.startedAt
        finishedAt = status.finishedAt
        error = status.errorText
        contentType = status.contentType
        resultConsumed = status.isResultConsumed
    }
}

/// One line of an operation's details log.
struct DetailBody: Encodable {
    let at: Date
    let message: String
}

/// An operation's own failure (never a 5xx: the server is fine, the operation failed).
struct FailureBody: Encodable {
    let id: String?
    let error: Failure

    struct Failure: Encodable {
        let kind: String
        let message: String
    }

    init(id: String?, failure: OperationFailure) {
        self.id = id
        error = Failure(kind: failure.kind.rawValue, message: failure.message)
    }
}

/// The metrics snapshot for dashboards and health checks.
struct HealthBody: Encodable {
    let status = "ok"
    let waiting: Int
    let delayed: Int
    let running: Int
    let succeeded: Int
    let failed: Int
    let blockedObjects: Int
    let oldestWaitingSeconds: Double?
    let liveObjects: Int
    let submitted: Int

    init(_ metrics: DocketMetrics) {
        waiting = metrics.waiting
        delayed = metrics.delayed
        running = metrics.running
        succeeded = metrics.succeeded
        failed = metrics.failed
        blockedObjects = metrics.blockedObjects.count
        oldestWaitingSeconds = metrics.oldestWaitingAge.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }
        liveObjects = metrics.liveObjects
        submitted = metrics.totals.submitted
    }
}
