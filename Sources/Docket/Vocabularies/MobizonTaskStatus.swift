/// Mobizon's task queue status codes (`taskqueue/getStatus`).
///
/// Mapping: waiting or delayed → 0, running → 1, succeeded → 2, failed or cancelled → 3.
/// An unknown ID is Mobizon's answer code 2 ("task not found"), ``notFoundCode``.
public enum MobizonTaskStatus: Int, Hashable, Sendable, Codable, CaseIterable {
    /// 0 – waiting to start.
    case waiting = 0
    /// 1 – in progress.
    case inProgress = 1
    /// 2 – done.
    case done = 2
    /// 3 – rejected.
    case rejected = 3

    /// Mobizon's API answer code for a successful status read.
    public static let successCode = 0
    /// Mobizon's API answer code when no task has that ID.
    public static let notFoundCode = 2

    /// Mobizon's status code for a state.
    public init(_ state: OperationState) {
        switch state {
        case .waiting, .delayed: self = .waiting
        case .running: self = .inProgress
        case .succeeded: self = .done
        case .failed, .cancelled: self = .rejected
        }
    }
}
