/// A snapshot of a docket's load, for dashboards and health checks. It is the
/// administrative view: it counts every owner's operations.
public struct DocketMetrics: Sendable {
    /// An object held by a failed operation.
    public struct BlockedObject: Hashable, Sendable {
        /// The object's owner.
        public let owner: String?
        /// The object key; `nil` for an independent operation that failed.
        public let objectKey: String?
        /// The failed operation that blocks it.
        public let failedOperation: OperationID

        /// Creates an entry.
        public init(owner: String?, objectKey: String?, failedOperation: OperationID) {
            self.owner = owner
            self.objectKey = objectKey
            self.failedOperation = failedOperation
        }
    }

    /// Queued and due.
    public let waiting: Int
    /// Queued with a due time in the future.
    public let delayed: Int
    /// Running now.
    public let running: Int
    /// Succeeded with a result not yet taken or expired.
    public let succeeded: Int
    /// Failed and blocking.
    public let failed: Int
    /// Consumed, cancelled and expired operations still remembered.
    public let tombstones: Int
    /// Objects blocked by a failed operation.
    public let blockedObjects: [BlockedObject]
    /// How long the oldest due, waiting operation has waited since submission.
    public let oldestWaitingAge: Duration?
    /// Live mailboxes (objects with queued, running or failed operations).
    public let liveObjects: Int
    /// Totals since the docket started.
    public let totals: Totals

    /// Counts since the docket started.
    public struct Totals: Hashable, Sendable {
        /// Operations submitted (idempotent repeats not counted).
        public let submitted: Int
        /// Attempts that succeeded.
        public let succeeded: Int
        /// Operations that failed after their retry policy.
        public let failed: Int
        /// Failed attempts that were retried by policy.
        public let retried: Int
        /// Running operations that were cancelled.
        public let cancelled: Int
    }
}

/// What a ``Docket/runDue()`` pass did.
public struct BatchReport: Hashable, Sendable {
    /// Operations that succeeded during the pass.
    public let succeeded: Int
    /// Operations that failed (after retries) during the pass.
    public let failed: Int

    /// Creates a report.
    public init(succeeded: Int, failed: Int) {
        self.succeeded = succeeded
        self.failed = failed
    }
}

/// What a ``Docket/shutdown(gracePeriod:)`` found.
public struct ShutdownReport: Hashable, Sendable {
    /// Whether every running operation returned within the grace period.
    public let finishedInTime: Bool
    /// Operations still running at the deadline; they were asked to cancel.
    public let cancelledAtDeadline: Int
    /// Operations left queued; they will not run in this process.
    public let leftQueued: Int
}
