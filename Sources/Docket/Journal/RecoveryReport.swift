/// What opening a docket on a store restored.
public struct RecoveryReport: Hashable, Sendable {
    /// Waiting and delayed operations put back in their lines.
    public var queued = 0
    /// Failed operations put back at the head of their objects, blocking them.
    public var failed = 0
    /// Operations found running that were not idempotent: failed with
    /// ``OperationFailure/Kind-swift.enum/interrupted``, their objects blocked.
    public var interrupted = 0
    /// Idempotent operations found running, queued to run again.
    public var rerun = 0
    /// Finished results not yet read (or kept), readable again.
    public var results = 0
    /// Tombstones of consumed, cancelled or expired operations.
    public var tombstones = 0
    /// Operations cancelled at recovery because an operation they depend on was deleted.
    public var cancelled = 0
    /// Run-now submissions that had not started: their callers are gone, so they were dropped
    /// rather than run deferred (a caller that was told nothing asks again).
    public var abandoned = 0

    /// An empty report: nothing was restored.
    public init() {}
}
