import Docket
import Foundation
import Hummingbird

/// Kekker's operation queue: a business operation answers a `QueueId`; `GET /api/queue/{QueueId}`
/// answers its `QueueState`, `DELETE /api/queue/{QueueId}` removes it with its followers.
struct KekkerRoutes: Sendable {
    let docket: Docket
    let callers: Callers

    func register<Context: RequestContext>(on router: Router<Context>, table: RouteTable) {
        // Create or update a deal: operations on one deal run in order, and an error stops the
        // deal's later operations until it is corrected or deleted.
        table.on(router, .post, "/api/deals/{DealKey}") { request, context in
            let owner = try callers.owner(of: request)
            let key = try context.parameters.require("DealKey")
            let input = Data(try await request.body.collect(upTo: context.maxUploadSize).readableBytesView)
            let id = try await refusals {
                try await docket.submit(
                    operationNamed: BusinessOperations.kekkerCreateDeal.name, input: input,
                    options: SubmitOptions(objectKey: "deal-\(key)", owner: owner))
            }
            return .json(["QueueId": id.description])
        }
        table.on(router, .get, "/api/queue/{QueueId}") { request, context in
            let (id, status, queueStatus) = try await queued(request, context)
            return .json(QueueState(id: id, status: queueStatus, snapshot: status))
        }
        table.on(router, .delete, "/api/queue/{QueueId}") { request, context in
            let owner = try callers.owner(of: request)
            let (id, _, queueStatus) = try await queued(request, context)
            guard queueStatus.isDeletable else {
                throw APIError(.conflict, code: "notDeletable", "Only operations InQueue or in Error can be deleted; \(id) is \(queueStatus.rawValue).")
            }
            // As Kekker's document says: the wrong operation goes with its consequent operations.
            let report = try await refusals { try await docket.delete(id, owner: owner, followers: .cascade) }
            return .json(DeleteResult(QueueId: id.description, Deleted: report.removed.map(\.id.description)))
        }
    }

    /// The caller's operation named in the path, with its Kekker status. A deleted or
    /// cancelled operation is no longer in Kekker's queue: not found.
    private func queued(_ request: Request, _ context: some RequestContext) async throws -> (OperationID, OperationStatus, KekkerQueueStatus) {
        let owner = try callers.owner(of: request)
        let id = try operationID(context.parameters.require("QueueId"))
        let status = try await refusals { try docket.status(of: id, owner: owner) }
        guard let queueStatus = KekkerQueueStatus(status.state) else {
            throw APIError(.notFound, code: "notFound", "Operation \(id) is not in the queue.")
        }
        return (id, status, queueStatus)
    }

    /// Kekker's `QueueState`: `QueueId`, `Status`, `Error` for Error, and the created deal's
    /// `DealId` and `LocalDealId` for Success.
    struct QueueState: Encodable {
        let QueueId: String
        let Status: String
        let Error: String?
        let DealId: String?
        let LocalDealId: Int?

        init(id: OperationID, status: KekkerQueueStatus, snapshot: OperationStatus) {
            QueueId = id.description
            Status = status.rawValue
            Error = status == .error ? snapshot.errorText : nil
            let created = status == .success ? snapshot.result?.decode(as: DealCreated.self) : nil
            DealId = created?.DealId
            LocalDealId = created?.LocalDealId
        }
    }

    struct DeleteResult: Encodable {
        let QueueId: String
        let Deleted: [String]
    }
}
