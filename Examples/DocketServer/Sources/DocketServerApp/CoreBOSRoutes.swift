import Docket
import Foundation
import Hummingbird

/// coreBOS web service calls: `POST /webservice.php` with `operation`, `sessionName`,
/// `element` and `cbwsOptions` (`launchfromqueue`, `queuedelay`); `GET /webservice.php` with
/// `operation=getQueuedOperationResult` and `operationTrackingID` answers the pending string
/// or the wrapped result, once. coreBOS answers 200 with `success` in the body.
struct CoreBOSRoutes: Sendable {
    let docket: Docket
    let callers: Callers

    func register<Context: RequestContext>(on router: Router<Context>, table: RouteTable) {
        table.on(router, .post, "/webservice.php") { request, context in
            let form: CallForm = try await MobizonRoutes.form(request, context)
            let owner = try callers.owner(forKey: form.sessionName)
            guard form.operation == "create", form.elementType == "Deals" else {
                return Self.failure(code: "INVALID_OPERATION", "This server queues operation=create with elementType=Deals; \(form.operation) on \(form.elementType ?? "nothing") is not supported.")
            }
            let options = try form.cbwsOptions.map { text in
                do { return try JSONDecoder().decode(Options.self, from: Data(text.utf8)) } catch {
                    throw APIError(.badRequest, code: "invalidInput", "cbwsOptions is a JSON object with launchfromqueue and queuedelay: \(error).")
                }
            } ?? Options()
            let delay = options.queuedelay ?? 0
            guard delay >= 0 else { return Self.failure(code: "INVALID_PARAMETER", "queuedelay cannot be negative (\(delay)).") }
            let input = Data((form.element ?? "").utf8)
            let submitOptions = SubmitOptions(delay: .seconds(delay), owner: owner)
            if options.launchfromqueue ?? false {
                let id = try await refusals {
                    try await docket.submit(operationNamed: BusinessOperations.createDeal.name, input: input, options: submitOptions)
                }
                return Self.success(Data(#"{"operationTrackingID":"\#(id)"}"#.utf8))
            }
            guard delay == 0 else { return Self.failure(code: "INVALID_PARAMETER", "queuedelay needs launchfromqueue.") }
            do {
                let payload = try await refusals {
                    try await docket.perform(operationNamed: BusinessOperations.createDeal.name, input: input, options: submitOptions)
                }
                return Self.success(try payload.data())
            } catch let failure as OperationFailure {
                return Self.failure(code: failure.kind.rawValue, failure.message)
            }
        }
        table.on(router, .get, "/webservice.php") { request, _ in
            let query = request.uri.queryParameters
            let owner = try callers.owner(forKey: query.get("sessionName"))
            guard query.get("operation") == "getQueuedOperationResult" else {
                return Self.failure(code: "INVALID_OPERATION", "GET serves operation=getQueuedOperationResult.")
            }
            let take = query.get("operationTrackingID").flatMap(OperationID.init).map { docket.takeResult(of: $0, owner: owner) } ?? .notFound
            return .bytes(try CoreBOSQueuedResult(take).jsonBody(), contentType: "application/json; charset=utf-8")
        }
    }

    struct CallForm: Decodable {
        let operation: String
        let sessionName: String?
        let elementType: String?
        let element: String?
        let cbwsOptions: String?
    }

    struct Options: Decodable {
        var launchfromqueue: Bool?
        var queuedelay: Int?
    }

    static func success(_ result: Data) -> Response {
        .bytes(Data(#"{"success":true,"result":"#.utf8) + result + Data("}".utf8), contentType: "application/json; charset=utf-8")
    }

    static func failure(code: String, _ message: String) -> Response {
        .json(["success": AnyEncodable(false), "error": AnyEncodable(["code": code, "message": message])])
    }
}

/// An encodable of any type, for small heterogeneous JSON objects.
struct AnyEncodable: Encodable {
    private let encode: (any Encoder) throws -> Void
    init(_ value: some Encodable) { encode = value.encode }
    func encode(to encoder: any Encoder) throws { try encode(encoder) }
}
