import Foundation

/// How a ``Docket`` runs: capacity, retention windows, and execution mode.
public struct DocketConfiguration: Sendable {
    /// When queued operations run.
    public enum Execution: Hashable, Sendable {
        /// Operations run as soon as they are due and a slot is free.
        case automatic
        /// Nothing runs until ``Docket/runDue()`` is called (coreBOS's cron runner).
        case batch
    }

    /// The most operations running at once, across all objects. I/O-bound work wants hundreds.
    ///
    /// Bodies that compute rather than wait gain nothing from more than one per core: the
    /// extra workers only take turns on the cooperative pool's threads. The pool shares its
    /// threads by count of tasks, so at the core count the server's other tasks (request
    /// handlers polling statuses) get more of them: `Benchmarks/README.md` measures both.
    public var maxConcurrentOperations: Int
    /// The most operations queued (waiting or delayed) at once; past it, submitting is refused.
    public var maxQueuedOperations: Int
    /// How long an unread read-once result is kept before it expires.
    public var unreadResultLifetime: Duration
    /// How long a consumed, cancelled or expired operation is remembered before its ID reads as unknown.
    public var tombstoneLifetime: Duration
    /// How long an idempotency key returns the operation it first created.
    public var idempotencyWindow: Duration
    /// When queued operations run.
    public var execution: Execution
    /// The wall-clock date that the clock's start corresponds to, for status timestamps.
    /// Defaults to the moment the docket is created.
    public var wallClockOrigin: Date?
    /// The priority of the docket's workers, the tasks that run operations. With `nil` (the
    /// default) each worker takes the priority of the task whose submission started it.
    ///
    /// A server whose request handlers share Swift's cooperative thread pool with the docket
    /// may set a lower one, such as `.utility`: while the docket has work for every thread,
    /// the handlers' tasks (a status poll, a submission) then run ahead of it instead of
    /// waiting behind a queue of the docket's jobs. The docket's own throughput is lower for
    /// it when nothing else competes; `Benchmarks/README.md` measures both. At any priority
    /// a worker gives its thread back after 32 operations or so (while its line is the only
    /// one busy, after 32 operations and 200 µs since it last did, the clock checked every
    /// 32nd operation), so a backlog of bodies that never suspend does not hold the pool
    /// until it drains.
    public var workerPriority: TaskPriority?

    /// How long after its worker last gave its thread up a lone busy line's turn may run past
    /// its 32 operations (``TurnLimit``): not public, so that tests can pin turns to the
    /// budget (zero) or stretch them.
    var loneLineSlice: Duration = TurnLimit.slice

    /// Called by a worker after each turn, with the object's key and the operations the turn
    /// ran, before the worker gives its thread back or takes its next mailbox; the actor is
    /// free meanwhile. Not public: tests read the turns through it, and act between two.
    var turnObserver: (@Sendable (_ objectKey: String, _ ran: Int) async -> Void)?

    /// Creates a configuration; every value has a default suited to a server.
    public init(
        maxConcurrentOperations: Int = 64,
        maxQueuedOperations: Int = 1_000_000,
        unreadResultLifetime: Duration = .seconds(24 * 3600),
        tombstoneLifetime: Duration = .seconds(24 * 3600),
        idempotencyWindow: Duration = .seconds(24 * 3600),
        execution: Execution = .automatic,
        wallClockOrigin: Date? = nil,
        workerPriority: TaskPriority? = nil
    ) {
        self.maxConcurrentOperations = maxConcurrentOperations
        self.maxQueuedOperations = maxQueuedOperations
        self.unreadResultLifetime = unreadResultLifetime
        self.tombstoneLifetime = tombstoneLifetime
        self.idempotencyWindow = idempotencyWindow
        self.execution = execution
        self.wallClockOrigin = wallClockOrigin
        self.workerPriority = workerPriority
    }

    func validated() throws -> DocketConfiguration {
        guard maxConcurrentOperations >= 1 else {
            throw DocketError(.invalidConfiguration, "maxConcurrentOperations is \(maxConcurrentOperations); it must be at least 1.")
        }
        guard maxQueuedOperations >= 1 else {
            throw DocketError(.invalidConfiguration, "maxQueuedOperations is \(maxQueuedOperations); it must be at least 1.")
        }
        for (name, value) in [("unreadResultLifetime", unreadResultLifetime), ("tombstoneLifetime", tombstoneLifetime), ("idempotencyWindow", idempotencyWindow)]
        where value < .zero || value > Docket.longestDuration {
            throw DocketError(.invalidConfiguration, "\(name) is \(value); it must be from zero to \(Docket.longestDuration).")
        }
        return self
    }
}
