import Foundation

/// What a journal's records add up to: every operation that still matters, in submission
/// order. Free of I/O and concurrency: records in, state out.
///
/// Recovery replays a store's records into one of these and restores the engine from it;
/// compaction writes its ``snapshot(now:tombstoneLifetime:)`` in place of the records.
struct JournalState: Sendable {
    enum Phase: Sendable, Hashable {
        /// Waiting or delayed (until `submission.due`).
        case queued
        /// An attempt had started and not ended.
        case running
        /// Succeeded; the result is unread (or kept) until `expires`.
        case succeeded(output: Data, at: Date, expires: Date)
        /// Failed for good; blocks its object. `read` once its failure was taken.
        case failed(OperationFailure, at: Date, read: Bool)
        /// Consumed, cancelled or expired: only its tombstone is left.
        case ended(JournalTombstone)
    }

    struct Operation: Sendable {
        var submission: JournalSubmission
        var phase: Phase
        /// The error of the last failed attempt, until an attempt succeeds (a failed
        /// operation retried by hand shows it while it waits and runs again).
        var lastError: String?
        /// Its place in submission order.
        let sequence: UInt64
    }

    private(set) var operations: [OperationID: Operation] = [:]
    private var nextSequence: UInt64 = 0
    /// Records that named an operation the state does not hold (after a compaction dropped
    /// it, a late record is harmless); counted for tests.
    private(set) var strays = 0

    init() {}

    init(_ records: some Sequence<JournalRecord>) {
        for record in records { apply(record) }
    }

    mutating func apply(_ record: JournalRecord) {
        switch record {
        case .submitted(let submission):
            operations[submission.id] = Operation(submission: submission, phase: .queued, sequence: nextSequence)
            nextSequence += 1
        case .tombstone(let tombstone):
            let submission = JournalSubmission(
                id: tombstone.id, operation: tombstone.operation, input: Data(), owner: tombstone.owner, objectKey: nil,
                created: tombstone.created, due: tombstone.created, idempotencyKey: tombstone.idempotencyKey)
            operations[tombstone.id] = Operation(submission: submission, phase: .ended(tombstone), sequence: nextSequence)
            nextSequence += 1
        case .rejected(let id):
            if operations.removeValue(forKey: id) == nil { strays += 1 }
        default:
            let id = record.operationID
            guard var operation = operations[id] else {
                strays += 1
                return
            }
            Self.apply(record, to: &operation)
            operations[id] = operation
        }
    }

    private static func apply(_ record: JournalRecord, to operation: inout Operation) {
        switch record {
        case .started(_, let attempt):
            operation.phase = .running
            operation.submission.attempt = attempt
        case .requeued(_, let due, let error):
            operation.phase = .queued
            operation.submission.due = due
            operation.lastError = error
        case .succeeded(_, let output, let at, let expires):
            operation.phase = .succeeded(output: output, at: at, expires: expires)
            operation.submission.input = Data()
            operation.lastError = nil
        case .failed(_, let failure, let at):
            operation.phase = .failed(failure, at: at, read: false)
            // A retry keeps showing this text until an attempt succeeds, as the live record does.
            operation.lastError = failure.message
        case .retried(_, let input, let at):
            operation.phase = .queued
            if let input { operation.submission.input = input }
            operation.submission.due = at
            operation.submission.roundStart = operation.submission.attempt
        case .cancelled(_, let reason, let at):
            operation.phase = .ended(tombstone(of: operation, state: .cancelled(reason), consumed: false, at: at))
            operation.submission.input = Data()
        case .consumed(_, let at):
            switch operation.phase {
            case .succeeded:
                operation.phase = .ended(tombstone(of: operation, state: .succeeded, consumed: true, at: at))
            case .failed(let failure, let failedAt, _):
                operation.phase = .failed(failure, at: failedAt, read: true)
            default:
                break
            }
        case .deferred:
            // Compaction writes the submission as deferred from then on.
            operation.submission.runsNow = false
        case .submitted, .rejected, .tombstone:
            break
        }
    }

    private static func tombstone(of operation: Operation, state: OperationState, consumed: Bool, at: Date) -> JournalTombstone {
        let submission = operation.submission
        return JournalTombstone(
            id: submission.id, operation: submission.operation, owner: submission.owner, state: state, consumed: consumed,
            at: at, idempotencyKey: submission.idempotencyKey, created: submission.created)
    }

    /// Turns unread results past their expiry into tombstones and forgets tombstones past
    /// their window, as the engine would have by `now`.
    mutating func age(now: Date, tombstoneLifetime: Duration) {
        let window = tombstoneLifetime.seconds
        for (id, operation) in operations {
            switch operation.phase {
            case .succeeded(_, _, let expires) where expires <= now:
                var aged = operation
                aged.phase = .ended(Self.tombstone(of: operation, state: .succeeded, consumed: false, at: expires))
                if expires.addingTimeInterval(window) <= now { operations[id] = nil } else { operations[id] = aged }
            case .ended(let tombstone) where tombstone.at.addingTimeInterval(window) <= now:
                operations[id] = nil
            default:
                break
            }
        }
    }

    /// The operations in submission order.
    var ordered: [Operation] {
        operations.values.sorted { $0.sequence < $1.sequence }
    }

    /// The fewest records that rebuild this state, in submission order: what compaction
    /// writes in place of the records it replaces.
    func snapshot(now: Date, tombstoneLifetime: Duration) -> [JournalRecord] {
        var aged = self
        aged.age(now: now, tombstoneLifetime: tombstoneLifetime)
        return aged.records
    }

    /// The fewest records that rebuild this state as it stands, without aging it.
    var records: [JournalRecord] {
        var records: [JournalRecord] = []
        records.reserveCapacity(operations.count)
        for operation in ordered {
            let id = operation.submission.id
            switch operation.phase {
            case .queued:
                records.append(.submitted(operation.submission))
                if let error = operation.lastError { records.append(.requeued(id, due: operation.submission.due, error: error)) }
            case .running:
                records.append(.submitted(operation.submission))
                records.append(.started(id, attempt: operation.submission.attempt))
            case .succeeded(let output, let at, let expires):
                records.append(.submitted(operation.submission))
                records.append(.succeeded(id, output: output, at: at, expires: expires))
            case .failed(let failure, let at, let read):
                records.append(.submitted(operation.submission))
                records.append(.failed(id, failure, at: at))
                if read { records.append(.consumed(id, at: at)) }
            case .ended(let tombstone):
                records.append(.tombstone(tombstone))
            }
        }
        return records
    }
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval`.
    var seconds: TimeInterval {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
