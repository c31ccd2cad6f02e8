import Foundation

/// One state change of one operation, as a ``DocketStore`` receives and persists it.
///
/// Every change of an operation's tracked state goes through the engine's tracker, which
/// writes one of these per change: replaying a store's records in order rebuilds every
/// operation that matters after a restart. Times are wall-clock dates, so time spent down
/// counts against delays and retention windows.
public enum JournalRecord: Sendable, Hashable {
    /// An operation was accepted: everything needed to run it again after a restart.
    case submitted(JournalSubmission)
    /// An attempt began. The body runs only once this is durable (except an idempotent
    /// run-now operation's).
    case started(OperationID, attempt: Int)
    /// A failed attempt will be tried again (the retry policy) at `due`.
    case requeued(OperationID, due: Date, error: String)
    /// It succeeded: its output, encoded by its definition, and when the unread result expires.
    case succeeded(OperationID, output: Data, at: Date, expires: Date)
    /// It failed for good; its object blocks.
    case failed(OperationID, OperationFailure, at: Date)
    /// A person retried the failed operation, optionally with corrected encoded input.
    case retried(OperationID, correctedInput: Data?, at: Date)
    /// It was cancelled, deleted, or cascaded.
    case cancelled(OperationID, CancellationReason, at: Date)
    /// Its read-once result was taken.
    case consumed(OperationID, at: Date)
    /// A run-now submission was refused before it ran (its object blocked): as if never submitted.
    case rejected(OperationID)
    /// A run-now submission's ID was handed to a caller to track (a wait that gave up, or a
    /// deferred repeat of its idempotency key): a restart that finds it unstarted restores
    /// it as deferred instead of dropping it.
    case deferred(OperationID)
    /// What is left of a finished operation after compaction: enough to answer "already
    /// consumed", "cancelled" or an idempotent repeat until its window ends.
    case tombstone(JournalTombstone)

    /// The operation the record is about.
    public var operationID: OperationID {
        switch self {
        case .submitted(let submission): submission.id
        case .tombstone(let tombstone): tombstone.id
        case .started(let id, _), .requeued(let id, _, _), .succeeded(let id, _, _, _), .failed(let id, _, _),
             .retried(let id, _, _), .cancelled(let id, _, _), .consumed(let id, _), .rejected(let id), .deferred(let id):
            id
        }
    }
}

/// A submission as the journal keeps it.
public struct JournalSubmission: Sendable, Hashable {
    /// The operation's ID.
    public var id: OperationID
    /// The name of its definition; a restart re-binds it by this name.
    public var operation: String
    /// The input as the definition encodes it.
    public var input: Data
    /// The owner it was submitted by.
    public var owner: String?
    /// Its object key; `nil` for an independent operation.
    public var objectKey: String?
    /// When it was submitted.
    public var created: Date
    /// When it may start (submission plus delay, or a retry's backoff).
    public var due: Date
    /// Its idempotency key, if any.
    public var idempotencyKey: String?
    /// Operations it waits for.
    public var dependencies: [OperationID]
    /// Whether it was submitted to run now.
    public var runsNow: Bool
    /// Attempts started so far (non-zero in compacted snapshots).
    public var attempt: Int
    /// The attempt count when the current retry round began.
    public var roundStart: Int

    /// Creates a submission record.
    public init(
        id: OperationID, operation: String, input: Data, owner: String?, objectKey: String?, created: Date, due: Date,
        idempotencyKey: String? = nil, dependencies: [OperationID] = [], runsNow: Bool = false, attempt: Int = 0, roundStart: Int = 0
    ) {
        self.id = id
        self.operation = operation
        self.input = input
        self.owner = owner
        self.objectKey = objectKey
        self.created = created
        self.due = due
        self.idempotencyKey = idempotencyKey
        self.dependencies = dependencies
        self.runsNow = runsNow
        self.attempt = attempt
        self.roundStart = roundStart
    }
}

/// A finished operation reduced to what its tombstone needs.
public struct JournalTombstone: Sendable, Hashable {
    /// The operation's ID.
    public var id: OperationID
    /// The name of its definition.
    public var operation: String
    /// Its owner.
    public var owner: String?
    /// How it ended: succeeded (and consumed or expired), or cancelled with a reason.
    public var state: OperationState
    /// Whether its result was taken (rather than expiring unread).
    public var consumed: Bool
    /// When it ended; its tombstone window counts from here.
    public var at: Date
    /// Its idempotency key, kept while the key's window lasts.
    public var idempotencyKey: String?
    /// When it was submitted, for the idempotency window.
    public var created: Date

    /// Creates a tombstone record.
    public init(id: OperationID, operation: String, owner: String?, state: OperationState, consumed: Bool, at: Date, idempotencyKey: String?, created: Date) {
        self.id = id
        self.operation = operation
        self.owner = owner
        self.state = state
        self.consumed = consumed
        self.at = at
        self.idempotencyKey = idempotencyKey
        self.created = created
    }
}
