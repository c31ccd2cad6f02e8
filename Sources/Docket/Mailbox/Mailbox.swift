import Foundation
import Synchronization

/// The serial line of one business object (or of one independent operation).
///
/// A thin actor around ``MailboxStateMachine``: every method feeds the machine an event and
/// performs the actions it returns: tracking updates, the ready queue, timer wakes,
/// dependency checks, and retiring from the directory.
actor Mailbox {
    typealias Machine = MailboxStateMachine<Job>

    /// The object whose line this is, with its hash, as the directory keeps it.
    nonisolated let directoryKey: MailboxDirectory.Key
    /// The object whose line this is.
    nonisolated var key: ObjectKey { directoryKey.object }
    private let engine: Engine
    // The engine's parts every operation reaches, held here as well: a call through
    // `engine.tracker` retains and releases the tracker around it, and two workers doing so
    // on every operation pass the shared object's cache line between their cores. A call on
    // the mailbox's own constant reference retains nothing.
    private let tracker: Tracker
    private let clock: EngineClock
    private let counters: Counters
    private let pool: WorkerPool
    #if DEBUG
    private var machine = Machine()
    #else
    /// Release builds skip the run-time exclusivity bookkeeping on the machine, entered and
    /// left at every event: only this actor reaches it, and the machine's methods call nothing
    /// that can reach the mailbox (a job released in them may run a `deinit`, which cannot),
    /// so no access can overlap another; the debug builds the tests run still check.
    @exclusivity(unchecked) private var machine = Machine()
    #endif

    /// Submissions not yet taken into the line, with what submitters must know without
    /// entering the actor. A submitter appends here under the lock; the actor moves the
    /// entries into its state machine at the start of its next turn, so submitting to an
    /// object a worker is draining costs one lock and no actor hop.
    private struct Inbox: Sendable {
        var entries = Ring<Machine.Entry>()
        /// A turn of the actor is coming that will take the inbox in: a worker holds the
        /// running head, the mailbox is on the ready queue, or its worker holds the ready line
        /// between two turns. When `false`, the submitter that finds it so sets it and gives
        /// the actor a turn itself.
        var attended = false
        /// No turn is coming, but the line's head waits for a wake the timer was asked for,
        /// and the wake's turn takes the inbox in: a submission behind the head, which cannot
        /// change what the line does before then, needs no turn. The wake itself still sees
        /// an unattended mailbox and has it queued.
        var awaitingWake = false
        /// The mailbox left the directory; submitters must get a fresh one.
        var retired = false
        /// The failed operation blocking the object, mirrored for run-now refusals.
        var blockedBy: OperationID?
        /// The latest due time the timer woke the mailbox for, not yet taken into the line.
        var wake: Duration?
        /// The timer put the mailbox on the ready queue with that wake.
        var queuedByWake = false
    }

    private nonisolated let inbox = Locked(Inbox())
    /// The mailbox is on the ready queue, put there by the timer before its line knew the
    /// head was due: a `makeReady` until a worker's turn starts must not queue it again.
    private var queuedByWake = false

    /// A mailbox whose line starts as `machine` has it: empty, or opened with its first entry
    /// (see ``opening(_:engine:with:now:)``).
    init(key: MailboxDirectory.Key, engine: Engine, machine: Machine = Machine()) {
        self.directoryKey = key
        self.engine = engine
        tracker = engine.tracker
        clock = engine.clock
        counters = engine.counters
        pool = engine.pool
        self.machine = machine
        // What settle() would publish after this first turn: a ready line has a turn coming,
        // a delayed one its wake; an empty line neither.
        inbox.withLock { inbox in
            inbox.attended = machine.phase == .ready
            inbox.awaitingWake = machine.awaitsWake
        }
    }

    /// What the submitter of a line's first entry does for it, in place of the actor's turn.
    enum Opening: Sendable, Equatable {
        /// The entry is due: put the mailbox on the ready queue.
        case ready
        /// The entry is delayed: ask the timer to wake the mailbox at this due time.
        case wake(at: Duration)
    }

    /// A mailbox whose line starts with `entry`, already in it: the object's first submission
    /// costs no turn of the actor. The caller performs the returned opening. Only for an entry
    /// without pending dependencies, whose check needs the actor; `nil` for one with them.
    static func opening(_ key: MailboxDirectory.Key, engine: Engine, with entry: Machine.Entry, now: Duration) -> (Mailbox, Opening)? {
        guard entry.dependencies.isEmpty else { return nil }
        var machine = Machine()
        let opening: Opening
        switch machine.enqueue(entry, now: now) {
        case .accepted(.makeReady): opening = .ready
        case .accepted(.scheduleWake(let due)): opening = .wake(at: due)
        default: return nil
        }
        return (Mailbox(key: key, engine: engine, machine: machine), opening)
    }

    /// Begins a line opened with its first entry (see ``opening(_:engine:with:now:)``), outside the actor.
    nonisolated func begin(_ opening: Opening) {
        switch opening {
        case .ready: pool.enqueue(self)
        case .wake(let due): engine.timer.schedule(.wake(self), at: due)
        }
    }

    enum SubmitOutcome: Sendable {
        /// In the inbox; with `needsTurn`, the caller must call ``takeInbox()``. `ticket` is the
        /// journal ticket of the submission's record, when one was written.
        case accepted(needsTurn: Bool, ticket: UInt64?)
        case blocked(OperationID)
        case retired
    }

    /// What a worker needs of the entry it runs, with its context: the job and the counts
    /// its retry policy reads, not the whole entry (its dependencies, its due time), so a run
    /// passed from turn to turn copies no more than it uses.
    struct Run: Sendable {
        let id: OperationID
        let job: Job
        /// Attempts started in this retry round, this one included.
        let attemptsThisRound: Int
        let context: OperationContext
        /// The journal ticket of its start, when the body must not run before it is durable.
        var durableStart: UInt64?
        /// The sequence number `id` carries (last, where it takes no word of its own).
        let sequence: UInt32
        /// Its docket went away before it started (``Tracker/StartMark/refused``): its body
        /// does not run, and the attempt ends as cancelled.
        var refused = false
        /// Refused because its docket shut down (``Tracker/StartMark/closed``): the entry
        /// stays queued, as its waiters were told.
        var putBack = false

        /// The ID with its number, for the tracker.
        var key: SequencedID { SequencedID(id, sequence: sequence) }
    }

    /// What a worker learns when an attempt ends: the next head it started, if any, the
    /// notices for the supervisor, and whether it keeps the line, ready, for another turn.
    struct Completion: Sendable {
        var next: Run?
        var notices: [Supervisor.Notice] = []
        /// The line is ready for its next head and the worker keeps it, to claim it again.
        var heldReady = false
        /// What the line's machine asked for once the attempt ended, for the worker to
        /// perform: ``finish(_:result:keepDraining:holdsReadyLine:spares:)`` suspends nowhere, so
        /// an operation's end costs no async call of its own.
        var action = Machine.Action.none
    }

    // MARK: Submission and execution

    /// Appends a submission to the inbox, in submission order, without entering the actor.
    /// Its journal record, if any, is appended under the same lock: the inbox's order is the
    /// line's, so the journal keeps each object's submissions in the order they will run.
    nonisolated func submit(_ entry: Machine.Entry, journaling record: JournalRecord? = nil) -> SubmitOutcome {
        inbox.withLock { inbox in
            if inbox.retired { return .retired }
            if entry.runsNow, let failed = inbox.blockedBy { return .blocked(failed) }
            let ticket = record.flatMap { engine.journal?.append($0) }
            inbox.entries.append(entry)
            if inbox.attended || inbox.awaitingWake { return .accepted(needsTurn: false, ticket: ticket) }
            inbox.attended = true
            return .accepted(needsTurn: true, ticket: ticket)
        }
    }

    /// The turn a submitter gives an unattended mailbox: takes the inbox into the line.
    func takeInbox() async {
        await ingest()
        await settle()
    }

    /// A worker's turn: runs the head, and keeps running the line while it stays runnable,
    /// for up to ``TurnLimit/budget`` operations when other mailboxes are waiting for a worker.
    ///
    /// Operation bodies are `nonisolated(nonsending)`, so they run here, on this actor's
    /// executor: a run of operations costs no hop per operation. While a body is suspended
    /// the actor takes other events (a cancel, a deletion of queued followers, a wake), as it
    /// would between any two turns.
    ///
    /// A line that keeps its worker past the turn's budget (no other mailbox is waiting) ends
    /// the turn when its ``TurnLimit`` says, ready, with its next head waiting, not started,
    /// and off the ready queue: the worker gives its thread back and then calls `drain` again
    /// (``Turn/keepsLine``). In between, the actor is free, and a cancel or a deletion finds
    /// that head waiting and removes it before it runs, as it would on the ready queue.
    ///
    /// `spares` are the contexts the worker's last turn left over, for this turn's attempts;
    /// the turn hands back those it leaves over (``Turn/spares``).
    func drain(_ limit: TurnLimit, spares: consuming SpareContexts) async -> Turn {
        await ingest()
        // Taken off the ready queue (or held by its worker since its last turn, when no wake
        // can have queued it): this turn's claim is the one a wake's `makeReady` asked for.
        queuedByWake = false
        // Handed this line before the gate closed (a shutdown, or the end of a batch run): start
        // nothing, and put the line back on the ready queue, as a worker does when the gate
        // closes between two operations. Started now, the attempt could begin after a
        // shutdown counted the attempts running and returned.
        if machine.phase == .ready, !pool.keepsDraining(budgetLeft: true) {
            pool.enqueue(self)
            await settle()
            var turn = Turn()
            turn.spares = spares.takeAll()
            return turn
        }
        var next: Run?
        let now = clock.now()
        switch machine.claim(now: now) {
        case .run(let entry):
            next = start(entry, at: now, spares: &spares)
        case .then(let action):
            await perform(action)
        }
        var turn = Turn()
        // Each run moves from one operation to the next (out of the optional, out of the
        // completion): a copy would go through the input's value witnesses and retain the context.
        while let run = next.take() {
            let (result, ending) = await execute(run)
            turn.ran += 1
            // The inbox matters here only when the line holds nothing behind the running head:
            // otherwise the next head is in the line already, and what waits in the inbox
            // queues behind it. Leaving it there spares the submitters' lock a visit per
            // operation; the turn's settle() takes it in before the turn ends. An empty
            // inbox, the common case, is seen without an async call.
            if machine.line.count <= 1, let batch = inboxBatch() { await ingest(consume batch) }
            let budgetLeft = turn.ran < limit.budget
            let keepsLine = pool.keepsDraining(budgetLeft: budgetLeft)
            let keepDraining = keepsLine && (budgetLeft || limit.continuesPastBudget(after: turn.ran, alone: pool.runsAlone) { .now })
            var completion = finish(
                run, result: consume result, ending: ending, keepDraining: keepDraining, holdsReadyLine: keepsLine, spares: &spares)
            if completion.action != .none { await perform(completion.action) }
            for notice in completion.notices {
                await engine.supervisor.handle(notice)
            }
            next = completion.next.take()
            turn.keepsLine = completion.heldReady
            recycle(consume run, into: &spares)
        }
        await settle()
        turn.spares = spares.takeAll()
        return turn
    }

    /// What a worker's turn on a mailbox did.
    struct Turn: Sendable {
        /// How many operations ran.
        var ran = 0
        /// The line is ready, off the ready queue, and the worker keeps it: it claims it with
        /// another ``Mailbox/drain(_:spares:)``, or else puts it on the ready queue.
        var keepsLine = false
        /// Ended attempts' contexts no one else holds, for the worker's next turn.
        var spares = SpareContexts()
    }

    /// Up to two ended attempts' contexts that no one else holds. Two, because an attempt's
    /// end starts the next head before the ended run lets its context go: in a run of
    /// operations one context is always in flight while the other waits.
    struct SpareContexts: Sendable {
        private var first: OperationContext?
        private var second: OperationContext?

        mutating func take() -> OperationContext? {
            first.take() ?? second.take()
        }

        mutating func keep(_ context: OperationContext) {
            if first == nil { first = context } else if second == nil { second = context }
        }

        /// Moves every spare out, leaving none: a copy left behind would hold references that
        /// keep a recycled context from reading as held by no one else.
        mutating func takeAll() -> SpareContexts {
            defer { self = SpareContexts() }
            return self
        }
    }

    /// Runs one attempt's body, with its timeout armed; returns its result and how the
    /// attempt ended (cancelled, timed out), as its context settled it.
    // Inlined into `drain`: called, the actor-isolated function would switch to the actor on
    // entry and `drain` again on its return, two executor switches per operation that the
    // inlined body does without (`swift_task_switch` calls at 100 objects: 6.4 → 4.4 per operation).
    @inline(__always)
    private func execute(_ run: Run) async -> (Result<OperationPayload, any Error>, OperationContext.Ending) {
        // Refused (its docket went away): no body and no timeout; the attempt ends cancelled.
        if run.refused { return (.failure(CancellationError()), run.context.end()) }
        let definition = run.job.definition
        if let timeout = definition.timeout {
            engine.timer.schedule(.timeout(run.context), at: clock.now() + timeout)
        }
        let result: Result<OperationPayload, any Error>
        do {
            if let ticket = run.durableStart, let journal = engine.journal {
                // A crash after this point leaves a start on record, so a restart will not run it again.
                try await journal.store.waitDurable(ticket)
            }
            result = .success(try await definition.run(run.job.input, run.context, definition.contentType))
        } catch {
            result = .failure(error)
        }
        return (result, run.context.end())
    }

    /// Moves the inbox into the line. Every turn of the actor starts here, so the machine
    /// sees submissions in order before any other event.
    ///
    /// The whole batch joins the line before any action is performed: performing one may
    /// suspend (an action that reaches the supervisor, such as cancelling an entry whose
    /// dependency was deleted), and the actor then takes other
    /// events, such as a cancel of the entry just enqueued. Were the rest of the batch still
    /// held here, that cancel could empty the line and retire the mailbox with submissions
    /// that never joined it.
    private func ingest() async {
        // Consumed, not copied: a second reference to the batch's buffer would make the
        // first pop copy it.
        if let batch = inboxBatch() { await ingest(consume batch) }
    }

    /// What ``inboxBatch()`` moved out of the inbox: submissions in order, and the latest wake.
    private struct InboxBatch {
        /// In submission order; each moves out with `popFirst()`.
        var entries: Ring<Machine.Entry>
        let wake: Duration?
    }

    /// Moves the inbox's submissions and wake out under its lock; `nil` when it held neither.
    private func inboxBatch() -> InboxBatch? {
        var entries = Ring<Machine.Entry>()
        let (wake, queued) = inbox.withLock { inbox -> (Duration?, Bool) in
            // Swapped out, so the batch holds the only reference and its entries move out of it.
            swap(&entries, &inbox.entries)
            defer {
                inbox.wake = nil
                inbox.queuedByWake = false
            }
            return (inbox.wake, inbox.queuedByWake)
        }
        if queued { queuedByWake = true }
        if entries.isEmpty, wake == nil { return nil }
        return InboxBatch(entries: entries, wake: wake)
    }

    /// ``ingest()`` from a batch already taken, until the inbox is empty.
    private func ingest(_ first: consuming InboxBatch) async {
        var next: InboxBatch? = consume first
        while var batch = next.take() {
            let wake = batch.wake
            if !batch.entries.isEmpty, machine.phase == .retired { machine.revive() }
            // The first action is kept apart, so the common batch of one allocates nothing.
            var first = Machine.Action.none
            var actions: [Machine.Action] = []
            func collect(_ action: Machine.Action) {
                if action == .none { return }
                if first == .none { first = action } else { actions.append(action) }
            }
            let now = clock.now()
            var notices: [Supervisor.Notice] = []
            while let entry = batch.entries.popFirst() {
                let id = entry.id
                switch machine.enqueue(entry, now: now) {
                case .accepted(let action):
                    collect(action)
                case .refusedBlocked(let failed, let dependencies):
                    // Blocked after the submitter looked: the run-now caller learns it from its wait.
                    refuse(id, waitingFor: dependencies, blockedBy: failed, notices: &notices)
                case .retired:
                    preconditionFailure("a revived line accepts entries")
                }
            }
            // A wake is a time event: it follows the submissions taken in with it.
            if let wake { collect(machine.wake(at: wake, now: now)) }
            // Most batches, taken in while the line runs, ask for nothing: no async call then.
            if first != .none { await perform(first) }
            for action in actions { await perform(action) }
            for notice in notices { await engine.supervisor.handle(notice) }
            next = inboxBatch()
        }
    }

    /// Ends a turn: publishes whether a turn is still coming, the blocking operation, and
    /// retires the mailbox when its line is empty and nothing waits in the inbox.
    private func settle() async {
        while true {
            let phase = machine.phase
            let blockedBy = machine.blockedBy
            let awaitsWake = machine.awaitsWake
            let outcome = inbox.withLock { inbox -> (retire: Bool, pending: Bool) in
                inbox.blockedBy = blockedBy
                if !inbox.entries.isEmpty || inbox.wake != nil { return (false, true) }
                inbox.awaitingWake = awaitsWake
                switch phase {
                case .running, .ready:
                    inbox.attended = true
                case .retired:
                    inbox.attended = false
                    inbox.retired = true
                    return (true, false)
                case .idle, .waitingForDependencies, .blocked:
                    inbox.attended = false
                }
                return (false, false)
            }
            if outcome.retire {
                // The directory may keep the retired mailbox a while: a burst's line buffer
                // is given back now, a small one goes with the mailbox.
                machine.shedLineBuffer(above: MailboxDirectory.keptLineSlots)
                engine.directory.retire(self)
            }
            guard outcome.pending else { return }
            await ingest()
        }
    }

    /// With `holdsReadyLine`, a line left ready (its next head may run, but `keepDraining` is
    /// false) is not put on the ready queue: the worker keeps it (``Completion/heldReady``).
    private func finish(
        _ run: borrowing Run, result: consuming Result<OperationPayload, any Error>, ending: OperationContext.Ending,
        keepDraining: Bool, holdsReadyLine: Bool, spares: inout SpareContexts
    ) -> Completion {
        let id = run.id
        let putBack = run.putBack
        let now = clock.now()
        // Settled by the context's `end()` when the body returned.
        let timedOut = ending.isTimedOut
        var completion = Completion()
        let outcome: Machine.AttemptOutcome
        var encodedOutput: Data?
        if engine.journal != nil, !timedOut, case .success(let payload) = copy result {
            // With a journal, an output that cannot be encoded fails the operation, in memory as
            // in the journal, rather than succeeding in one and failing in the other.
            do {
                encodedOutput = try run.job.definition.encodeOutput(payload)
            } catch {
                result = .failure(OperationFailure(.thrown, "The output could not be encoded for the journal: \(error)"))
            }
        }
        // The result moves into the switch, so binding its payload copies nothing.
        switch consume result {
        case _ where putBack:
            // Never started, on record or in the journal: back to the queue it was counted in,
            // at the head of its line, which stops there.
            engine.claimQueuedSlot()
            outcome = .putBack
        case .success(let payload) where !timedOut:
            counters.succeeded()
            if tracker.markSucceeded(run.key, payload, encodedOutput: encodedOutput, at: now) { completion.notices.append(.dependencySucceeded(id)) }
            outcome = .done
        case .failure where ending.isCancelled && !timedOut:
            counters.cancelled()
            if tracker.markCancelled(run.key, reason: .cancelled) == true { completion.notices.append(.removed([id])) }
            outcome = .done
        case let ended:
            func timeout() -> OperationFailure {
                let limit = run.job.definition.timeout.map { " of \($0)" } ?? ""
                return OperationFailure(.timedOut, "The operation ran past its timeout\(limit).")
            }
            let failure: OperationFailure
            let retryable: Bool
            switch ended {
            case .failure(let error):
                failure = timedOut ? timeout() : .from(error)
                retryable = !(error is any NonRetryableError)
            case .success:
                failure = timeout()
                retryable = true
            }
            if retryable, let policy = run.job.definition.retryPolicy, run.attemptsThisRound < policy.maxAttempts {
                let due = now + policy.delay(afterAttempt: run.attemptsThisRound)
                counters.retried()
                engine.claimQueuedSlot()
                tracker.markRequeued(run.key, error: failure, due: due)
                outcome = .retry(at: due)
            } else {
                counters.failed()
                tracker.markFailed(run.key, failure)
                outcome = .failed
            }
        }

        switch machine.finish(id, outcome: outcome, now: now, keepDraining: keepDraining) {
        case .next(.run(let entry)):
            completion.next = start(entry, at: now, spares: &spares)
        case .next(.then(.makeReady)) where holdsReadyLine:
            completion.heldReady = true
        case .next(.then(let action)):
            completion.action = action
        case .blocked(let removed):
            for runNow in removed {
                refuse(runNow.id, waitingFor: runNow.dependencies, blockedBy: id, notices: &completion.notices)
            }
        }
        return completion
    }

    /// Removes a run-now submission its blocked object will not run: its queue slot is
    /// freed, and its caller, waiting for it, gets the blocked error naming `failed`. Adds
    /// to `notices` what the caller must tell the supervisor: operations that depend on it
    /// go, as for any operation removed without running, and so do its own registrations on
    /// the `dependencies` it still waited for.
    private func refuse(
        _ runNow: OperationID, waitingFor dependencies: [OperationID], blockedBy failed: OperationID,
        notices: inout [Supervisor.Notice]
    ) {
        engine.releaseQueuedSlot()
        if tracker.reject(runNow, with: .blocked(by: failed, key: key.description), awaited: true) {
            notices.append(.removed([runNow]))
        }
        if !dependencies.isEmpty { notices.append(.refused(runNow, dependencies: dependencies)) }
        engine.idempotency.refusedBeforeStart(runNow)
    }

    // MARK: Wakes and dependencies

    /// A due time the mailbox asked the timer for has come. Like a submission, the wake waits
    /// in the inbox and costs no actor hop: the timer wakes many mailboxes in a row, cold in
    /// memory, and entering each would serialise all their work on the timer. Returns `true`
    /// when no turn was coming: the caller puts the mailbox on the ready queue, and the worker
    /// that claims it takes the wake in first. The timer puts the mailboxes it woke on the
    /// queue in batches (see ``WorkerPool/enqueue(contentsOf:)``).
    nonisolated func wake(at due: Duration) -> Bool {
        inbox.withLock { inbox in
            // A retired line has nothing left to wake; a later line schedules its own wakes.
            if inbox.retired { return false }
            inbox.wake = Swift.max(inbox.wake ?? due, due)
            inbox.awaitingWake = false
            if inbox.attended { return false }
            inbox.attended = true
            inbox.queuedByWake = true
            return true
        }
    }

    func dependenciesChanged() async {
        await ingest()
        await perform(machine.dependenciesChanged())
        await settle()
    }

    // MARK: Retry, cancel, delete

    func retry(_ id: OperationID, replacing job: Job?, encoded: Data?) async throws {
        await ingest()
        let outcome = machine.retry(id, replacing: job, now: clock.now())
        if case .success(let action) = outcome {
            tracker.markRetried(id, correctedInput: encoded)
            engine.claimQueuedSlot()
            await perform(action)
        }
        await settle()
        switch outcome {
        case .success:
            return
        case .failure(.deletionInProgress):
            throw DocketError(.notRetryable, "Operation \(id) is being deleted, so it cannot be retried.", operationID: id)
        case .failure:
            throw DocketError(.notRetryable, "Operation \(id) is not failed, so it cannot be retried.", operationID: id)
        }
    }

    /// Restores a failed operation at the head of this (empty) line, blocking the object.
    /// Returns `nil` when the mailbox has retired (take a fresh one from the directory).
    func restoreFailed(_ entry: Machine.Entry) async -> Bool? {
        if inbox.withLock({ $0.retired }) { return nil }
        await ingest()
        let restored = machine.restoreFailed(entry)
        await settle()
        return restored
    }

    /// Removes a queued entry with the given reason. Returns `false` when it is not queued here.
    func cancelQueued(_ id: OperationID, reason: CancellationReason) async -> Bool {
        await ingest()
        let cancelled = await cancelInLine(id, reason: reason)
        await settle()
        return cancelled
    }

    /// ``cancelQueued(_:reason:)`` for the supervisor's cascade: returns every operation
    /// cancelled, the ones the line cancelled after it because a dependency broke included,
    /// for the cascade to report and follow (they are not sent to it as a notice).
    func cancelQueuedReporting(_ id: OperationID, reason: CancellationReason) async -> [OperationID] {
        await ingest()
        let broken = Broken()
        let cancelled = await Broken.$gathering.withValue(broken) { await cancelInLine(id, reason: reason) }
        await settle()
        return (cancelled ? [id] : []) + broken.ids
    }

    private func cancelInLine(_ id: OperationID, reason: CancellationReason) async -> Bool {
        switch machine.cancelQueued(id, now: clock.now()) {
        case .success(let action):
            engine.releaseQueuedSlot()
            tracker.markCancelled(id, reason: reason)
            engine.idempotency.leftLine(id)
            await perform(action)
            return true
        case .failure:
            return false
        }
    }

    /// Operations a line cancelled because a dependency broke, gathered for the supervisor
    /// while it deletes or cascades on the line: it reports and follows them itself.
    ///
    /// Bound to the supervisor's task for the call (``gathering``), so a worker's turn on the
    /// same line, interleaved at a suspension, still sends its own as notices. Neither the
    /// mailbox nor the turn's path pays for it: the task-local is read only when a
    /// dependency broke.
    private final class Broken: Sendable {
        @TaskLocal static var gathering: Broken?
        private let gathered = Mutex<[OperationID]>([])

        var ids: [OperationID] { gathered.withLock { $0 } }
        var count: Int { gathered.withLock { $0.count } }

        func insert(_ id: OperationID, at index: Int) {
            gathered.withLock { $0.insert(id, at: index) }
        }
    }

    func prepareDeletion(_ ids: Set<OperationID>, followers: FollowerPolicy?) async -> Machine.Refusal? {
        await ingest()
        let result = machine.prepareDeletion(ids, followers: followers)
        await settle()
        switch result {
        case .success: return nil
        case .failure(let refusal): return refusal
        }
    }

    /// Applies a prepared deletion. Returns what it removed, followed by the operations the
    /// line then cancelled because the deletion broke their dependencies.
    func commitDeletion(_ ids: Set<OperationID>, followers: FollowerPolicy?) async -> [(OperationID, CancellationReason)] {
        await ingest()
        let failedHead = machine.blockedBy
        let (removed, action) = machine.commitDeletion(ids, followers: followers, now: clock.now())
        for (id, reason) in removed {
            if id != failedHead { engine.releaseQueuedSlot() }
            tracker.markCancelled(id, reason: reason)
            engine.idempotency.leftLine(id)
        }
        let broken = Broken()
        await Broken.$gathering.withValue(broken) { await perform(action) }
        await settle()
        return removed + broken.ids.map { ($0, .dependencyDeleted) }
    }

    /// The entries a deletion in progress holds (for tests; reads the line, changes nothing).
    func heldEntries() -> [OperationID] {
        machine.line.filter(\.isHeld).map(\.id)
    }

    func releaseDeletion() async {
        await ingest()
        await perform(machine.releaseDeletion(now: clock.now()))
        await settle()
    }

    // MARK: Actions

    /// Starts `entry` at `now` (the clock as its turn came).
    /// The context comes from `spares` when they hold one.
    private func start(_ entry: consuming Machine.Start, at now: Duration, spares: inout SpareContexts) -> Run {
        if entry.runsNow { engine.idempotency.leftLine(entry.id) }
        let context: OperationContext
        if let spare = spares.take() {
            spare.reset(operationID: entry.id, attempt: entry.attempt)
            context = spare
        } else {
            context = OperationContext(operationID: entry.id, attempt: entry.attempt, tracker: tracker)
        }
        engine.releaseQueuedSlot()
        let key = SequencedID(entry.id, sequence: entry.sequence)
        let mark = tracker.markStarted(key, attempt: entry.attempt, context: context, at: now)
        var run = Run(id: entry.id, job: entry.job, attemptsThisRound: entry.attemptsThisRound, context: context, sequence: entry.sequence)
        switch mark {
        case .started(let ticket):
            // A body runs only once its records so far are durable, so a crash never loses an
            // operation whose body ran. An idempotent run-now operation is the exception: its
            // caller has not been answered, and running it twice does no harm.
            if let journal = engine.journal, journal.isDurable, !(entry.job.definition.isIdempotent && entry.runsNow) {
                run.durableStart = ticket
            }
        case .refused:
            run.refused = true
            context.requestCancellation()
        case .closed:
            run.refused = true
            run.putBack = true
            context.requestCancellation()
        }
        return run
    }

    /// Keeps an ended run's context for the next attempt when no one else holds it: the
    /// tracking record let it go when the attempt ended, so only a body that kept it, a
    /// timeout not yet fired or a cancel under way still can (``OperationContext/reset(operationID:attempt:)``).
    private func recycle(_ run: consuming Run, into spares: inout SpareContexts) {
        var context = run.context
        _ = consume run
        if context.isKnownUnique() { spares.keep(context) }
    }

    /// Cancels `id`, whose dependency broke, and sends it to the supervisor, or gathers it
    /// for the supervisor's call under way (``Broken``). Kept out of ``perform(_:)``, whose
    /// frame every turn allocates.
    private func cancelBroken(_ id: OperationID) async {
        let broken = Broken.gathering
        let position = broken?.count ?? 0
        guard await cancelInLine(id, reason: .dependencyDeleted) else { return }
        if let broken {
            // In the order cancelled: before the ones its cancellation broke in turn.
            broken.insert(id, at: position)
        } else {
            await engine.supervisor.handle(.removed([id]))
        }
    }

    private func perform(_ action: Machine.Action) async {
        var action = action
        while true {
            switch action {
            case .none:
                return
            case .makeReady:
                if !queuedByWake { pool.enqueue(self) }
                return
            case .scheduleWake(let due):
                engine.timer.schedule(.wake(self), at: due)
                return
            case .retire:
                // Retiring is decided in settle(), together with the inbox.
                return
            case .checkDependencies(let id, let dependencies):
                switch tracker.dependencyState(dependencies) {
                case .satisfied:
                    action = machine.dependencies(of: id, satisfied: true, now: clock.now())
                case .pending:
                    return
                case .broken:
                    await cancelBroken(id)
                    return
                }
            }
        }
    }
}
