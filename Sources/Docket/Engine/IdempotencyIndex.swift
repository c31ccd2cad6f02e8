import Synchronization

/// Idempotency keys, scoped per owner, each remembered for the docket's window.
final class IdempotencyIndex: Sendable {
    private struct Key: Hashable, Sendable {
        let owner: String?
        let key: String
    }

    private struct Entry: Sendable {
        let id: OperationID
        let operation: String
        let expires: Duration
        /// The submission that reserved the key has not yet put its operation in a line: a
        /// repeat waits, so the ID it answers with always names an operation that exists.
        var pending: Bool
    }

    private struct State: Sendable {
        var entries: [Key: Entry] = [:]
        /// Keys in the order they were reserved; with one window for all, also expiry order.
        var order = Ring<(key: Key, expires: Duration)>()
        /// Repeats waiting for a pending reservation to be committed or released.
        var waiting: [Key: [UnsafeContinuation<Void, Never>]] = [:]
        /// The keys of run-now operations that have not started: such an operation can still
        /// be refused after its line took it (its object blocks before its turn), and then its
        /// key is released, so a retry by its caller is a new submission.
        var unstartedRunNow: [OperationID: Key] = [:]
    }

    private let state = Locked(State())
    /// `unstartedRunNow.count`, changed under the lock, read without it.
    private let unstartedRunNowTotal = Atomic<Int>(0)
    private let window: Duration

    init(window: Duration) {
        self.window = window
    }

    /// Reserves the key for `id`, an operation of `operation`; returns the operation the key
    /// already names instead, if any. The reservation is pending until ``commit(owner:key:for:)``
    /// or ``release(owner:key:for:)``: a repeat arriving meanwhile waits for one of them, and
    /// then answers with the committed operation or, after a release, reserves the key itself.
    ///
    /// - Throws: ``DocketError/Code-swift.struct/invalidInput`` when the key names an operation
    ///   of another definition: that is not a repeat, and its handle would not fit.
    ///
    /// `clock` is read on each attempt: after waiting, the reservation's window starts when
    /// it is made, which keeps reservation order and expiry order the same.
    nonisolated(nonsending) func reserve(owner: String?, key: String, operation: String, for id: OperationID, runsNow: Bool = false, clock: () -> Duration) async throws -> OperationID? {
        let text = key
        let key = Key(owner: owner, key: key)
        while true {
            enum Answer { case reserved, existing(OperationID), pending }
            let answer = try state.withLock { state throws(DocketError) -> Answer in
                // Read under the lock, so reservations are appended in the order of their times.
                let now = clock()
                while let oldest = state.order.first, oldest.expires <= now {
                    let entry = state.entries[oldest.key]
                    // A pending reservation outlives its window until committed or released
                    // (microseconds): expiry resumes behind it then.
                    if let entry, entry.pending, entry.expires == oldest.expires { break }
                    state.order.popFirst()
                    if entry?.expires == oldest.expires { state.entries[oldest.key] = nil }
                }
                if let existing = state.entries[key], existing.pending || existing.expires > now {
                    guard existing.operation == operation else {
                        throw DocketError(
                            .invalidInput,
                            "Idempotency key \"\(text)\" already names an operation \"\(existing.operation)\" (\(existing.id)), not \"\(operation)\". Use a new key for a different operation.",
                            operationID: existing.id)
                    }
                    return existing.pending ? .pending : .existing(existing.id)
                }
                let expires = now + window
                state.entries[key] = Entry(id: id, operation: operation, expires: expires, pending: true)
                state.order.append((key, expires))
                if runsNow {
                    state.unstartedRunNow[id] = key
                    unstartedRunNowTotal.add(1, ordering: .relaxed)
                }
                return .reserved
            }
            switch answer {
            case .reserved: return nil
            case .existing(let existing): return existing
            case .pending: await waitWhilePending(key)
            }
        }
    }

    /// How many run-now operations with a key have neither started nor left their line (for tests).
    var unstartedRunNowCount: Int { unstartedRunNowTotal.load(ordering: .relaxed) }

    /// How many repeats wait for a pending reservation (for tests).
    var waitingRepeatCount: Int { state.withLock { $0.waiting.values.reduce(0) { $0 + $1.count } } }

    /// Suspends until the key's reservation is no longer pending (committed, released, or gone).
    private nonisolated(nonsending) func waitWhilePending(_ key: Key) async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let pending = state.withLock { state -> Bool in
                guard state.entries[key]?.pending == true else { return false }
                state.waiting[key, default: []].append(continuation)
                return true
            }
            if !pending { continuation.resume() }
        }
    }

    /// The submission that reserved the key put its operation in its line: repeats may now
    /// answer with it.
    func commit(owner: String?, key: String, for id: OperationID) {
        let key = Key(owner: owner, key: key)
        let waiters = state.withLock { state -> [UnsafeContinuation<Void, Never>] in
            if state.entries[key]?.id == id { state.entries[key]?.pending = false }
            return state.waiting.removeValue(forKey: key) ?? []
        }
        for waiter in waiters { waiter.resume() }
    }

    /// A run-now operation started, or left its line without running (cancelled, deleted):
    /// its key names it for the rest of the window, and it can no longer be refused. One
    /// relaxed load when no run-now operation with a key is waiting to start: its
    /// reservation happened before it reached its line, so a waiting one is always seen.
    func leftLine(_ id: OperationID) {
        guard unstartedRunNowTotal.load(ordering: .relaxed) > 0 else { return }
        state.withLock { state in _ = forgetUnstarted(id, &state) }
    }

    /// A run-now operation was refused before it started (its object blocked first): its
    /// key is released, so its caller's retry is a new submission.
    func refusedBeforeStart(_ id: OperationID) {
        guard unstartedRunNowTotal.load(ordering: .relaxed) > 0 else { return }
        state.withLock { state in
            guard let key = forgetUnstarted(id, &state) else { return }
            if state.entries[key]?.id == id { state.entries[key] = nil }
        }
    }

    /// Removes `id` from the run-now operations waiting to start, keeping the count in step;
    /// returns its key if it was there. Called with the lock held.
    private func forgetUnstarted(_ id: OperationID, _ state: inout State) -> Key? {
        guard let key = state.unstartedRunNow.removeValue(forKey: id) else { return nil }
        unstartedRunNowTotal.subtract(1, ordering: .relaxed)
        return key
    }

    /// Puts back a key recovered from a journal, for what is left of its window. Keys must be
    /// restored in submission order, before any new reservation.
    func restore(owner: String?, key: String, operation: String, id: OperationID, created: Duration, now: Duration) {
        let expires = created + window
        guard expires > now else { return }
        let key = Key(owner: owner, key: key)
        state.withLock { state in
            state.entries[key] = Entry(id: id, operation: operation, expires: expires, pending: false)
            state.order.append((key, expires))
        }
    }

    /// Frees a reservation whose submission was refused; a waiting repeat then reserves the
    /// key for itself.
    func release(owner: String?, key: String, for id: OperationID) {
        let key = Key(owner: owner, key: key)
        let waiters = state.withLock { state -> [UnsafeContinuation<Void, Never>] in
            if state.entries[key]?.id == id { state.entries[key] = nil }
            _ = forgetUnstarted(id, &state)
            return state.waiting.removeValue(forKey: key) ?? []
        }
        for waiter in waiters { waiter.resume() }
    }
}
