/// Everything Docket knows about one live operation, as kept in a ``Tracker`` shard.
struct TrackingRecord: Sendable {
    enum Outcome: Sendable {
        case success(OperationPayload)
        case failure(OperationFailure)
    }

    struct Waiter: Sendable {
        let token: UInt64
        let consumes: Bool
        let continuation: UnsafeContinuation<WaitResolution, Never>
    }

    /// The operation's definition, for its name, retention and content type.
    // Proof of safety: the engine's registry holds every definition for the engine's life, and
    // records live in, and are read only by, that engine's tracker and flows.
    unowned(unsafe) let definition: ErasedDefinition
    let owner: String?
    let objectKey: String?
    let created: Duration
    let runsNow: Bool
    /// Waiting or delayed is derived from `due` while `state == .waiting`.
    var state: OperationState = .waiting
    var due: Duration
    var progress: Int = 0
    var attempt: Int = 0
    var started: Duration?
    var finished: Duration?
    var errorText: String?
    var details: [DetailEntry] = []
    var outcome: Outcome?
    var consumed = false
    var expires: Duration?
    var hasDependents = false
    var context: OperationContext?
    var observers: [(token: UInt64, continuation: AsyncStream<OperationEvent>.Continuation)] = []
    var waiters: [Waiter] = []

    var name: String { definition.name }
    var retention: ResultRetention { definition.retention }
    var contentType: String { definition.contentType }

    func visibleState(now: Duration) -> OperationState {
        if state == .waiting && due > now { return .delayed }
        return state
    }
}

/// How a waiter on an operation's outcome was released.
enum WaitResolution: Sendable {
    case outcome(ResultTake<OperationPayload>)
    /// The waiter's deadline passed or its task was cancelled first.
    case gaveUp
    /// The operation was removed without running (a run-now op whose object blocked).
    case removed(DocketError)
}
