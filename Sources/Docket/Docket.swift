import Foundation

/// An in-process scheduler for slow or order-sensitive operations on business objects.
///
/// Submit an operation and get a tracking handle at once; poll its status, stream its
/// progress, await it, or take its result exactly once. Operations on one object run one
/// at a time in submission order, and a failure blocks that object until the failed
/// operation is retried or deleted.
///
/// ```swift
/// var registry = OperationRegistry()
/// try registry.register(createDeal)
/// let docket = try Docket(registry: registry)
/// let handle = try await docket.submit(createDeal, input: deal, options: .init(objectKey: "deal-42", owner: "acme"))
/// let status = try handle.status()
/// ```
///
/// Submitting, performing, awaiting an outcome, retrying, deleting and cancelling are
/// `nonisolated(nonsending)`: they run on the caller's executor (an actor's, or the global
/// one), so a caller on an actor does not give up its executor, and queue to get it back,
/// on every call. They leave it only to wait (for an outcome; with a journal, for
/// durability; for an idempotency key's first submission still being made; for an object's
/// line with no turn coming, such as a blocked one, to take a submission in) or to reach
/// the part of the docket that decides (retries and deletions go through one supervising
/// actor). What they do meanwhile is synchronous and short: a few locks, and the input's
/// and output's JSON for the by-name forms and for a journal, which grows with their size.
/// A call that needs no wait completes without suspending, so a loop that submits many
/// operations from one actor keeps that actor until it ends: `await Task.yield()` between
/// batches when the actor must serve others meanwhile.
///
/// A docket that goes away without ``shutdown(gracePeriod:)`` abandons what it still holds
/// (queued, delayed and blocked operations; a journal keeps them for the next docket opened
/// on it), asks every attempt still running to stop, as a shutdown whose grace period has
/// passed does, and frees all of it once those attempts have returned: each object's line
/// is let go with its turn. It starts no operation from then on, and a journal records
/// none of the cancellations this causes: the next docket opened on it finds those attempts
/// interrupted, as a crash would leave them. Until they have returned, the docket still
/// writes to its store: open another docket on the same store only after that.
public final class Docket: Sendable {
    /// The longest delay, wait, timeout, retry backoff, retention or lifetime a docket
    /// accepts: 100 years. Times are kept as 64-bit nanoseconds, which hold about 292 years;
    /// a longer duration is refused with a ``DocketError`` rather than overflowing.
    public static let longestDuration = Duration.seconds(100 * 365 * 24 * 60 * 60)

    let engine: Engine
    // The tracker, held here as well: a read through `engine.tracker` retains and releases
    // it around the call, and pollers and workers doing so at once pass the shared object's
    // cache line between their cores. A call on the docket's own constant reference retains
    // nothing.
    private let tracker: Tracker
    /// What opening on a store restored; empty for a docket without one.
    public let recovery: RecoveryReport

    /// Creates a docket.
    ///
    /// - Parameters:
    ///   - registry: The operations it can run.
    ///   - configuration: Capacity, retention windows and execution mode.
    ///   - clock: The clock delays, timeouts and retention are measured on.
    /// - Throws: ``DocketError/Code-swift.struct/invalidConfiguration`` for an out-of-range value.
    public init<C: Clock>(
        registry: OperationRegistry,
        configuration: DocketConfiguration = DocketConfiguration(),
        clock: C = ContinuousClock()
    ) throws where C.Duration == Duration {
        let configuration = try configuration.validated()
        engine = Engine(
            registry: registry, configuration: configuration,
            clock: EngineClock(clock, wallOrigin: configuration.wallClockOrigin ?? Date()))
        tracker = engine.tracker
        recovery = RecoveryReport()
    }

    /// Opens a docket on a store: restores everything the store's records add up to, then
    /// writes every state change to it.
    ///
    /// Waiting and delayed operations go back in their lines in submission order, with what
    /// is left of their delays (time spent down counts); failed operations block their
    /// objects again; unread results, consumed results, idempotency keys, owners and
    /// dependencies are as they were. An operation that was running is run again only if its
    /// definition is idempotent; otherwise it fails as
    /// ``OperationFailure/Kind-swift.enum/interrupted`` and blocks its object until a person
    /// retries or deletes it. ``recovery`` says what was restored.
    ///
    /// - Parameters:
    ///   - registry: The operations it can run; it must name every operation in the store.
    ///   - configuration: Capacity, retention windows and execution mode.
    ///   - clock: The clock delays, timeouts and retention are measured on.
    ///   - store: Where operations persist, such as a ``FileJournal``.
    /// - Throws: ``DocketError`` with ``DocketError/Code-swift.struct/unknownOperation`` when the store
    ///   names an operation the registry lacks (nothing is restored then), the store's own errors
    ///   (``DocketError/Code-swift.struct/journalCorrupt``, ``DocketError/Code-swift.struct/journalFailed``),
    ///   and ``DocketError/Code-swift.struct/invalidConfiguration``.
    public init<C: Clock>(
        registry: OperationRegistry,
        configuration: DocketConfiguration = DocketConfiguration(),
        clock: C = ContinuousClock(),
        store: some DocketStore
    ) async throws where C.Duration == Duration {
        let configuration = try configuration.validated()
        let engine = Engine(
            registry: registry, configuration: configuration,
            clock: EngineClock(clock, wallOrigin: configuration.wallClockOrigin ?? Date()), store: store)
        do {
            recovery = try await engine.restore(from: store)
        } catch {
            engine.release()
            throw error
        }
        self.engine = engine
        tracker = engine.tracker
    }

    deinit {
        engine.release()
    }

    /// The registered operations with their queueable flag.
    public var operations: [OperationRegistry.Entry] { engine.registry.entries }

    // MARK: Submitting

    /// Defers an operation and returns its tracking handle at once.
    ///
    /// - Throws: ``DocketError`` when the definition is not registered or not queueable, the
    ///   delay is negative, a dependency is unknown, the queue is full, or the docket is shutting down.
    public nonisolated(nonsending) func submit<Input, Output>(
        _ definition: OperationDefinition<Input, Output>, input: Input, options: SubmitOptions = SubmitOptions()
    ) async throws -> OperationHandle<Output> {
        let registered = try registered(definition)
        let (id, _) = try await engine.submit(registered, input: input, options: options, runsNow: false)
        return OperationHandle(id: id, owner: options.owner, docket: self)
    }

    /// Defers an operation named by a string with JSON-encoded input (an HTTP body, a journal record).
    public nonisolated(nonsending) func submit(operationNamed name: String, input: Data, options: SubmitOptions = SubmitOptions()) async throws -> OperationID {
        let definition = try engine.definition(named: name)
        let decoded = try decode(input, for: definition)
        return try await engine.submit(definition, input: decoded, encodedInput: input, options: options, runsNow: false).id
    }

    /// Runs an operation now and returns its output: it still waits its turn on its object.
    ///
    /// - Throws: The operation's ``OperationFailure`` when it fails; ``DocketError`` with
    ///   ``DocketError/Code-swift.struct/objectBlocked`` when its object is (or becomes, before its turn)
    ///   blocked, and for the refusals of ``submit(_:input:options:)``.
    public nonisolated(nonsending) func perform<Input, Output>(
        _ definition: OperationDefinition<Input, Output>, input: Input, options: SubmitOptions = SubmitOptions()
    ) async throws -> Output {
        let registered = try registered(definition)
        let (id, _) = try await engine.submit(registered, input: input, options: options, runsNow: true)
        let resolution = await engine.awaitOutcome(id, owner: options.owner, consumes: true, deadline: nil)
        return try Self.value(of: resolution, as: Output.self, id: id)
    }

    /// The by-name form of ``perform(_:input:options:)``: JSON-encoded input, the output as
    /// a payload (an HTTP body, a coreBOS call without `launchfromqueue`).
    ///
    /// - Throws: The operation's ``OperationFailure`` when it fails, and the refusals of
    ///   ``perform(_:input:options:)``.
    public nonisolated(nonsending) func perform(operationNamed name: String, input: Data, options: SubmitOptions = SubmitOptions()) async throws -> OperationPayload {
        let definition = try engine.definition(named: name)
        let decoded = try decode(input, for: definition)
        let (id, _) = try await engine.submit(definition, input: decoded, encodedInput: input, options: options, runsNow: true)
        let resolution = await engine.awaitOutcome(id, owner: options.owner, consumes: true, deadline: nil)
        return try Self.value(of: resolution, as: OperationPayload.self, id: id)
    }

    /// Runs an operation now, by name, waiting up to `wait` for its outcome: the outcome when
    /// it finishes in time (taking the result, a failure included), else the handle to track
    /// it. An HTTP handler that runs work at once still answers within its budget.
    ///
    /// - Throws: ``DocketError`` with ``DocketError/Code-swift.struct/objectBlocked`` when the
    ///   object is (or becomes, before the operation's turn) blocked, and the refusals of
    ///   ``perform(_:input:options:)``.
    public nonisolated(nonsending) func perform(
        operationNamed name: String, input: Data, options: SubmitOptions = SubmitOptions(), waitingUpTo wait: Duration
    ) async throws -> Submission<OperationPayload> {
        let deadline = try deadline(after: wait)
        let definition = try engine.definition(named: name)
        let decoded = try decode(input, for: definition)
        let (id, _) = try await engine.submit(definition, input: decoded, encodedInput: input, options: options, runsNow: true)
        switch await engine.awaitOutcome(id, owner: options.owner, consumes: true, deadline: deadline) {
        case .gaveUp:
            // The handle outlives this call: the operation must survive a restart (unless it
            // is not queueable), and its submission be durable, first.
            engine.tracker.handOut(id)
            try await engine.journal?.settle()
            return .accepted(OperationHandle(id: id, owner: options.owner, docket: self))
        case let resolution:
            do {
                return .finished(.success(try Self.value(of: resolution, as: OperationPayload.self, id: id)))
            } catch let failure as OperationFailure {
                return .finished(.failure(failure))
            }
        }
    }

    /// Defers an operation, then waits up to `wait` for it: the outcome when it finishes in
    /// time (taking the result), else the handle to track it (HTTP 200 versus 202).
    public nonisolated(nonsending) func submit<Input, Output>(
        _ definition: OperationDefinition<Input, Output>, input: Input, options: SubmitOptions = SubmitOptions(),
        waitingUpTo wait: Duration
    ) async throws -> Submission<Output> {
        let deadline = try deadline(after: wait)
        let handle = try await submit(definition, input: input, options: options)
        return await settle(handle, until: deadline)
    }

    /// The by-name form of ``submit(_:input:options:waitingUpTo:)``.
    public nonisolated(nonsending) func submit(
        operationNamed name: String, input: Data, options: SubmitOptions = SubmitOptions(), waitingUpTo wait: Duration
    ) async throws -> Submission<OperationPayload> {
        let deadline = try deadline(after: wait)
        let id = try await submit(operationNamed: name, input: input, options: options)
        return await settle(OperationHandle(id: id, owner: options.owner, docket: self), until: deadline)
    }

    // MARK: Tracking

    /// A snapshot of the operation's status.
    ///
    /// - Throws: ``DocketError/Code-swift.struct/notFound`` for an unknown, expired or foreign
    ///   ID, and for a run-now operation refused before it ran (its message says so).
    public func status(of id: OperationID, owner: String? = nil) throws -> OperationStatus {
        try tracker.status(id, owner: owner)
    }

    /// The operation's state and progress alone: the cheapest read, for pollers.
    ///
    /// - Throws: ``DocketError/Code-swift.struct/notFound`` for an unknown, expired or foreign
    ///   ID, and for a run-now operation refused before it ran (its message says so).
    public func progress(of id: OperationID, owner: String? = nil) throws -> OperationProgress {
        try tracker.progress(id, owner: owner)
    }

    /// Takes the result: a read-once result is handed to the first taker only.
    ///
    /// With a durable store, the result is handed out once its taking is durable: a result
    /// taken before a crash stays taken after the restart.
    public func takeResult(of id: OperationID, owner: String? = nil) -> ResultTake<OperationPayload> {
        let take = tracker.take(id, owner: owner)
        if case .finished = take {
            // A failed journal has failed every later write too; the taker still gets what it took.
            try? engine.journal?.settleBlocking()
        }
        return take
    }

    /// Waits until the operation finishes, then takes its result.
    public nonisolated(nonsending) func outcome(of id: OperationID, owner: String? = nil) async -> ResultTake<OperationPayload> {
        switch await engine.awaitOutcome(id, owner: owner, consumes: true, deadline: nil) {
        case .outcome(let take): return take
        case .removed(let error) where error.code == .shutDown:
            // Still queued, in a docket that no longer runs it.
            return .notFinished((try? status(of: id, owner: owner).state) ?? .waiting)
        case .gaveUp, .removed: return .notFound
        }
    }

    /// A stream of the operation's events: a snapshot first, then state changes, progress and
    /// details, ending when it finishes, or when a shutdown or the docket going away leaves
    /// it queued. Any number of observers may watch one operation.
    ///
    /// - Throws: ``DocketError/Code-swift.struct/notFound`` for an unknown or foreign ID.
    public func events(of id: OperationID, owner: String? = nil) throws -> AsyncStream<OperationEvent> {
        try tracker.observe(id, owner: owner)
    }

    // MARK: Correcting

    /// Retries a failed operation with its input; its object resumes.
    ///
    /// - Throws: ``DocketError/Code-swift.struct/shutDown`` once the docket has begun to shut
    ///   down: the operation would not run again in this process.
    public nonisolated(nonsending) func retry(_ id: OperationID, owner: String? = nil) async throws {
        try await engine.retry(id, owner: owner, replacingInput: nil)
    }

    /// Retries a failed operation with corrected input; its object resumes.
    ///
    /// - Throws: ``DocketError/Code-swift.struct/invalidInput`` when the input is not of the
    ///   definition's input type; ``DocketError/Code-swift.struct/shutDown`` once the docket
    ///   has begun to shut down.
    public nonisolated(nonsending) func retry<Input: Codable & Sendable>(_ id: OperationID, owner: String? = nil, correctedInput input: Input) async throws {
        guard case .record(let record) = tracker.lookup(id, owner: owner) else { throw DocketError.notFound(id) }
        let definition = try engine.definition(named: record.name)
        guard definition.inputType == ObjectIdentifier(Input.self) else {
            throw DocketError(.invalidInput, "Operation \"\(record.name)\" takes another input type than \(Input.self).", operationID: id)
        }
        try await engine.retry(id, owner: owner, replacingInput: input)
    }

    /// Retries a failed operation with corrected JSON-encoded input.
    ///
    /// - Throws: ``DocketError/Code-swift.struct/shutDown`` once the docket has begun to shut down.
    public nonisolated(nonsending) func retry(_ id: OperationID, owner: String? = nil, correctedInput input: Data) async throws {
        guard case .record(let record) = tracker.lookup(id, owner: owner) else { throw DocketError.notFound(id) }
        let decoded = try decode(input, for: try engine.definition(named: record.name))
        try await engine.retry(id, owner: owner, replacingInput: decoded, encoded: input)
    }

    /// Deletes a waiting, delayed or failed operation.
    ///
    /// Deleting a failed operation that has queued followers requires `followers`: keep them
    /// (the object resumes) or cascade (they are deleted with it). Operations that depend on
    /// a deleted one are deleted too, with reason ``CancellationReason/dependencyDeleted``.
    ///
    /// - Throws: ``DocketError/Code-swift.struct/shutDown`` once ``shutdown(gracePeriod:)``
    ///   is closing the store, which would not keep the deletion.
    public nonisolated(nonsending) func delete(_ id: OperationID, owner: String? = nil, followers: FollowerPolicy? = nil) async throws -> DeletionReport {
        try await delete([id], owner: owner, followers: followers)
    }

    /// Deletes several operations as one step: on each object, queued ones are removed before
    /// the failed one, so no follower can run in between. Nothing is deleted when any ID is refused.
    ///
    /// - Throws: ``DocketError/Code-swift.struct/shutDown`` once ``shutdown(gracePeriod:)``
    ///   is closing the store, which would not keep the deletion.
    public nonisolated(nonsending) func delete(_ ids: [OperationID], owner: String? = nil, followers: FollowerPolicy? = nil) async throws -> DeletionReport {
        let removed = try await engine.delete(ids, owner: owner, followers: followers)
        return DeletionReport(removed: removed.map { DeletionReport.Removed(id: $0.0, reason: $0.1) })
    }

    /// Cancels a queued operation, or asks a running one to stop through its context. A
    /// cancelled operation does not block its object.
    ///
    /// Accepted for a running attempt, the cancel decides how it ends: a timeout falling due
    /// before its body returns changes nothing. An attempt already stopping for its timeout
    /// is not cancellable (``DocketError/Code-swift.struct/notCancellable``): it ends as timed out, and
    /// may be cancelled while it waits for another attempt.
    ///
    /// - Throws: ``DocketError/Code-swift.struct/shutDown`` once ``shutdown(gracePeriod:)``
    ///   is closing the store, which would not keep the cancellation.
    public nonisolated(nonsending) func cancel(_ id: OperationID, owner: String? = nil) async throws {
        try await engine.cancel(id, owner: owner)
    }

    // MARK: Operating

    /// A snapshot of the load across all owners (the administrative view).
    public func metrics() async -> DocketMetrics {
        let counts = tracker.counts()
        let shape = tracker.queueShape()
        let now = engine.clock.now()
        return DocketMetrics(
            waiting: counts.queued - shape.delayed, delayed: shape.delayed, running: counts.running,
            succeeded: counts.succeeded, failed: counts.failed, tombstones: counts.tombstones,
            blockedObjects: shape.failed.sorted {
                ($0.owner ?? "", $0.objectKey ?? "", $0.failedOperation.description) < ($1.owner ?? "", $1.objectKey ?? "", $1.failedOperation.description)
            },
            oldestWaitingAge: shape.oldestWaiting.map { now - $0 },
            liveObjects: engine.directory.count,
            totals: engine.counters.totals)
    }

    /// In batch mode, runs everything due now and returns when nothing more is runnable.
    ///
    /// A pass under way when ``shutdown(gracePeriod:)`` begins starts nothing more and
    /// returns once what it started has ended.
    ///
    /// - Throws: ``DocketError/Code-swift.struct/invalidConfiguration`` when the docket is not
    ///   in batch mode; ``DocketError/Code-swift.struct/shutDown`` once it has begun to shut down.
    public func runDue() async throws -> BatchReport {
        try await engine.runDue()
    }

    /// Stops taking new operations and starting queued ones, and lets running ones finish
    /// within `gracePeriod`; those still running then are asked to cancel. A docket opened on
    /// a store closes it last: what is still queued stays there for the next open.
    ///
    /// Whoever waits for a queued operation, now or later (``perform(_:input:options:)``,
    /// ``OperationHandle/value()``), is told it will not run here: a
    /// ``DocketError/Code-swift.struct/shutDown`` error, or ``ResultTake/notFinished(_:)``
    /// from ``outcome(of:owner:)``. An event stream of a queued operation
    /// (``OperationHandle/events()``) ends after its snapshot, and ``runDue()`` is refused. A
    /// retry is refused from the start of the shutdown (nothing would run the operation), a
    /// cancellation or deletion once it is closing the store (the store would not keep it).
    public func shutdown(gracePeriod: Duration) async -> ShutdownReport {
        await engine.shutdown(gracePeriod: gracePeriod)
    }

    /// Suspends until nothing is running or runnable.
    package func waitUntilIdle() async {
        await engine.pool.waitUntilIdle()
    }

    // MARK: Helpers

    private func registered<Input, Output>(_ definition: OperationDefinition<Input, Output>) throws -> ErasedDefinition {
        let registered = try engine.definition(named: definition.name)
        guard registered.inputType == ObjectIdentifier(Input.self), registered.outputType == ObjectIdentifier(Output.self) else {
            throw DocketError(
                .unknownOperation,
                "The operation registered as \"\(definition.name)\" has other input or output types than the definition submitted. Submit the registered definition.")
        }
        return registered
    }

    private func decode(_ data: Data, for definition: ErasedDefinition) throws -> any Sendable {
        do {
            return try definition.decodeInput(data)
        } catch {
            throw DocketError(.invalidInput, "The input is not valid for operation \"\(definition.name)\": \(error)")
        }
    }

    /// The clock offset `wait` from now, fixed before submitting so a wait is measured from
    /// the call; a wait out of range is refused.
    private func deadline(after wait: Duration) throws -> Duration {
        try Self.checkRange(of: wait, named: "wait", tooLongAdvice: "Wait less, or submit and poll later.")
        return engine.clock.now() + wait
    }

    /// Refuses a delay or wait that is negative or longer than ``longestDuration`` with
    /// ``DocketError/Code-swift.struct/invalidDelay``; `tooLongAdvice` ends the second message.
    static func checkRange(of duration: Duration, named noun: String, tooLongAdvice: String) throws {
        guard duration >= .zero else {
            throw DocketError(.invalidDelay, "The \(noun) \(duration) is negative. Use zero or a positive \(noun).")
        }
        guard duration <= longestDuration else {
            throw DocketError(.invalidDelay, "The \(noun) \(duration) is longer than \(longestDuration), the longest a docket accepts. \(tooLongAdvice)")
        }
    }

    /// Waits for the outcome until `deadline` (a clock offset fixed before submitting, so the
    /// wait is measured from the call, not from when the waiter registered).
    nonisolated(nonsending) func settle<Output: Sendable>(_ handle: OperationHandle<Output>, until deadline: Duration) async -> Submission<Output> {
        let resolution = await engine.awaitOutcome(handle.id, owner: handle.owner, consumes: true, deadline: deadline)
        guard case .outcome(.finished(let result)) = resolution else { return .accepted(handle) }
        return .finished(ResultTake<OperationPayload>.finished(result).map(Self.cast(Output.self)).result!)
    }

    static func cast<Output: Sendable>(_ type: Output.Type) -> (OperationPayload) -> Output? {
        { payload in (payload as? Output) ?? payload.decode(as: Output.self) }
    }

    static func value<Output: Sendable>(of resolution: WaitResolution, as type: Output.Type, id: OperationID) throws -> Output {
        switch resolution {
        case .outcome(let take):
            switch take.map(cast(Output.self)) {
            case .finished(.success(let value)): return value
            case .finished(.failure(let failure)): throw failure
            case .consumed: throw DocketError(.alreadyConsumed, "The result of \(id) was already taken by another reader.", operationID: id)
            case .notFound: throw DocketError.notFound(id)
            case .notFinished(let state): throw DocketError(.notFound, "Operation \(id) is \(state) and no longer awaited.", operationID: id)
            }
        case .removed(let error): throw error
        case .gaveUp: throw CancellationError()
        }
    }
}

extension ResultTake {
    var result: Result<Value, OperationFailure>? {
        if case .finished(let result) = self { return result }
        return nil
    }
}
