/// Kekker's queue status vocabulary (`GET /api/queue/{QueueId}`).
///
/// Mapping: waiting or delayed → `InQueue`, running → `InProgress`, succeeded → `Success`,
/// failed → `Error`; a cancelled (deleted) operation is not in Kekker's queue: not found.
public enum KekkerQueueStatus: String, Hashable, Sendable, Codable, CaseIterable {
    /// Waiting or delayed.
    case inQueue = "InQueue"
    /// Running.
    case inProgress = "InProgress"
    /// Succeeded.
    case success = "Success"
    /// Failed.
    case error = "Error"

    /// Kekker's status for a state; `nil` (not found) for cancelled operations.
    public init?(_ state: OperationState) {
        switch state {
        case .waiting, .delayed: self = .inQueue
        case .running: self = .inProgress
        case .succeeded: self = .success
        case .failed: self = .error
        case .cancelled: return nil
        }
    }

    /// Whether Kekker allows deleting an operation in this status (InQueue or Error).
    public var isDeletable: Bool { self == .inQueue || self == .error }
}
