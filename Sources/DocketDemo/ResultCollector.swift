import Docket

/// Follows submitted operations and takes their read-once results as they finish, so
/// finished records leave the scheduler and memory stays bounded.
///
/// Failed operations are moved aside (they stay on record while they block their object);
/// operations still queued behind a known failure are counted as stuck, by design.
struct ResultCollector: Sendable {
    /// A submitted operation: its tracking ID and its place in the plan.
    struct Tracked: Sendable {
        let id: OperationID
        let plan: Int
    }

    /// What one sweep found among the operations still followed.
    struct Sweep: Sendable {
        var waiting = 0
        var delayed = 0
        var running = 0
        /// Waiting operations on an object blocked by a failure this collector has seen.
        var stuck = 0

        /// Nothing runs or will run: everything left waits behind a failure.
        var isSettled: Bool { running == 0 && delayed == 0 && waiting == stuck }
    }

    let plan: BusinessPlan
    private(set) var pending: [Tracked] = []
    /// Failed operations that block their object, by line ("tenant/key").
    private(set) var failedByLine: [String: Tracked] = [:]
    private(set) var succeeded = 0
    private(set) var failuresTaken = 0
    private(set) var cancelled = 0
    /// Results that were unexpectedly unknown or already consumed when taken.
    private(set) var anomalies = 0
    private(set) var lastSweep = Sweep()
    private var sweepAt = 1_024

    init(plan: BusinessPlan) {
        self.plan = plan
    }

    /// Follows a newly submitted operation; sweeps when the followed list has doubled.
    mutating func track(_ id: OperationID, plan index: Int, on docket: Docket) {
        pending.append(Tracked(id: id, plan: index))
        if pending.count >= sweepAt { sweep(docket) }
    }

    /// Takes over the operations another collector follows.
    mutating func absorb(_ other: ResultCollector) {
        pending += other.pending
        failedByLine.merge(other.failedByLine) { first, _ in first }
        succeeded += other.succeeded
        failuresTaken += other.failuresTaken
        cancelled += other.cancelled
        anomalies += other.anomalies
        sweepAt = max(1_024, pending.count * 2)
    }

    /// The line ("tenant/key") of a planned object operation.
    func line(of tracked: Tracked) -> String? {
        let operation = plan.operations[tracked.plan]
        return plan.objectKey(of: operation).map { "\(plan.owner(of: operation))/\($0)" }
    }

    /// Takes every finished result among the followed operations.
    @discardableResult
    mutating func sweep(_ docket: Docket) -> Sweep {
        var still: [Tracked] = []
        still.reserveCapacity(pending.count)
        var sweep = Sweep()
        for tracked in pending {
            let owner = plan.owner(of: plan.operations[tracked.plan])
            switch docket.takeResult(of: tracked.id, owner: owner) {
            case .finished(.success):
                succeeded += 1
            case .finished(.failure(let failure)) where failure.kind == .cancelled:
                cancelled += 1
            case .finished(.failure):
                // Taking a failure only marks it read: it stays failed, blocking its object.
                failuresTaken += 1
                failedByLine[line(of: tracked) ?? tracked.id.description] = tracked
            case .notFinished(let state):
                still.append(tracked)
                switch state {
                case .delayed: sweep.delayed += 1
                case .running: sweep.running += 1
                default: sweep.waiting += 1
                }
            case .consumed, .notFound:
                anomalies += 1
            }
        }
        pending = still
        sweep.stuck = pending.count { tracked in line(of: tracked).map { failedByLine[$0] != nil } ?? false }
        sweepAt = max(1_024, pending.count * 2)
        lastSweep = sweep
        return sweep
    }

    /// The followed operations still queued, by line, in submission order.
    func followersByLine() -> [String: [Tracked]] {
        var byLine: [String: [Tracked]] = [:]
        for tracked in pending {
            if let line = line(of: tracked) { byLine[line, default: []].append(tracked) }
        }
        return byLine
    }

    /// Stops following a line's failed operation and the given followers (retried or deleted
    /// by the demo, which then follows them itself).
    mutating func release(line: String, followers: [Tracked]) {
        failedByLine[line] = nil
        let ids = Set(followers.map(\.id))
        pending.removeAll { ids.contains($0.id) }
    }
}
