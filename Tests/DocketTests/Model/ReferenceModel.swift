import Docket

/// A deliberately small, obviously correct model of DESIGN.md's semantics, for
/// model-based tests: plain arrays and dictionaries, recomputed from scratch, no cleverness.
///
/// Operations are numbered by submission (their index in ``ops``). An object's line is not
/// stored: it is every operation on the same (owner, key) that is queued, running or failed,
/// in submission order (an operation without a key is a line of its own). After every event
/// ``settle()`` starts each line's head when it is queued and due, since the driver lets
/// every runnable head run. Time is whole seconds since the first life started.
struct ReferenceModel {
    /// The two definitions the driver registers: one that a restart fails as interrupted,
    /// one that a restart runs again.
    enum Kind: String, Hashable, Sendable, CaseIterable {
        case plain
        case idempotent
    }

    /// Where an operation is; `queued` shows as waiting or delayed depending on the clock.
    enum Phase: Hashable, Sendable {
        case queued
        case running
        case succeeded
        case failed
        case cancelled(CancellationReason)
    }

    /// One submitted operation.
    struct Op: Sendable {
        let owner: String?
        let object: String?
        let kind: Kind
        /// Submission plus delay, or the time of the latest retry.
        var due: Int
        var phase: Phase = .queued
        /// Attempts started, over all lives.
        var attempts = 0
        /// Bodies started in the current life.
        var startsThisLife = 0
        /// The read-once result (or the failure) was taken.
        var consumed = false
        /// The status shows an error text: the last attempt failed and none succeeded since.
        var hasError = false
        /// How it failed, while failed.
        var failure: OperationFailure.Kind?
        /// A cancel reached it while running: a failing body then ends it as cancelled.
        var cancelRequested = false

        /// Only a tombstone is left: cancelled, or succeeded and taken.
        var isTombstone: Bool {
            if case .cancelled = phase { return true }
            return phase == .succeeded && consumed
        }

        /// Queued, running or failed: it holds a place in its object's line.
        var isInLine: Bool { phase == .queued || phase == .running || phase == .failed }
    }

    /// What a status read shows of an operation.
    struct Observed: Hashable, Sendable, CustomStringConvertible {
        var state: OperationState
        /// Compared only for live records: a tombstone reports no attempts.
        var attempt: Int?
        var hasError: Bool
        var consumed: Bool

        var description: String {
            "\(state) attempt=\(attempt.map(String.init) ?? "-") error=\(hasError) consumed=\(consumed)"
        }
    }

    /// What taking a result answers.
    enum Take: Hashable, Sendable {
        case notFound
        case notFinished(OperationState)
        case success(attempt: Int)
        case failure(OperationFailure.Kind)
        case consumed
    }

    /// A request's answer: done, with a value, or refused with a typed error's code.
    enum Answer<Value: Hashable & Sendable>: Hashable, Sendable {
        case done(Value)
        case refused(DocketError.Code)
    }

    /// A submission's answer: its operation, and whether it is new or an idempotent repeat.
    struct Submitted: Hashable, Sendable {
        let index: Int
        let isNew: Bool
    }

    /// The administrative counts that `metrics()` reports.
    struct Counts: Hashable, Sendable {
        var waiting = 0, delayed = 0, running = 0, succeeded = 0, failed = 0, tombstones = 0
    }

    /// Counters since the current life started (`metrics().totals`).
    struct Totals: Hashable, Sendable {
        var submitted = 0, succeeded = 0, failed = 0, cancelled = 0
    }

    /// An idempotency key as the docket scopes it: per owner.
    private struct KeyName: Hashable {
        let owner: String?
        let key: String
    }

    private(set) var ops: [Op] = []
    private(set) var now = 0
    private(set) var totals = Totals()
    private var keys: [KeyName: Int] = [:]

    // MARK: Lines

    private func sameLine(_ a: Int, _ b: Int) -> Bool {
        if a == b { return true }
        guard let object = ops[a].object else { return false }
        return ops[b].object == object && ops[b].owner == ops[a].owner
    }

    /// The line `index` is on (or would be on), in submission order.
    func line(of index: Int) -> [Int] {
        ops.indices.filter { sameLine(index, $0) && ops[$0].isInLine }
    }

    /// Starts every line's head that is queued and due.
    private mutating func settle() {
        for index in ops.indices where ops[index].phase == .queued && ops[index].due <= now {
            if line(of: index).first == index {
                ops[index].phase = .running
                ops[index].attempts += 1
                ops[index].startsThisLife += 1
            }
        }
    }

    // MARK: Reads

    func observed(_ index: Int) -> Observed {
        let op = ops[index]
        if op.isTombstone {
            return Observed(state: op.phase == .succeeded ? .succeeded : state(index), attempt: nil, hasError: false, consumed: op.consumed)
        }
        return Observed(state: state(index), attempt: op.attempts, hasError: op.hasError, consumed: op.consumed)
    }

    func state(_ index: Int) -> OperationState {
        let op = ops[index]
        switch op.phase {
        case .queued: return op.due > now ? .delayed : .waiting
        case .running: return .running
        case .succeeded: return .succeeded
        case .failed: return .failed
        case .cancelled(let reason): return .cancelled(reason)
        }
    }

    func counts() -> Counts {
        var counts = Counts()
        for index in ops.indices {
            let op = ops[index]
            if op.isTombstone { counts.tombstones += 1; continue }
            switch state(index) {
            case .waiting: counts.waiting += 1
            case .delayed: counts.delayed += 1
            case .running: counts.running += 1
            case .succeeded: counts.succeeded += 1
            case .failed: counts.failed += 1
            case .cancelled: break
            }
        }
        return counts
    }

    private func visible(_ index: Int, to owner: String?) -> Bool { ops[index].owner == owner }

    // MARK: Events

    /// Submits an operation; an idempotency key already used by the owner returns the first
    /// operation (the same definition) or is refused (another definition).
    mutating func submit(owner: String?, object: String?, delay: Int, key: String?, kind: Kind) -> Answer<Submitted> {
        if let key, let existing = keys[KeyName(owner: owner, key: key)] {
            guard ops[existing].kind == kind else { return .refused(.invalidInput) }
            return .done(Submitted(index: existing, isNew: false))
        }
        ops.append(Op(owner: owner, object: object, kind: kind, due: now + delay))
        if let key { keys[KeyName(owner: owner, key: key)] = ops.count - 1 }
        totals.submitted += 1
        settle()
        return .done(Submitted(index: ops.count - 1, isNew: true))
    }

    /// The running body of `index` returns (`succeeds`) or throws.
    mutating func release(_ index: Int, succeeds: Bool) {
        precondition(ops[index].phase == .running)
        if succeeds {
            ops[index].phase = .succeeded
            ops[index].hasError = false
            totals.succeeded += 1
        } else if ops[index].cancelRequested {
            ops[index].phase = .cancelled(.cancelled)
            totals.cancelled += 1
        } else {
            ops[index].phase = .failed
            ops[index].hasError = true
            ops[index].failure = .thrown
            ops[index].consumed = false
            totals.failed += 1
        }
        ops[index].cancelRequested = false
        settle()
    }

    mutating func retry(_ index: Int, owner: String?) -> DocketError.Code? {
        guard visible(index, to: owner), !ops[index].isTombstone else { return .notFound }
        guard ops[index].phase == .failed else { return .notRetryable }
        ops[index].phase = .queued
        ops[index].due = now
        ops[index].consumed = false
        ops[index].failure = nil
        settle()
        return nil
    }

    mutating func cancel(_ index: Int, owner: String?) -> DocketError.Code? {
        guard visible(index, to: owner) else { return .notFound }
        guard !ops[index].isTombstone else { return .notCancellable }
        switch ops[index].phase {
        case .queued:
            ops[index].phase = .cancelled(.cancelled)
        case .running:
            ops[index].cancelRequested = true
        case .failed, .succeeded, .cancelled:
            return .notCancellable
        }
        settle()
        return nil
    }

    /// Deletes as one step, or refuses with the first refusal and changes nothing.
    mutating func delete(_ requested: [Int], owner: String?, followers: FollowerPolicy?) -> Answer<[Int: CancellationReason]> {
        var indices: [Int] = []
        for index in requested where !indices.contains(index) { indices.append(index) }
        // Each ID in the order given: visible, then deletable.
        for index in indices {
            guard visible(index, to: owner) else { return .refused(.notFound) }
            guard ops[index].phase == .queued || ops[index].phase == .failed else { return .refused(.notDeletable) }
        }
        // Each object, in the order first named: a failed head with followers left needs a choice.
        var objects: [[Int]] = []
        for index in indices {
            if let group = objects.firstIndex(where: { sameLine($0[0], index) }) {
                objects[group].append(index)
            } else {
                objects.append([index])
            }
        }
        for group in objects {
            let line = line(of: group[0])
            if ops[line[0]].phase == .failed, group.contains(line[0]), followers == nil,
               line.dropFirst().contains(where: { !group.contains($0) }) {
                return .refused(.followerChoiceRequired)
            }
        }
        var removed: [Int: CancellationReason] = [:]
        for group in objects {
            let line = line(of: group[0])
            for index in group { removed[index] = .deleted }
            if ops[line[0]].phase == .failed, group.contains(line[0]), followers == .cascade {
                for index in line.dropFirst() where removed[index] == nil { removed[index] = .cascade }
            }
        }
        for (index, reason) in removed {
            ops[index].phase = .cancelled(reason)
            ops[index].consumed = false
        }
        settle()
        return .done(removed)
    }

    mutating func take(_ index: Int, owner: String?) -> Take {
        guard visible(index, to: owner) else { return .notFound }
        switch ops[index].phase {
        case .queued, .running:
            return .notFinished(state(index))
        case .succeeded, .failed:
            if ops[index].consumed { return .consumed }
            ops[index].consumed = true
            return ops[index].phase == .succeeded ? .success(attempt: ops[index].attempts) : .failure(ops[index].failure!)
        case .cancelled:
            return .failure(.cancelled)
        }
    }

    mutating func advance(by seconds: Int) {
        now += seconds
        settle()
    }

    /// A crash and a new life: a running operation runs again if idempotent, else fails as
    /// interrupted; everything else is as it was. Counters start over.
    mutating func restart() {
        for index in ops.indices {
            ops[index].startsThisLife = 0
            ops[index].cancelRequested = false
            guard ops[index].phase == .running else { continue }
            switch ops[index].kind {
            case .idempotent:
                ops[index].phase = .queued
            case .plain:
                ops[index].phase = .failed
                ops[index].failure = .interrupted
                ops[index].hasError = true
                ops[index].consumed = false
            }
        }
        totals = Totals()
        settle()
    }
}
