/// The decisions of one object's line, free of concurrency: events in, actions out.
///
/// The line holds the object's queued operations in submission order. Its head runs
/// when it is due, its dependencies have succeeded, and the object is not blocked; a
/// failure keeps the failed operation at the head and blocks everything behind it until
/// a retry or a delete. ``Mailbox`` is the actor that owns one of these and performs the
/// actions it returns.
struct MailboxStateMachine<Job: Sendable>: Sendable {
    struct Entry: Sendable {
        let id: OperationID
        var job: Job
        /// ``due`` in clock nanoseconds: half the room of a `Duration`, in the entry every
        /// queued operation keeps in its line.
        private var dueNanoseconds: Int64
        /// Dependencies not yet known to have succeeded; cleared once they have.
        var dependencies: [OperationID]
        /// Attempts started so far.
        var attempt = 0
        /// `attempt` when the current retry round began (a manual retry starts a new round).
        var roundStart = 0
        // The two flags and the sequence number last, side by side: placed between the
        // wider fields, each would take a word of its own; here they fill the last one.
        /// A run-now entry is removed, not kept, when its object blocks before its turn.
        let runsNow: Bool
        /// Reserved by a deletion in progress: it must not start.
        var isHeld = false
        /// The sequence number `id` carries (``SequencedID``), for the tracker's lookups of the
        /// running entry; the machine only hands it on.
        let sequence: UInt32

        init(id: OperationID, sequence: UInt32, job: Job, due: Duration, dependencies: [OperationID] = [], runsNow: Bool = false) {
            self.id = id
            self.sequence = sequence
            self.job = job
            dueNanoseconds = due.nanoseconds
            self.dependencies = dependencies
            self.runsNow = runsNow
        }

        /// When the entry may start (clock offset): submission plus delay, or a retry's backoff.
        var due: Duration {
            get { .nanoseconds(dueNanoseconds) }
            set { dueNanoseconds = newValue.nanoseconds }
        }

        var attemptsThisRound: Int { attempt - roundStart }
    }

    enum Phase: Hashable, Sendable {
        /// Nothing is running or ready; the head waits for its due time, a release, or nothing is queued.
        case idle
        /// The mailbox sits in the ready queue, waiting for a worker, or its worker holds it
        /// between two turns (a lone busy line past its budget); either way a worker's
        /// ``claim(now:)`` comes next, and nothing else makes the line ready again.
        case ready
        /// The head is running.
        case running(OperationID)
        /// The head waits for its dependencies to succeed.
        case waitingForDependencies(OperationID)
        /// The head failed; nothing runs until it is retried or deleted.
        case blocked(OperationID)
        /// Empty and unblocked: the mailbox has left the directory and takes nothing more.
        case retired
    }

    /// What the owner of the state machine must do next.
    enum Action: Hashable, Sendable {
        case none
        /// Put the mailbox on the ready queue.
        case makeReady
        /// Ask the timer to wake the mailbox at this due time.
        case scheduleWake(Duration)
        /// Find out whether these dependencies of the head have all succeeded and report back.
        case checkDependencies(OperationID, [OperationID])
        /// Remove the mailbox from the directory.
        case retire
    }

    enum EnqueueResult: Sendable {
        case accepted(Action)
        /// A run-now entry is refused while the object is blocked by this failed operation;
        /// with the dependencies it waited for (registered with the supervisor).
        case refusedBlocked(OperationID, dependencies: [OperationID])
        case retired
    }

    /// What a worker needs of the head it starts. The head itself stays in the line while
    /// it runs (a retry or a failure keeps it at the head; ``finish(_:outcome:now:keepDraining:)``
    /// removes it once it is done), so only these fields are copied out, not its due time
    /// or dependencies.
    struct Start: Sendable {
        let id: OperationID
        let job: Job
        /// Attempts started so far, this one included.
        let attempt: Int
        /// Attempts started in this retry round, this one included.
        let attemptsThisRound: Int
        let runsNow: Bool
        /// The sequence number `id` carries (last, where it takes no word of its own).
        let sequence: UInt32
    }

    enum Next: Sendable {
        /// Run this head now (the phase is `running` for it).
        case run(Start)
        case then(Action)
    }

    enum AttemptOutcome: Hashable, Sendable {
        /// Succeeded or cancelled: the entry leaves the line.
        case done
        /// Failed with attempts left: the entry stays at the head, due again at this time.
        case retry(at: Duration)
        /// Failed for good: the object blocks.
        case failed
        /// Never started: its docket shut down and closed its queue (``Tracker/StartMark/closed``).
        /// The attempt is taken back and the line stays ready, off the queue, asking for
        /// nothing: nothing in this process runs it.
        case putBack
    }

    enum FinishResult: Sendable {
        case next(Next)
        /// The object is now blocked; these run-now entries were removed from the line, each
        /// with the dependencies it still waited for (registered with the supervisor).
        case blocked(removedRunNow: [(id: OperationID, dependencies: [OperationID])])
    }

    enum Refusal: Hashable, Sendable, Error {
        case notInLine(OperationID)
        case running(OperationID)
        case notBlockedBy(OperationID)
        case failed(OperationID)
        case followerChoiceRequired(failed: OperationID, followers: Int)
        /// A deletion holds the entry; it can be neither retried nor deleted again until it ends.
        case deletionInProgress(OperationID)
    }

    private(set) var line = Ring<Entry>()
    private(set) var phase: Phase = .idle
    /// The earliest due time the timer was asked to wake the mailbox at.
    private var armedWake: Duration?

    init() {}

    /// The ID of the line's head, read in place.
    private var headID: OperationID? {
        line.isEmpty ? nil : line[0].id
    }

    /// The line is idle and its head waits for a wake the timer was asked for: that wake
    /// brings a turn, so entries submitted behind the head need no turn of their own.
    var awaitsWake: Bool {
        phase == .idle && armedWake != nil && !line.isEmpty
    }

    var blockedBy: OperationID? {
        if case .blocked(let id) = phase { return id }
        return nil
    }

    // MARK: Events

    mutating func enqueue(_ entry: consuming Entry, now: Duration) -> EnqueueResult {
        switch phase {
        case .retired:
            return .retired
        case .blocked(let failed) where entry.runsNow:
            return .refusedBlocked(failed, dependencies: entry.dependencies)
        default:
            line.append(entry)
            return .accepted(advance(now: now))
        }
    }

    /// A failed operation restored from a journal: it heads an empty line and blocks it, as
    /// it did before the restart. Returns `false` (changing nothing) when the line is not empty.
    mutating func restoreFailed(_ entry: Entry) -> Bool {
        guard line.isEmpty, phase == .idle else { return false }
        phase = .blocked(entry.id)
        line.append(entry)
        return true
    }

    /// Gives back an empty line's buffer when it has more than `slots` slots: a retired
    /// line's mailbox may be kept a while before it is released
    /// (``MailboxDirectory/retire(_:)``), and should not keep a burst's buffer with it.
    mutating func shedLineBuffer(above slots: Int) {
        if line.isEmpty, line.capacity > slots { line = Ring() }
    }

    /// A retired line that must take entries after all (submitted while it retired) starts over idle.
    mutating func revive() {
        if phase == .retired { phase = .idle }
    }

    /// A worker took the mailbox from the ready queue.
    mutating func claim(now: Duration) -> Next {
        guard phase == .ready else { return .then(.none) }
        phase = .idle
        return startIfReady(advance(now: now))
    }

    /// The running head's attempt ended.
    mutating func finish(_ id: OperationID, outcome: AttemptOutcome, now: Duration, keepDraining: Bool) -> FinishResult {
        guard phase == .running(id), headID == id else { return .next(.then(.none)) }
        switch outcome {
        case .done:
            line.popFirst()
            phase = .idle
        case .retry(let due):
            line[0].due = due
            phase = .idle
        case .failed:
            phase = .blocked(id)
            let removed = line.removeAll { $0.runsNow && $0.id != id }
            return .blocked(removedRunNow: removed.map { ($0.id, $0.dependencies) })
        case .putBack:
            line[0].attempt -= 1
            phase = .ready
            return .next(.then(.none))
        }
        let action = advance(now: now)
        guard keepDraining else { return .next(.then(action)) }
        return .next(startIfReady(action))
    }

    /// The timer fired for a due time this mailbox asked for (the latest, when it fired for
    /// several before the line heard of them: every one at or before it has fired).
    mutating func wake(at due: Duration, now: Duration) -> Action {
        if let armed = armedWake, armed <= due { armedWake = nil }
        return advance(now: now)
    }

    /// The owner checked the head's dependencies.
    mutating func dependencies(of id: OperationID, satisfied: Bool, now: Duration) -> Action {
        guard phase == .waitingForDependencies(id), headID == id else { return .none }
        guard satisfied else { return .none }
        line[0].dependencies = []
        phase = .idle
        return advance(now: now)
    }

    /// Some dependency somewhere changed; re-check the head's if it waits on them.
    mutating func dependenciesChanged() -> Action {
        guard case .waitingForDependencies(let id) = phase, headID == id else { return .none }
        return .checkDependencies(id, line[0].dependencies)
    }

    /// Retry the failed head, optionally with a replacement job (corrected input).
    mutating func retry(_ id: OperationID, replacing job: Job?, now: Duration) -> Result<Action, Refusal> {
        guard phase == .blocked(id), headID == id else { return .failure(.notBlockedBy(id)) }
        guard !line[0].isHeld else { return .failure(.deletionInProgress(id)) }
        if let job { line[0].job = job }
        line[0].due = now
        line[0].roundStart = line[0].attempt
        phase = .idle
        return .success(advance(now: now))
    }

    /// Cancel a queued entry.
    mutating func cancelQueued(_ id: OperationID, now: Duration) -> Result<Action, Refusal> {
        if phase == .running(id) { return .failure(.running(id)) }
        if phase == .blocked(id) { return .failure(.failed(id)) }
        guard line.firstIndex(where: { $0.id == id }) != nil else { return .failure(.notInLine(id)) }
        return .success(remove([id], now: now))
    }

    /// Check and reserve a deletion: every ID must be queued here or be the failed head, and a
    /// failed head with followers outside the set needs a follower policy. Reserved entries do
    /// not start until the deletion is committed or released.
    mutating func prepareDeletion(_ ids: Set<OperationID>, followers: FollowerPolicy?) -> Result<Void, Refusal> {
        for id in ids {
            if phase == .running(id) { return .failure(.running(id)) }
            guard line.firstIndex(where: { $0.id == id }) != nil else { return .failure(.notInLine(id)) }
        }
        if let failed = blockedBy, ids.contains(failed) {
            let untouched = line.dropFirst().filter { !ids.contains($0.id) }.count
            if untouched > 0 && followers == nil {
                return .failure(.followerChoiceRequired(failed: failed, followers: untouched))
            }
        }
        let cascade = followers == .cascade && blockedBy.map(ids.contains) == true
        // A reservation is one mark per entry, not one per deletion, so no entry may be held
        // by two. The supervisor runs deletions of one object one at a time, which is what
        // keeps the marks apart (a release or commit clears the whole line's); this refusal
        // only keeps a second reservation from sharing an entry.
        if let taken = line.first(where: { $0.isHeld && (cascade || ids.contains($0.id)) }) {
            return .failure(.deletionInProgress(taken.id))
        }
        for offset in 0..<line.count where cascade || ids.contains(line[offset].id) {
            line[offset].isHeld = true
        }
        return .success(())
    }

    /// Apply a prepared deletion in one step: queued entries first, then the failed head and,
    /// when cascading, everything behind it.
    mutating func commitDeletion(
        _ ids: Set<OperationID>, followers: FollowerPolicy?, now: Duration
    ) -> (removed: [(OperationID, CancellationReason)], action: Action) {
        var removed: [(OperationID, CancellationReason)] = []
        let failed = blockedBy.flatMap { ids.contains($0) ? $0 : nil }
        let queued = line.dropFirst(failed == nil ? 0 : 1).filter { ids.contains($0.id) }.map(\.id)
        removed += queued.map { ($0, .deleted) }
        var toRemove = Set(queued)
        if let failed {
            if followers == .cascade {
                // Only the followers reserved when the deletion was checked: later arrivals stay.
                let rest = line.dropFirst().filter { $0.isHeld && !toRemove.contains($0.id) }.map(\.id)
                removed += rest.map { ($0, .cascade) }
                toRemove.formUnion(rest)
            }
            removed.append((failed, .deleted))
            toRemove.insert(failed)
            phase = .idle
        }
        for offset in 0..<line.count { line[offset].isHeld = false }
        return (removed, remove(toRemove, now: now))
    }

    /// Drop a reservation that was not committed.
    mutating func releaseDeletion(now: Duration) -> Action {
        for offset in 0..<line.count { line[offset].isHeld = false }
        return advance(now: now)
    }

    // MARK: Decisions

    private mutating func remove(_ ids: Set<OperationID>, now: Duration) -> Action {
        _ = line.removeAll { ids.contains($0.id) }
        if case .waitingForDependencies(let head) = phase, ids.contains(head) { phase = .idle }
        if case .blocked(let head) = phase, ids.contains(head) { phase = .idle }
        return advance(now: now)
    }

    private mutating func startIfReady(_ action: Action) -> Next {
        guard action == .makeReady, !line.isEmpty else { return .then(action) }
        line[0].attempt += 1
        let head = line[0].id
        phase = .running(head)
        return .run(Start(
            id: head, job: line[0].job, attempt: line[0].attempt, attemptsThisRound: line[0].attemptsThisRound,
            runsNow: line[0].runsNow, sequence: line[0].sequence))
    }

    /// Decide what the idle line does next.
    private mutating func advance(now: Duration) -> Action {
        guard phase == .idle else { return .none }
        guard !line.isEmpty else {
            phase = .retired
            return .retire
        }
        // The head is read field by field in place: copying it out would retain its job.
        if line[0].isHeld { return .none }
        let due = line[0].due
        if due > now {
            // One wake at or before the head's due time is enough: an earlier one re-decides.
            if let armed = armedWake, armed <= due { return .none }
            armedWake = due
            return .scheduleWake(due)
        }
        if !line[0].dependencies.isEmpty {
            phase = .waitingForDependencies(line[0].id)
            return .checkDependencies(line[0].id, line[0].dependencies)
        }
        phase = .ready
        return .makeReady
    }
}
