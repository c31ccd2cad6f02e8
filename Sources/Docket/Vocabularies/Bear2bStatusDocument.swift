import Foundation

/// bear2b's background request status document (`/bgrs/{id}`), field for field.
///
/// `status_id`/`status_name`: 1 queued (waiting or delayed), 2 processing, 3 failed,
/// 4 finished, 5 cancelled. `status` is the outcome code: "200" once succeeded, "422" when
/// the operation failed, "410" when cancelled, empty while unfinished. `user_id` is the
/// owner — and unlike bear2b, only the owner can read it.
public struct Bear2bStatusDocument: Hashable, Sendable, Codable {
    /// The tracking ID (bear2b's `rid`).
    public let rid: String
    /// The owner.
    public let user_id: String
    /// The operation name.
    public let name: String
    /// Creation time, `yyyy-MM-dd HH:mm:ss` UTC.
    public let created_dt: String
    /// The numeric status.
    public let status_id: String
    /// The status name.
    public let status_name: String
    /// Progress with two decimals, `"100.00"`.
    public let progress: String
    /// Finish time, empty while unfinished.
    public let finished_dt: String
    /// The outcome code.
    public let status: String
    /// The result's content type once succeeded.
    public let content_type: String

    /// The document for a status snapshot.
    public init(_ status: OperationStatus) {
        rid = status.id.description
        user_id = status.owner ?? ""
        name = status.operationName
        created_dt = status.createdAt.map(Self.format) ?? ""
        let (code, label, outcome): (Int, String, String) =
            switch status.state {
            case .waiting, .delayed: (1, "queued", "")
            case .running: (2, "processing", "")
            case .failed: (3, "failed", "422")
            case .succeeded: (4, "finished", "200")
            case .cancelled: (5, "cancelled", "410")
            }
        status_id = String(code)
        status_name = label
        progress = String(format: "%.2f", Double(status.progress))
        finished_dt = status.finishedAt.map(Self.format) ?? ""
        self.status = outcome
        content_type = status.contentType ?? ""
    }

    /// The details log as bear2b's `/bgrs/{id}/details` rows.
    public static func details(of status: OperationStatus) -> [Detail] {
        status.details.enumerated().map { index, entry in
            Detail(id: String(index + 1), rid: status.id.description, dt: format(entry.date), details: entry.message)
        }
    }

    /// One row of bear2b's details log.
    public struct Detail: Hashable, Sendable, Codable {
        /// The row number.
        public let id: String
        /// The tracking ID.
        public let rid: String
        /// When, `yyyy-MM-dd HH:mm:ss` UTC.
        public let dt: String
        /// The message.
        public let details: String

        /// Creates a row.
        public init(id: String, rid: String, dt: String, details: String) {
            self.id = id
            self.rid = rid
            self.dt = dt
            self.details = details
        }
    }

    static func format(_ date: Date) -> String {
        let components = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(secondsFromGMT: 0) ?? .current, from: date)
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02d", components.year ?? 0, components.month ?? 0, components.day ?? 0,
            components.hour ?? 0, components.minute ?? 0, components.second ?? 0)
    }
}
