import Synchronization

/// Idempotency keys, scoped per owner, each remembered for the docket's window.
final class IdempotencyIndex: Sendable {
    private struct Key: Hashable, Sendable {
        let owner: String?
        let key: String
    }

    private struct State: Sendable {
        var entries: [Key: (id: OperationID, operation: String, expires: Duration)] = [:]
        /// Keys in the order they were reserved; with one window for all, also expiry order.
        var order = Ring<(key: Key, expires: Duration)>()
    }

    private let state = Locked(State())
    private let window: Duration

    init(window: Duration) {
        self.window = window
    }

    /// Reserves the key for `id`, an operation of `operation`; returns the operation the key
    /// already names instead, if any.
    ///
    /// - Throws: ``DocketError/Code-swift.struct/invalidInput`` when the key names an operation
    ///   of another definition: that is not a repeat, and its handle would not fit.
    func reserve(owner: String?, key: String, operation: String, for id: OperationID, now: Duration) throws -> OperationID? {
        let text = key
        let key = Key(owner: owner, key: key)
        return try state.withLock { state in
            while let oldest = state.order.first, oldest.expires <= now {
                state.order.popFirst()
                if state.entries[oldest.key]?.expires == oldest.expires { state.entries[oldest.key] = nil }
            }
            if let existing = state.entries[key], existing.expires > now {
                guard existing.operation == operation else {
                    throw DocketError(
                        .invalidInput,
                        "Idempotency key \"\(text)\" already names an operation \"\(existing.operation)\" (\(existing.id)), not \"\(operation)\". Use a new key for a different operation.",
                        operationID: existing.id)
                }
                return existing.id
            }
            let expires = now + window
            state.entries[key] = (id, operation, expires)
            state.order.append((key, expires))
            return nil
        }
    }

    /// Puts back a key recovered from a journal, for what is left of its window. Keys must be
    /// restored in submission order, before any new reservation.
    func restore(owner: String?, key: String, operation: String, id: OperationID, created: Duration, now: Duration) {
        let expires = created + window
        guard expires > now else { return }
        let key = Key(owner: owner, key: key)
        state.withLock { state in
            state.entries[key] = (id, operation, expires)
            state.order.append((key, expires))
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
