/// How an operation failed, as stored and reported.
public struct OperationFailure: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The kind of failure.
    public enum Kind: String, Hashable, Sendable, Codable {
        /// The body threw an error.
        case thrown
        /// The body ran past the definition's timeout.
        case timedOut
        /// The operation was cancelled before it finished.
        case cancelled
        /// A restart found it running; it is not idempotent, so it was not run again.
        /// Its object is blocked until a person retries or deletes it.
        case interrupted
    }

    /// The kind of failure.
    public let kind: Kind
    /// The error's text.
    public let message: String

    /// Creates a failure.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The error's text.
    public var description: String { message }

    static func from(_ error: any Error) -> OperationFailure {
        if let failure = error as? OperationFailure { return failure }
        return OperationFailure(.thrown, String(describing: error))
    }
}
