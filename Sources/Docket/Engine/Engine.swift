import Foundation
import Synchronization

/// The parts of a docket wired together, and the flows that cross them: submit, drain,
/// wait, retry, delete, cancel, batch runs and shutdown.
final class Engine: Sendable {
    let registry: OperationRegistry
    let configuration: DocketConfiguration
    let clock: EngineClock
    let tracker: Tracker
    let directory = MailboxDirectory()
    let pool: WorkerPool
    let timer: DueTimer
    let supervisor: Supervisor
    let idempotency: IdempotencyIndex
    let counters = Counters()
    /// Where state changes are persisted, when the docket has a store.
    let journal: JournalWriter?
    private let queued = Atomic<Int>(0)
    private let shuttingDown = Atomic<Bool>(false)
    /// The shutdown has ended (its store closed): a cancellation or deletion from then on would
    /// not be kept, and is refused.
    private let shutDownEnded = Atomic<Bool>(false)
    private let batchRuns = Locked<Int>(0)

    init(registry: OperationRegistry, configuration: DocketConfiguration, clock: EngineClock, store: (any DocketStore)? = nil) {
        self.registry = registry
        self.configuration = configuration
        self.clock = clock
        let journal = store.map { JournalWriter(store: $0, clock: clock) }
        self.journal = journal
        tracker = Tracker(
            clock: clock, unreadResultLifetime: configuration.unreadResultLifetime,
            tombstoneLifetime: configuration.tombstoneLifetime, names: registry.names, journal: journal)
        pool = WorkerPool(
            maxWorkers: configuration.maxConcurrentOperations, gateOpen: configuration.execution == .automatic,
            priority: configuration.workerPriority, loneLineSlice: configuration.loneLineSlice,
            turnObserver: configuration.turnObserver, clock: clock)
        timer = DueTimer(clock: clock, activity: pool, tracker: tracker)
        supervisor = Supervisor(directory: directory)
        idempotency = IdempotencyIndex(window: configuration.idempotencyWindow)
    }

    /// What a shutdown ends with: stops the workers and releases the retired mailboxes the
    /// directory keeps (each holds this engine, which holds the directory), since no
    /// submission opens a mailbox from then on to release them. A docket going away, or
    /// failing to open, lets go of more (``release()``).
    func stop() {
        pool.stop()
        directory.releaseRetired()
    }

    /// What a docket going away, or failing to open, does: stops the workers, then lets go of
    /// every mailbox the engine still reaches (the directory's live and retired ones, the
    /// ready queue's, the timer's wakes), since each holds this engine, and of every one
    /// enqueued or woken from then on. A blocked or delayed line would otherwise keep the
    /// engine, its workers' pool and every record alive for the life of the process. The
    /// work those lines hold is abandoned with the docket (a journal keeps it for the next
    /// one).
    ///
    /// From the start of the release no attempt starts (``Tracker/abandon()``): a worker
    /// handed a line just before the pool stopped, or between two of its operations, runs
    /// none of them (each start is refused, and its attempt ends as cancelled, journaling
    /// nothing). Attempts still running are asked to stop, as a shutdown whose grace period
    /// has passed asks them, and each worker lets go of its line when its turn ends. The
    /// timer keeps none of their timeouts, which would turn a stop into a timeout, and a
    /// journal records none of those cancellations: to the next docket opened on it, queued
    /// operations are queued and the stopped attempts are attempts a crash interrupted.
    func release() {
        tracker.abandon()
        pool.stop()
        pool.releaseReady()
        timer.stop()
        directory.releaseAll()
        tracker.cancelAllRunning()
        // No queued operation runs from here on: an event stream watching one would never end
        // (an AsyncStream does not finish when its continuation is freed with the tracker).
        tracker.closeQueued()
    }

    // MARK: Queue bound

    func claimQueuedSlot() { queued.add(1, ordering: .relaxed) }
    func releaseQueuedSlot() { queued.subtract(1, ordering: .relaxed) }

    private func tryClaimQueuedSlot() -> Bool {
        var current = queued.load(ordering: .relaxed)
        while current < configuration.maxQueuedOperations {
            let (exchanged, actual) = queued.compareExchange(
                expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = actual
        }
        return false
    }

    // MARK: Submission

    /// Validates and enqueues one operation. Returns its ID and whether it is new (not an idempotent repeat).
    ///
    /// With a journal, the submission is written (its input encoded once, or `encodedInput`
    /// as given) by the line that accepts it, under the lock that decides the line's order, so
    /// the journal's order of an object's submissions is its line's. For a durable store, a
    /// deferred submission returns once that record is durable.
    ///
    /// A submission without an idempotency key, a journal or a dependency still pending, the
    /// common one, goes through in one synchronous call and suspends only to give an
    /// unattended line its turn: everything an async function holds lives in a frame
    /// allocated from its task, and the general path's frame holds all of it.
    nonisolated(nonsending) func submit(
        _ definition: ErasedDefinition, input: any Sendable, encodedInput: Data? = nil, options: SubmitOptions, runsNow: Bool
    ) async throws -> (id: OperationID, isNew: Bool) {
        let admission = try admit(definition, options: options, runsNow: runsNow)
        if options.idempotencyKey == nil, journal == nil, admission.pending.isEmpty {
            if let unattended = try accept(definition, input: input, options: options, runsNow: runsNow, admission: admission) {
                await unattended.takeInbox()
            }
            return (admission.id, true)
        }
        return try await submitInFull(definition, input: input, encodedInput: encodedInput, options: options, runsNow: runsNow, admission: admission)
    }

    /// What ``admit(_:options:runsNow:)`` settled for a submission.
    private struct Admission {
        /// The drawn ID with the sequence number it carries.
        let key: SequencedID
        var id: OperationID { key.id }
        let now: Duration
        /// The dependencies that have not succeeded yet, marked as having dependents; not yet
        /// checked, and empty, for a submission with an idempotency key.
        let pending: [OperationID]
    }

    /// Refuses a submission the docket cannot take, registers it with its dependencies, and
    /// draws its ID.
    private func admit(_ definition: ErasedDefinition, options: SubmitOptions, runsNow: Bool) throws -> Admission {
        guard !shuttingDown.load(ordering: .relaxed) else {
            throw DocketError(.shutDown, "The docket is shutting down and takes no new operations.")
        }
        guard runsNow || definition.isQueueable else {
            throw DocketError(
                .notQueueable,
                "Operation \"\(definition.name)\" is not queueable, so it cannot be deferred. Run it now with perform(_:input:options:).")
        }
        try Docket.checkRange(of: options.delay, named: "delay", tooLongAdvice: "Use a shorter delay.")
        if runsNow && configuration.execution == .batch {
            throw DocketError(.batchMode, "This docket runs in batch mode, where nothing runs at once. Defer the operation and call runDue().")
        }
        if let key = options.objectKey, key.isEmpty {
            throw DocketError(.invalidInput, "The object key is empty. Pass nil for an independent operation, or a non-empty key.")
        }
        // A keyed submission checks its dependencies once it knows it is no repeat: a repeat
        // answers with its original, whatever has become of the dependencies since.
        let pending = options.idempotencyKey == nil ? try tracker.registerDependencies(options.dependencies, owner: options.owner) : []
        return Admission(key: tracker.mintID(), now: clock.now(), pending: pending)
    }

    /// The whole of a submission without an idempotency key, a journal or a pending
    /// dependency, up to its line's turn: returns the mailbox that needs one.
    private func accept(
        _ definition: ErasedDefinition, input: any Sendable, options: SubmitOptions, runsNow: Bool, admission: Admission
    ) throws -> Mailbox? {
        let id = admission.id
        try claimSlot(for: id, options: options)
        let due = admission.now + options.delay
        track(admission.key, definition, options: options, runsNow: runsNow, now: admission.now, due: due)
        let entry = Mailbox.Machine.Entry(
            id: id, sequence: admission.key.sequence, job: Job(definition: definition, input: input), due: due, runsNow: runsNow)
        let placed = try place(
            entry, on: ObjectKey(owner: options.owner, key: options.objectKey, id: id), journaling: nil, now: admission.now, options: options)
        // Counted before the line's turn, which may run the operation: totals never show
        // more finished than submitted.
        counters.submitted()
        return placed.unattended
    }

    /// Every other submission: with an idempotency key, a journal, or a dependency that has
    /// not succeeded yet.
    private nonisolated(nonsending) func submitInFull(
        _ definition: ErasedDefinition, input: any Sendable, encodedInput: Data?, options: SubmitOptions, runsNow: Bool,
        admission: Admission
    ) async throws -> (id: OperationID, isNew: Bool) {
        let (id, now) = (admission.id, admission.now)
        if let key = options.idempotencyKey,
           let existing = try await idempotency.reserve(owner: options.owner, key: key, operation: definition.name, for: id, runsNow: runsNow, clock: { [clock] in clock.now() }) {
            // A deferred repeat hands the ID out to track: a run-now original must then
            // survive a restart.
            if !runsNow { tracker.handOut(existing) }
            // The original is in its line (a repeat waits for that), and its record appended:
            // the repeat's answer must not outrun the original's durability.
            try await journal?.settle()
            return (existing, false)
        }
        var pending = admission.pending
        if let key = options.idempotencyKey {
            do {
                pending = try tracker.registerDependencies(options.dependencies, owner: options.owner)
            } catch {
                idempotency.release(owner: options.owner, key: key, for: id)
                throw error
            }
        }
        try claimSlot(for: id, options: options)
        let objectKey = ObjectKey(owner: options.owner, key: options.objectKey, id: id)
        let due = now + options.delay
        var submitted: JournalRecord?
        if let journal {
            do {
                submitted = try record(definition, input: input, encodedInput: encodedInput, options: options, id: id, now: now, due: due, runsNow: runsNow, in: journal)
            } catch {
                releaseQueuedSlot()
                if let key = options.idempotencyKey { idempotency.release(owner: options.owner, key: key, for: id) }
                throw error
            }
        }
        track(admission.key, definition, options: options, runsNow: runsNow, now: now, due: due)
        if !pending.isEmpty {
            await supervisor.register(id, on: objectKey, dependencies: pending)
        }
        let entry = Mailbox.Machine.Entry(
            id: id, sequence: admission.key.sequence, job: Job(definition: definition, input: input), due: due, dependencies: pending, runsNow: runsNow)
        let ticket: UInt64?
        do {
            let placed = try place(entry, on: objectKey, journaling: submitted, now: now, options: options)
            // Counted before the line's turn, as `accept` does: the turn may run the operation.
            counters.submitted()
            if let unattended = placed.unattended { await unattended.takeInbox() }
            ticket = placed.ticket
        } catch {
            // Refused by a blocked line: the dependencies registered above wait for nothing.
            if !pending.isEmpty { await supervisor.unregister(id, dependencies: pending) }
            throw error
        }
        // A dependency cancelled or deleted since admission cascaded to its registered
        // dependents, in lines: before this registration, or before the line held this entry,
        // the cascade found nothing to cancel here, and the entry's own check may come only
        // once the dependency's tombstone has expired, when it reads as having succeeded.
        // Checked again with the entry in its line, from which on a removal cascades to it.
        if !pending.isEmpty, case .broken = tracker.dependencyState(pending) {
            // A cascade that ran before the registration left it behind.
            await supervisor.unregister(id, dependencies: pending)
            if let mailbox = directory.existing(objectKey), await mailbox.cancelQueued(id, reason: .dependencyDeleted) {
                await supervisor.handle(.removed([id]))
            }
        } else {
            // So may a success whose notice came before the registration: nothing else would
            // clear the registration on it. The notice may also still be on its way, after the
            // line found the dependency unfinished: handled here, as the notice would be, the
            // success wakes the line either way.
            for dependency in pending {
                guard case .satisfied = tracker.dependencyState([dependency]) else { continue }
                await supervisor.handle(.dependencySucceeded(dependency))
            }
        }
        if let key = options.idempotencyKey { idempotency.commit(owner: options.owner, key: key, for: id) }
        // A deferred submission returns once its record is durable. A run-now one returns
        // only with its outcome, whose durable records come after this one: waiting for
        // them covers it, one `fsync` round trip fewer (see perform(…waitingUpTo:)).
        if let ticket, let journal, journal.isDurable, !runsNow {
            try await journal.store.waitDurable(ticket)
        }
        return (id, true)
    }

    /// Gives a submission its tracking record.
    private func track(_ key: SequencedID, _ definition: ErasedDefinition, options: SubmitOptions, runsNow: Bool, now: Duration, due: Duration) {
        tracker.insert(key, TrackingRecord(
            definition: definition, owner: options.owner, objectKey: options.objectKey, created: now,
            runsNow: runsNow, due: due), at: now)
    }

    /// Claims a queue slot for a submission, or refuses it when the queue is full (releasing
    /// its idempotency key's reservation).
    private func claimSlot(for id: OperationID, options: SubmitOptions) throws {
        guard tryClaimQueuedSlot() else {
            if let key = options.idempotencyKey { idempotency.release(owner: options.owner, key: key, for: id) }
            throw DocketError(
                .queueFull,
                "\(configuration.maxQueuedOperations) operations are already queued, the configured bound. Try again later.")
        }
    }

    /// Puts a submission in its object's line. Returns the journal ticket of its record, and
    /// the mailbox when no turn of it was coming: the caller gives it one (``Mailbox/takeInbox()``).
    ///
    /// The object's first submission opens the line with the entry already in it, its record
    /// journaled under the directory's lock before any other submitter can reach the line:
    /// no turn of the new mailbox's actor. Later ones go through the line's inbox.
    private func place(
        _ entry: Mailbox.Machine.Entry, on objectKey: ObjectKey, journaling submitted: JournalRecord?, now: Duration,
        options: SubmitOptions
    ) throws -> (ticket: UInt64?, unattended: Mailbox?) {
        let directoryKey = MailboxDirectory.Key(objectKey)
        while true {
            var opened: (mailbox: Mailbox, opening: Mailbox.Opening, ticket: UInt64?)?
            let mailbox = directory.mailbox(for: directoryKey) {
                guard let (mailbox, opening) = Mailbox.opening(directoryKey, engine: self, with: entry, now: now) else {
                    return Mailbox(key: directoryKey, engine: self)
                }
                opened = (mailbox, opening, submitted.flatMap { journal?.append($0) })
                return mailbox
            }
            if let opened {
                opened.mailbox.begin(opened.opening)
                return (opened.ticket, nil)
            }
            switch mailbox.submit(entry, journaling: submitted) {
            case .accepted(let needsTurn, let ticket):
                return (ticket, needsTurn ? mailbox : nil)
            case .retired:
                continue
            case .blocked(let failed):
                releaseQueuedSlot()
                // Nothing was journaled: the submission record is written only when a line accepts it.
                // The refusal is thrown to the submitter itself: nothing waits for it.
                tracker.reject(entry.id, with: .blocked(by: failed, key: objectKey.description), awaited: false)
                if let key = options.idempotencyKey { idempotency.release(owner: options.owner, key: key, for: entry.id) }
                throw DocketError.blocked(by: failed, key: objectKey.description)
            }
        }
    }

    /// The journal record of a submission, its input encoded once (or passed through).
    private func record(
        _ definition: ErasedDefinition, input: any Sendable, encodedInput: Data?, options: SubmitOptions,
        id: OperationID, now: Duration, due: Duration, runsNow: Bool, in journal: JournalWriter
    ) throws -> JournalRecord {
        let data: Data
        do {
            data = try encodedInput ?? definition.encodeInput(input)
        } catch {
            throw DocketError(.invalidInput, "The input of \"\(definition.name)\" could not be encoded for the journal: \(error). Make its Encodable conformance total.")
        }
        return .submitted(JournalSubmission(
            id: id, operation: definition.name, input: data, owner: options.owner, objectKey: options.objectKey,
            created: journal.date(now), due: journal.date(due), idempotencyKey: options.idempotencyKey,
            dependencies: options.dependencies, runsNow: runsNow))
    }

    func definition(named name: String) throws -> ErasedDefinition {
        try registry.definition(named: name)
    }

    // MARK: Execution

    // MARK: Waiting

    /// Waits for the outcome and takes it; with a deadline (a clock offset), gives up at it.
    nonisolated(nonsending) func awaitOutcome(_ id: OperationID, owner: String?, consumes: Bool, deadline: Duration?) async -> WaitResolution {
        let resolution: WaitResolution
        if let resolved = tracker.resolveIfFinished(id, owner: owner, consumes: consumes) {
            resolution = resolved
        } else {
            let token = tracker.nextToken()
            if let deadline {
                timer.schedule(.deadline(id, token: token), at: deadline)
            }
            resolution = await tracker.wait(id, owner: owner, consumes: consumes, token: token, deadline: deadline)
        }
        // A taken result is handed out only once its taking is durable. A journal that failed
        // has failed every later write too; the taker still gets what it took.
        // So is a refusal: the caller may submit again once told, so the run-now operation's
        // removal must hold across a crash too.
        switch resolution {
        case .outcome(.finished) where consumes, .removed: try? await journal?.settle()
        default: break
        }
        return resolution
    }

    // MARK: Retry, cancel, delete

    /// A cancellation or deletion once the shutdown is closing the store: the change would
    /// hold in this process only, and the next docket opened on the store would find the
    /// operation as this one left it.
    private func refuseAfterShutdown(_ id: OperationID, _ change: (noun: String, verb: String)) throws {
        guard shutDownEnded.load(ordering: .relaxed) else { return }
        throw DocketError(
            .shutDown,
            "The docket has shut down and takes no more changes: a \(change.noun) would not reach its store, and the next docket opened on the store would find operation \(id) as this one left it. \(change.verb) it there; without a store, the operation ends with this docket.",
            operationID: id)
    }

    nonisolated(nonsending) func retry(_ id: OperationID, owner: String?, replacingInput input: (any Sendable)?, encoded: Data? = nil) async throws {
        guard !shuttingDown.load(ordering: .relaxed) else {
            throw DocketError(
                .shutDown,
                "The docket is shutting down and runs nothing more, so operation \(id) would not run again here. Retry it on the next docket opened on the same store; without a store, it ends with this docket.",
                operationID: id)
        }
        guard case .record(let record) = tracker.lookup(id, owner: owner) else { throw DocketError.notFound(id) }
        guard record.state == .failed else {
            throw DocketError(.notRetryable, "Operation \(id) is \(record.state), not failed; only a failed operation can be retried.", operationID: id)
        }
        let job = try input.map { input in
            Job(definition: try definition(named: record.name), input: input)
        }
        var correctedInput: Data?
        if journal != nil, let job {
            correctedInput = try encoded ?? job.definition.encodeInput(job.input)
        }
        try await supervisor.retry(id, on: ObjectKey(owner: owner, key: record.objectKey, id: id), replacing: job, encoded: correctedInput)
        try await journal?.settle()
    }

    nonisolated(nonsending) func cancel(_ id: OperationID, owner: String?) async throws {
        try refuseAfterShutdown(id, ("cancellation", "Cancel"))
        try await cancelInMemory(id, owner: owner)
        try await journal?.settle()
    }

    private nonisolated(nonsending) func cancelInMemory(_ id: OperationID, owner: String?) async throws {
        let record: TrackingRecord
        switch tracker.lookup(id, owner: owner) {
        case .record(let found): record = found
        case .tombstone(let tombstone):
            throw DocketError(.notCancellable, "Operation \(id) is already \(tombstone.state).", operationID: id)
        case .none: throw DocketError.notFound(id)
        }
        switch record.state {
        case .waiting, .delayed:
            let key = ObjectKey(owner: owner, key: record.objectKey, id: id)
            if let mailbox = directory.existing(key), await mailbox.cancelQueued(id, reason: .cancelled) {
                await supervisor.handle(.removed([id]))
                return
            }
            // It started in the meantime: cancel it as running.
            guard let context = tracker.runningContext(id) else { throw Self.endedBeforeCancel(id) }
            try Self.cancelRunning(id, context)
        case .running:
            guard let context = record.context ?? tracker.runningContext(id) else { throw Self.endedBeforeCancel(id) }
            try Self.cancelRunning(id, context)
        case .failed:
            throw DocketError(.notCancellable, "Operation \(id) has failed; retry it or delete it instead.", operationID: id)
        case .succeeded, .cancelled:
            throw DocketError(.notCancellable, "Operation \(id) is already \(record.state).", operationID: id)
        }
    }

    nonisolated(nonsending) func delete(_ ids: [OperationID], owner: String?, followers: FollowerPolicy?) async throws -> [(OperationID, CancellationReason)] {
        guard !ids.isEmpty else { return [] }
        try refuseAfterShutdown(ids[0], ("deletion", "Delete"))
        var targets: [(OperationID, ObjectKey)] = []
        var seen = Set<OperationID>()
        for id in ids where seen.insert(id).inserted {
            switch tracker.lookup(id, owner: owner) {
            case .none:
                throw DocketError.notFound(id)
            case .tombstone(let tombstone):
                throw DocketError(.notDeletable, "Operation \(id) is already \(tombstone.state); only waiting, delayed or failed operations can be deleted.", operationID: id)
            case .record(let record):
                switch record.state {
                case .waiting, .delayed, .failed:
                    targets.append((id, ObjectKey(owner: owner, key: record.objectKey, id: id)))
                case .running:
                    throw DocketError(.notDeletable, "Operation \(id) is running; only waiting, delayed or failed operations can be deleted. Cancel it instead.", operationID: id)
                case .succeeded, .cancelled:
                    throw DocketError(.notDeletable, "Operation \(id) is already \(record.state); only waiting, delayed or failed operations can be deleted.", operationID: id)
                }
            }
        }
        let removed = try await supervisor.delete(targets, followers: followers)
        try await journal?.settle()
        return removed
    }

    // MARK: Batch mode and shutdown

    func runDue() async throws -> BatchReport {
        guard configuration.execution == .batch else {
            throw DocketError(.invalidConfiguration, "runDue() is for dockets in batch mode; this one runs operations automatically.")
        }
        guard !shuttingDown.load(ordering: .relaxed) else {
            throw DocketError(.shutDown, "The docket has shut down, so runDue() runs nothing. Operations left queued stay in its store; open a new docket on it to run them.")
        }
        let before = counters.totals
        // A pass that began before the shutdown sealed the gate ends with what ran until then.
        // The gate moves under the count's lock: a pass ending as another begins could
        // otherwise close it after the other opened it, and the other would return at once.
        batchRuns.withLock { runs in
            runs += 1
            if runs == 1 { pool.setGate(open: true) }
        }
        await pool.waitUntilIdle()
        batchRuns.withLock { runs in
            runs -= 1
            if runs == 0 { pool.setGate(open: false) }
        }
        let after = counters.totals
        return BatchReport(succeeded: after.succeeded - before.succeeded, failed: after.failed - before.failed)
    }

    func shutdown(gracePeriod: Duration) async -> ShutdownReport {
        shuttingDown.store(true, ordering: .relaxed)
        // Sealed: a batch run started before or after this does not open it again.
        pool.setGate(open: false, sealing: true)
        if pool.busyWorkers > 0 {
            let pool = pool
            // A grace period outside what a docket accepts is taken as the nearest it does.
            let grace = Swift.min(Swift.max(gracePeriod, .zero), Docket.longestDuration)
            timer.schedule(.action { pool.releaseQuietWaiters() }, at: clock.now() + grace)
            await pool.waitUntilQuiet()
        }
        // Nothing queued runs from here on: whoever waits for it is told so, now or as it asks.
        // Closed before the scan for running attempts: a start takes its shard's lock before
        // the closing, and the scan finds it running, or after, and is refused
        // (``Tracker/StartMark/closed``). None begins unreported once this returns.
        tracker.closeQueued()
        let stillRunning = tracker.cancelAllRunning()
        // No submission opens a mailbox from here on, so none would release what is kept.
        stop()
        // What is still queued stays in the store for the next open. A cancellation or
        // deletion from here on is refused: the store would not keep it.
        shutDownEnded.store(true, ordering: .relaxed)
        try? await journal?.store.close()
        // Counted from the records, which a refused start leaves queued: the queue bound's
        // count has that start's slot back only once its worker has finished with it.
        let leftQueued = tracker.counts().queued
        return ShutdownReport(finishedInTime: stillRunning == 0, cancelledAtDeadline: stillRunning, leftQueued: leftQueued)
    }

    /// Asks a running attempt to stop, or says why it cannot be.
    private static func cancelRunning(_ id: OperationID, _ context: OperationContext) throws {
        if context.requestCancellation() { return }
        // The attempt's timeout came first: it ends as timed out, whatever its body does now.
        if context.isTimedOut {
            throw DocketError(
                .notCancellable,
                "Operation \(id) ran past its timeout, so its attempt ends as timed out and cannot be cancelled. Check its status once the attempt has ended, and cancel it if it waits for another attempt.",
                operationID: id)
        }
        throw endedBeforeCancel(id)
    }

    /// The attempt ended between the lookup and the cancel: it finished, or it failed and
    /// waits for another attempt, which a second cancel would then find queued.
    private static func endedBeforeCancel(_ id: OperationID) -> DocketError {
        DocketError(.notCancellable, "Operation \(id) ended its attempt before it could be cancelled. Check its status, and cancel again if it waits for another attempt.", operationID: id)
    }

    var isShuttingDown: Bool { shuttingDown.load(ordering: .relaxed) }
}
