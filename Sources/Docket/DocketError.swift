/// The one error type Docket throws for a refused request.
///
/// Every refusal changes nothing: a request that throws leaves the scheduler as it was.
/// Match on ``code``; show ``message`` to a person, since it says what was wrong and
/// what to do about it.
public struct DocketError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of refusal this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case unknownOperation
            case duplicateOperationName
            case notQueueable
            case invalidDelay
            case invalidInput
            case notFound
            case notDeletable
            case followerChoiceRequired
            case notRetryable
            case notCancellable
            case unknownDependency
            case queueFull
            case shutDown
            case objectBlocked
            case batchMode
            case alreadyConsumed
            case invalidConfiguration
            case journalCorrupt
            case journalLocked
            case journalFailed
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// A readable name of the code.
        public var description: String { value.rawValue }

        /// No definition of that name is registered.
        public static let unknownOperation = Code(.unknownOperation)
        /// A definition of that name is already registered.
        public static let duplicateOperationName = Code(.duplicateOperationName)
        /// The definition is not queueable, so it cannot be deferred.
        public static let notQueueable = Code(.notQueueable)
        /// A delay or a wait was negative.
        public static let invalidDelay = Code(.invalidDelay)
        /// The encoded input could not be decoded as the definition's input type.
        public static let invalidInput = Code(.invalidInput)
        /// No operation with that ID is visible to this owner.
        public static let notFound = Code(.notFound)
        /// Only waiting, delayed or failed operations can be deleted.
        public static let notDeletable = Code(.notDeletable)
        /// The failed operation has queued followers: say whether to keep or cascade them.
        public static let followerChoiceRequired = Code(.followerChoiceRequired)
        /// Only a failed operation can be retried.
        public static let notRetryable = Code(.notRetryable)
        /// Only a waiting, delayed or running operation can be cancelled.
        public static let notCancellable = Code(.notCancellable)
        /// A declared dependency is unknown, foreign or already cancelled.
        public static let unknownDependency = Code(.unknownDependency)
        /// The bound on queued operations is reached.
        public static let queueFull = Code(.queueFull)
        /// The docket is shutting down: it takes no new work and runs nothing more that is queued.
        public static let shutDown = Code(.shutDown)
        /// The object is blocked by a failed operation.
        public static let objectBlocked = Code(.objectBlocked)
        /// The docket runs in batch mode, where nothing runs at once.
        public static let batchMode = Code(.batchMode)
        /// The result was already taken by another reader.
        public static let alreadyConsumed = Code(.alreadyConsumed)
        /// A configuration value is out of range.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// A journal record in the middle of a segment is damaged; the message names the file and offset.
        public static let journalCorrupt = Code(.journalCorrupt)
        /// Another process holds the journal's lock.
        public static let journalLocked = Code(.journalLocked)
        /// The journal could not be read or written (a full disk, a missing directory, a failed sync).
        public static let journalFailed = Code(.journalFailed)
    }

    /// The kind of refusal.
    public let code: Code
    /// What was wrong and what to do, for a person.
    public let message: String
    /// The operation the refusal is about, when there is one (for ``Code/objectBlocked``, the failed operation).
    public let operationID: OperationID?

    /// Creates an error.
    public init(_ code: Code, _ message: String, operationID: OperationID? = nil) {
        self.code = code
        self.message = message
        self.operationID = operationID
    }

    /// The code and the message.
    public var description: String { "\(code): \(message)" }

    static func notFound(_ id: OperationID) -> DocketError {
        DocketError(.notFound, "No operation \(id) is visible to this owner. Check the ID and the owner it was submitted with.", operationID: id)
    }

    static func blocked(by failed: OperationID, key: String) -> DocketError {
        DocketError(
            .objectBlocked,
            "Object \"\(key)\" is blocked by failed operation \(failed). Retry or delete that operation, then submit again.",
            operationID: failed)
    }
}
