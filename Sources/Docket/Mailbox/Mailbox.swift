/// The serial line of one business object (or of one independent operation).
///
/// A thin actor around ``MailboxStateMachine``: every method feeds the machine an event and
/// performs the actions it returns: tracking updates, the ready queue, timer wakes,
/// dependency checks, and retiring from the directory.
actor Mailbox {
    typealias Machine = MailboxStateMachine<Job>

    nonisolated let key: ObjectKey
    private let engine: Engine
    private var machine = Machine()

    init(key: ObjectKey, engine: Engine) {
        self.key = key
        self.engine = engine
    }

    enum EnqueueOutcome: Sendable {
        case accepted
        case blocked(OperationID)
        case retired
    }

    /// An entry a worker is to run, with its context.
    struct Run: Sendable {
        let entry: Machine.Entry
        let context: OperationContext
    }

    /// What a worker learns when an attempt ends.
    struct Completion: Sendable {
        var next: Run?
        var notices: [Supervisor.Notice] = []
    }

    // MARK: Submission and execution

    func enqueue(_ entry: Machine.Entry) async -> EnqueueOutcome {
        switch machine.enqueue(entry, now: engine.clock.now()) {
        case .retired: return .retired
        case .refusedBlocked(let failed): return .blocked(failed)
        case .accepted(let action):
            await perform(action)
            return .accepted
        }
    }

    func claim() async -> Run? {
        switch machine.claim(now: engine.clock.now()) {
        case .run(let entry):
            return start(entry)
        case .then(let action):
            await perform(action)
            return nil
        }
    }

    func complete(_ run: Run, result: Result<OperationPayload, any Error>, keepDraining: Bool) async -> Completion {
        let id = run.entry.id
        let context = run.context
        let now = engine.clock.now()
        var completion = Completion()
        let outcome: Machine.AttemptOutcome
        switch result {
        case .success(let payload) where !context.isTimedOut:
            engine.counters.succeeded()
            if engine.tracker.markSucceeded(id, payload) { completion.notices.append(.dependencySucceeded(id)) }
            outcome = .done
        case .failure where context.isCancelled && !context.isTimedOut:
            engine.counters.cancelled()
            if engine.tracker.markCancelled(id, reason: .cancelled) == true { completion.notices.append(.removed([id])) }
            outcome = .done
        default:
            let failure: OperationFailure
            switch result {
            case .failure(let error) where !context.isTimedOut: failure = .from(error)
            default:
                let limit = run.entry.job.definition.timeout.map { " of \($0)" } ?? ""
                failure = OperationFailure(.timedOut, "The operation ran past its timeout\(limit).")
            }
            if let policy = run.entry.job.definition.retryPolicy, run.entry.attemptsThisRound < policy.maxAttempts {
                let due = now + policy.delay(afterAttempt: run.entry.attemptsThisRound)
                engine.counters.retried()
                engine.claimQueuedSlot()
                engine.tracker.markRequeued(id, error: failure, due: due)
                outcome = .retry(at: due)
            } else {
                engine.counters.failed()
                engine.tracker.markFailed(id, failure)
                outcome = .failed
            }
        }
        switch machine.finish(id, outcome: outcome, now: now, keepDraining: keepDraining) {
        case .next(.run(let entry)):
            completion.next = start(entry)
        case .next(.then(let action)):
            await perform(action)
        case .blocked(let removed):
            for runNow in removed {
                engine.releaseQueuedSlot()
                engine.tracker.reject(runNow, with: .blocked(by: id, key: key.description))
            }
        }
        return completion
    }

    // MARK: Wakes and dependencies

    func wake(at due: Duration) async {
        await perform(machine.wake(at: due, now: engine.clock.now()))
    }

    func dependenciesChanged() async {
        await perform(machine.dependenciesChanged())
    }

    // MARK: Retry, cancel, delete

    func retry(_ id: OperationID, replacing job: Job?) async throws {
        switch machine.retry(id, replacing: job, now: engine.clock.now()) {
        case .success(let action):
            engine.tracker.markRetried(id)
            engine.claimQueuedSlot()
            await perform(action)
        case .failure(.deletionInProgress):
            throw DocketError(.notRetryable, "Operation \(id) is being deleted, so it cannot be retried.", operationID: id)
        case .failure:
            throw DocketError(.notRetryable, "Operation \(id) is not failed, so it cannot be retried.", operationID: id)
        }
    }

    /// Removes a queued entry with the given reason. Returns `false` when it is not queued here.
    func cancelQueued(_ id: OperationID, reason: CancellationReason) async -> Bool {
        switch machine.cancelQueued(id, now: engine.clock.now()) {
        case .success(let action):
            engine.releaseQueuedSlot()
            engine.tracker.markCancelled(id, reason: reason)
            await perform(action)
            return true
        case .failure:
            return false
        }
    }

    func prepareDeletion(_ ids: Set<OperationID>, followers: FollowerPolicy?) -> Machine.Refusal? {
        switch machine.prepareDeletion(ids, followers: followers) {
        case .success: return nil
        case .failure(let refusal): return refusal
        }
    }

    func commitDeletion(_ ids: Set<OperationID>, followers: FollowerPolicy?) async -> [(OperationID, CancellationReason)] {
        let failedHead = machine.blockedBy
        let (removed, action) = machine.commitDeletion(ids, followers: followers, now: engine.clock.now())
        for (id, reason) in removed {
            if id != failedHead { engine.releaseQueuedSlot() }
            engine.tracker.markCancelled(id, reason: reason)
        }
        await perform(action)
        return removed
    }

    func releaseDeletion() async {
        await perform(machine.releaseDeletion(now: engine.clock.now()))
    }

    // MARK: Actions

    private func start(_ entry: Machine.Entry) -> Run {
        let context = OperationContext(operationID: entry.id, attempt: entry.attempt, tracker: engine.tracker)
        engine.releaseQueuedSlot()
        engine.tracker.markStarted(entry.id, attempt: entry.attempt, context: context)
        return Run(entry: entry, context: context)
    }

    private func perform(_ action: Machine.Action) async {
        var action = action
        while true {
            switch action {
            case .none:
                return
            case .makeReady:
                engine.makeReady(self)
                return
            case .scheduleWake(let due):
                await engine.timer.schedule(.wake(self), at: due)
                return
            case .retire:
                engine.directory.retire(self)
                return
            case .checkDependencies(let id, let dependencies):
                switch engine.tracker.dependencyState(dependencies) {
                case .satisfied:
                    action = machine.dependencies(of: id, satisfied: true, now: engine.clock.now())
                case .pending:
                    return
                case .broken:
                    if await cancelQueued(id, reason: .dependencyDeleted) {
                        await engine.supervisor.handle(.removed([id]))
                    }
                    return
                }
            }
        }
    }
}
