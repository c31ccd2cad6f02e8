/// Where an operation is in its life.
public enum OperationState: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Queued and due; waiting for its turn on its object or for a free slot.
    case waiting
    /// Queued with a due time still in the future (a delay or a retry backoff).
    case delayed
    /// Its body is running.
    case running
    /// Finished with a result.
    case succeeded
    /// Finished with an error after its retry policy; its object is blocked until retry or delete.
    case failed
    /// Removed before it finished, with the reason.
    case cancelled(CancellationReason)

    /// Whether the operation has finished (succeeded, failed or cancelled).
    public var isFinished: Bool {
        switch self {
        case .waiting, .delayed, .running: false
        case .succeeded, .failed, .cancelled: true
        }
    }

    /// Whether the operation is still queued (waiting or delayed).
    public var isQueued: Bool { self == .waiting || self == .delayed }

    /// `waiting`, `delayed`, `running`, `succeeded`, `failed`, or `cancelled(reason)`.
    public var description: String {
        switch self {
        case .waiting: "waiting"
        case .delayed: "delayed"
        case .running: "running"
        case .succeeded: "succeeded"
        case .failed: "failed"
        case .cancelled(let reason): "cancelled(\(reason.rawValue))"
        }
    }
}

/// Why an operation was cancelled.
public enum CancellationReason: String, Hashable, Sendable, Codable {
    /// Someone cancelled it.
    case cancelled
    /// Someone deleted it.
    case deleted
    /// It was queued behind a deleted failed operation and the caller chose to cascade.
    case cascade
    /// An operation it depended on was deleted or cancelled.
    case dependencyDeleted
}
