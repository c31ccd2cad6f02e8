/// The four distinct answers to taking an operation's result.
public enum ResultTake<Value: Sendable>: Sendable {
    /// No operation with that ID is visible to this owner (or its record has expired).
    case notFound
    /// The operation has not finished; its current state.
    case notFinished(OperationState)
    /// The outcome: the result, or how it failed or was cancelled.
    case finished(Result<Value, OperationFailure>)
    /// The read-once result was already taken.
    case consumed

    func map<Other>(_ transform: (Value) -> Other?) -> ResultTake<Other> {
        switch self {
        case .notFound: return .notFound
        case .notFinished(let state): return .notFinished(state)
        case .consumed: return .consumed
        case .finished(.failure(let failure)): return .finished(.failure(failure))
        case .finished(.success(let value)):
            if let other = transform(value) { return .finished(.success(other)) }
            return .finished(.failure(OperationFailure(.thrown, "The result is a \(type(of: value)), not a \(Other.self).")))
        }
    }
}
