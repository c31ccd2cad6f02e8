/// The tracking handle of a submitted operation: its ID and owner, and the docket to ask.
public struct OperationHandle<Output: Sendable>: Sendable {
    /// The tracking ID; give it to clients to poll with.
    public let id: OperationID
    /// The owner it was submitted with.
    public let owner: String?
    let docket: Docket

    /// A snapshot of the operation's status.
    public func status() throws -> OperationStatus {
        try docket.status(of: id, owner: owner)
    }

    /// Takes the result (read once unless the definition keeps it).
    public func takeResult() -> ResultTake<Output> {
        docket.takeResult(of: id, owner: owner).map(Docket.cast(Output.self))
    }

    /// Waits for the outcome and takes it.
    public nonisolated(nonsending) func outcome() async -> ResultTake<Output> {
        await docket.outcome(of: id, owner: owner).map(Docket.cast(Output.self))
    }

    /// Waits for the outcome, takes it, and returns the output.
    ///
    /// - Throws: The operation's ``OperationFailure``, or ``DocketError`` with
    ///   ``DocketError/Code-swift.struct/alreadyConsumed`` when another reader took the result first.
    public nonisolated(nonsending) func value() async throws -> Output {
        let resolution = await docket.engine.awaitOutcome(id, owner: owner, consumes: true, deadline: nil)
        return try Docket.value(of: resolution, as: Output.self, id: id)
    }

    /// The operation's event stream.
    public func events() throws -> AsyncStream<OperationEvent> {
        try docket.events(of: id, owner: owner)
    }

    /// Cancels the operation.
    public nonisolated(nonsending) func cancel() async throws {
        try await docket.cancel(id, owner: owner)
    }
}

/// The answer of a submission that waits up to a deadline.
public enum Submission<Output: Sendable>: Sendable {
    /// The operation finished within the wait; its result was taken.
    case finished(Result<Output, OperationFailure>)
    /// It is still going: track it with the handle (HTTP 202 with the ID).
    ///
    /// Also the answer when there is no outcome left to hand back: an idempotent repeat
    /// whose original's result another reader already took, or an operation deleted during
    /// the wait. The handle's ``OperationHandle/status()`` and
    /// ``OperationHandle/takeResult()`` then say which.
    case accepted(OperationHandle<Output>)
}

/// What a delete removed.
public struct DeletionReport: Sendable {
    /// One removed operation.
    public struct Removed: Hashable, Sendable {
        /// Its ID.
        public let id: OperationID
        /// Why: deleted, cascade, or dependency deleted.
        public let reason: CancellationReason

        /// Creates an entry.
        public init(id: OperationID, reason: CancellationReason) {
            self.id = id
            self.reason = reason
        }
    }

    /// Every removed operation, in the order they were removed.
    public let removed: [Removed]
}
