import Docket
import Foundation
import Hummingbird

/// bear2b's background requests: `?bgrs=yes` (or `1`) on a normal route answers
/// `{"request": id}` at once; `/bgrs/{id}`, `/bgrs/{id}/details` and `/bgrs/{id}/result`
/// follow it. Unlike bear2b's document, every read is the caller's own.
struct Bear2bRoutes: Sendable {
    let docket: Docket
    let callers: Callers

    func register<Context: RequestContext>(on router: Router<Context>, table: RouteTable) {
        table.on(router, .get, "/v2.5/users/me") { request, _ in
            let owner = try callers.owner(of: request)
            let input = try JSONEncoder().encode(UserProfile(user: owner, plan: "business"))
            return try await call(BusinessOperations.userProfile.name, input: input, owner: owner, request: request)
        }
        table.on(router, .get, "/v2.5/reports/sales") { request, _ in
            let owner = try callers.owner(of: request)
            let query = request.uri.queryParameters
            if let format = query.get("t"), format != "csv" {
                throw APIError(.badRequest, code: "invalidInput", "t=csv is the report's one format, not \(format).")
            }
            let rows = try DocketRoutes.seconds(query.get("rows"), name: "rows", maximum: 10_000)
            let pace = try DocketRoutes.seconds(query.get("msPerRow"), name: "msPerRow", maximum: 1_000)
            let input = try JSONEncoder().encode(ReportRequest(rows: rows, millisecondsPerRow: pace))
            return try await call(BusinessOperations.bear2bSalesReport.name, input: input, owner: owner, request: request)
        }
        table.on(router, .get, "/bgrs/{rid}") { request, context in
            let owner = try callers.owner(of: request)
            let id = try operationID(context.parameters.require("rid"))
            let status = try await refusals { try docket.status(of: id, owner: owner) }
            return .json([Bear2bStatusDocument(status)])
        }
        table.on(router, .get, "/bgrs/{rid}/details") { request, context in
            let owner = try callers.owner(of: request)
            let id = try operationID(context.parameters.require("rid"))
            let status = try await refusals { try docket.status(of: id, owner: owner) }
            return .json(Bear2bStatusDocument.details(of: status))
        }
        table.on(router, .get, "/bgrs/{rid}/result") { request, context in
            let owner = try callers.owner(of: request)
            let id = try operationID(context.parameters.require("rid"))
            return try DocketRoutes.answer(docket.takeResult(of: id, owner: owner), id: id)
        }
    }

    /// Runs the call in the background with `bgrs=yes` or `bgrs=1`, else now.
    private func call(_ name: String, input: Data, owner: String, request: Request) async throws -> Response {
        let background = request.uri.queryParameters.get("bgrs").map { $0 == "yes" || $0 == "1" } ?? false
        let options = SubmitOptions(owner: owner)
        if background {
            let id = try await refusals { try await docket.submit(operationNamed: name, input: input, options: options) }
            return .json(["request": id.description])
        }
        do {
            let payload = try await refusals { try await docket.perform(operationNamed: name, input: input, options: options) }
            return .bytes(try payload.data(), contentType: payload.contentType)
        } catch let failure as OperationFailure {
            return .json(FailureBody(id: nil, failure: failure), status: .unprocessableContent)
        }
    }
}
