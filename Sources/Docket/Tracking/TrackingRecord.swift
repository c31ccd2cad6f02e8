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
    /// Submitted to run now, its ID not yet handed out to track it (``Tracker/handOut(_:)``).
    var runsNow: Bool
    /// Rebuilt from a journal: its times are offsets from this process's origin, taken from
    /// the dates another process wrote, so they may lie ahead of the clock (an earlier
    /// configured origin, a wall clock stepped back across the restart).
    let restored: Bool
    /// Waiting or delayed is derived from `due` while `state == .waiting`.
    var state: OperationState = .waiting
    var consumed = false
    var hasDependents = false
    var progress: Int = 0
    var attempt: Int = 0
    var context: OperationContext?
    // Times are engine-clock offsets in nanoseconds, `Int64.min` for none: a fifth of the
    // room of optional durations, in the record every queued operation keeps.
    private let createdNanos: Int64
    private var dueNanos: Int64
    private var startedNanos: Int64 = .min
    private var finishedNanos: Int64 = .min
    private var expiresNanos: Int64 = .min
    /// What a queued operation does not need: allocated when it is first written.
    private var extras: Extras?

    init(
        definition: ErasedDefinition, owner: String?, objectKey: String?, created: Duration, runsNow: Bool, due: Duration,
        restored: Bool = false
    ) {
        self.definition = definition
        self.owner = owner
        self.objectKey = objectKey
        self.runsNow = runsNow
        self.restored = restored
        createdNanos = created.nanoseconds
        dueNanos = due.nanoseconds
    }

    var created: Duration { .nanoseconds(createdNanos) }

    var due: Duration {
        get { .nanoseconds(dueNanos) }
        set { dueNanos = newValue.nanoseconds }
    }

    var started: Duration? {
        get { Self.optional(startedNanos) }
        set { startedNanos = newValue?.nanoseconds ?? .min }
    }

    var finished: Duration? {
        get { Self.optional(finishedNanos) }
        set { finishedNanos = newValue?.nanoseconds ?? .min }
    }

    /// When an unread or kept result expires.
    var expires: Duration? {
        get { Self.optional(expiresNanos) }
        set { expiresNanos = newValue?.nanoseconds ?? .min }
    }

    /// ``expires`` in engine-clock nanoseconds, `Int64.max` for none, without a trip through `Duration`.
    var expiresNanoseconds: Int64 { expiresNanos == .min ? .max : expiresNanos }

    var errorText: String? {
        get { extras?.fields.errorText }
        _modify { yield &uniqueExtras().fields.errorText }
    }

    var details: [DetailEntry] {
        get { extras?.fields.details ?? [] }
        _modify { yield &uniqueExtras().fields.details }
    }

    /// How the operation failed or was cancelled. A read-once success's output is kept beside
    /// the record, in its ``RecordTable/Box``, which rebuilds the outcome
    /// (``RecordTable/Box/outcome``); a kept result is ``keptSuccess``.
    var failure: OperationFailure? {
        get { extras?.fields.failure }
        set {
            // A write to the side box costs a uniqueness check, and clearing an absent failure
            // would allocate one.
            if newValue == nil, extras?.fields.failure == nil { return }
            uniqueExtras().fields.failure = newValue
        }
    }

    /// The payload of a success kept for reads until its retention ends (``ResultRetention/keep(for:)``),
    /// kept whole: the status polls that read it would otherwise rebuild it every time.
    var keptSuccess: OperationPayload? {
        get { extras?.fields.keptSuccess }
        _modify { yield &uniqueExtras().fields.keptSuccess }
    }

    /// Whether the record has allocated its side box (for tests: a read-once success allocates none).
    var hasSideBox: Bool { extras != nil }

    var observers: [(token: UInt64, continuation: AsyncStream<OperationEvent>.Continuation)] {
        get { extras?.fields.observers ?? [] }
        _modify { yield &uniqueExtras().fields.observers }
    }

    var waiters: [Waiter] {
        get { extras?.fields.waiters ?? [] }
        _modify { yield &uniqueExtras().fields.waiters }
    }

    private static func optional(_ nanoseconds: Int64) -> Duration? {
        nanoseconds == .min ? nil : .nanoseconds(nanoseconds)
    }

    /// The extras, copied first if another copy of the record shares them (copy-on-write).
    private mutating func uniqueExtras() -> Extras {
        if !isKnownUniquelyReferenced(&extras) { extras = extras?.copy() ?? Extras() }
        return extras!
    }

    /// The record's failure or kept success, error text, details, observers and waiters.
    // Proof of safety: copy-on-write. A record mutates its extras only through uniqueExtras(),
    // which copies them unless this record holds the only reference, so no two threads ever
    // touch one instance where either writes.
    private final class Extras: @unchecked Sendable {
        struct Fields {
            var errorText: String?
            var details: [DetailEntry] = []
            var failure: OperationFailure?
            var keptSuccess: OperationPayload?
            var observers: [(token: UInt64, continuation: AsyncStream<OperationEvent>.Continuation)] = []
            var waiters: [Waiter] = []
        }

        #if DEBUG
        var fields = Fields()
        #else
        /// Release builds skip the run-time exclusivity bookkeeping here, as ``RecordTable/Box``
        /// does for the record (a thread-local access set entered and left on every access,
        /// about 6% of running an operation): an instance is written only by the one record
        /// that holds its only reference (copy-on-write, see the proof above), and no code
        /// reads or writes one field while another access is open; overlapping accesses on
        /// one thread are still caught by the debug builds the tests run. The fields are one
        /// property, so in those builds an access to one field while another is open traps too.
        @exclusivity(unchecked) var fields = Fields()
        #endif

        func copy() -> Extras {
            let copy = Extras()
            copy.fields = fields
            return copy
        }
    }

    var name: String { definition.name }
    var retention: ResultRetention { definition.retention }
    var contentType: String { definition.contentType }

    /// Whether the record is waiting and may read as delayed, depending on the time of
    /// asking: its due time is after its creation, or it was restored, when even its
    /// creation may lie ahead of the clock.
    var mayBeDelayed: Bool { state == .waiting && (dueNanos > createdNanos || restored) }

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
