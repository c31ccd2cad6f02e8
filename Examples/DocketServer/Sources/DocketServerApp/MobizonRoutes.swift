import Docket
import Foundation
import Hummingbird

/// Mobizon's task queue: a background task is started by a service call, and
/// `POST /service/taskqueue/getStatus` with the form field `id` (the API key in the query
/// string, as Mobizon's document shows) answers its progress and status code 0–3, or
/// code 2 when there is no such task.
struct MobizonRoutes: Sendable {
    let docket: Docket
    let callers: Callers

    func register<Context: RequestContext>(on router: Router<Context>, table: RouteTable) {
        table.on(router, .post, "/service/campaign/send") { request, context in
            let owner = try callers.owner(forKey: request.uri.queryParameters.get("apiKey"))
            let form: SendForm = try await Self.form(request, context)
            let input = try JSONEncoder().encode(BulkSend(recipients: form.recipients, millisecondsPerRecipient: form.msPerRecipient ?? 10))
            let id = try await refusals {
                try await docket.submit(operationNamed: BusinessOperations.bulkSend.name, input: input, options: SubmitOptions(owner: owner))
            }
            return .json(Envelope(code: MobizonTaskStatus.successCode, data: ["taskId": id.description], message: ""))
        }
        // Mobizon's document spells the method both ways.
        for path in ["/service/taskqueue/getStatus", "/service/Taskqueue/GetStatus"] {
            table.on(router, .post, path) { request, context in
                let owner = try callers.owner(forKey: request.uri.queryParameters.get("apiKey"))
                let form: StatusForm = try await Self.form(request, context)
                // Progress and state are all Mobizon answers: the cheapest read.
                guard let id = OperationID(form.id), let reading = try? docket.progress(of: id, owner: owner) else {
                    return .json(Envelope<[String: Int]>(code: MobizonTaskStatus.notFoundCode, data: [:], message: "Task \(form.id) not found."))
                }
                let data = ["progress": reading.percent, "status": MobizonTaskStatus(reading.state).rawValue]
                return .json(Envelope(code: MobizonTaskStatus.successCode, data: data, message: ""))
            }
        }
    }

    /// Mobizon's answer: a result code, the data, and a message.
    struct Envelope<Payload: Encodable>: Encodable {
        let code: Int
        let data: Payload
        let message: String
    }

    struct StatusForm: Decodable {
        let id: String
    }

    struct SendForm: Decodable {
        let recipients: Int
        let msPerRecipient: Int?
    }

    static func form<Form: Decodable>(_ request: Request, _ context: some RequestContext) async throws -> Form {
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        do {
            return try URLEncodedFormDecoder().decode(Form.self, from: String(buffer: body))
        } catch {
            throw APIError(.badRequest, code: "invalidInput", "The form is missing a field or has a wrong one: \(error).")
        }
    }
}
