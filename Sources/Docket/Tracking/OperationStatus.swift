import Foundation

/// A snapshot of one operation's tracking record.
///
/// Snapshots never carry a read-once result; an operation whose definition keeps its
/// result (``ResultRetention/keep(for:)``) shows it in ``result``.
public struct OperationStatus: Sendable {
    /// The tracking ID.
    public let id: OperationID
    /// The definition's name.
    public let operationName: String
    /// The submitting owner, `nil` for ownerless operations.
    public let owner: String?
    /// The object key the operation runs on, `nil` for independent operations.
    public let objectKey: String?
    /// Where the operation is in its life.
    public let state: OperationState
    /// Progress from 0 to 100 as reported by the body; 100 once succeeded.
    public let progress: Int
    /// How many attempts have started.
    public let attempt: Int
    /// When it was submitted.
    public let createdAt: Date?
    /// When it is (or was) due to run: submission plus delay, or the next retry.
    public let dueAt: Date?
    /// When its latest attempt started.
    public let startedAt: Date?
    /// When it finished.
    public let finishedAt: Date?
    /// The error text when failed, or of the last failed attempt while it waits for a retry.
    public let errorText: String?
    /// The details log, oldest first.
    public let details: [DetailEntry]
    /// The result's content type once it has succeeded.
    public let contentType: String?
    /// Whether a read-once result was already taken.
    public let isResultConsumed: Bool
    /// The result, for definitions that keep it; never for read-once results.
    public let result: OperationPayload?
}
