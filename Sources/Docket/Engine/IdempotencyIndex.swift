import Synchronization

/// Idempotency keys, scoped per owner, each remembered for the docket's window.
final class IdempotencyIndex: Sendable {
    private struct Key: Hashable, Sendable {
        let owner: String?
        let key: String
    }

    private struct State: Sendable {
        var entries: [Key: (id: OperationID, expires: Duration)] = [:]
        /// Keys in the order they were reserved; with one window for all, also expiry order.
        var order = Ring<(key: Key, expires: Duration)>()
    }

    private let state = Mutex(State())
    private let window: Duration

    init(window: Duration) {
        self.window = window
    }

    /// Reserves the key for `id`; returns the operation it already names instead, if any.
    func reserve(owner: String?, key: String, for id: OperationID, now: Duration) -> OperationID? {
        let key = Key(owner: owner, key: key)
        return state.withLock { state in
            while let oldest = state.order.first, oldest.expires <= now {
                state.order.popFirst()
                if state.entries[oldest.key]?.expires == oldest.expires { state.entries[oldest.key] = nil }
            }
            if let existing = state.entries[key], existing.expires > now { return existing.id }
            let expires = now + window
            state.entries[key] = (id, expires)
            state.order.append((key, expires))
            return nil
        }
    }

    /// Frees a reservation whose submission was refused.
    func release(owner: String?, key: String, for id: OperationID) {
        state.withLock { state in
            let key = Key(owner: owner, key: key)
            if state.entries[key]?.id == id { state.entries[key] = nil }
        }
    }
}
