import Foundation
import Synchronization

/// The tracking records of every live operation, in 64 lock-protected shards keyed by ID.
///
/// Lookups are synchronous and take one uncontended lock, so status polling stays cheap
/// under load. Every change of an operation's tracked state goes through this type.
final class Tracker: Sendable {
    private final class Shard: Sendable {
        let state: Locked<ShardState>
        /// The last sequence number drawn for an ID of this shard (see ``Tracker/mintID()``).
        let sequence = Atomic<UInt64>(0)
        init(tombstoneLifetime: Int64, journal: JournalWriter?, cipher: SequenceCipher) {
            // A refusal waits for a caller that is about to ask: at least a minute, whatever
            // the tombstone window (which may be zero).
            let rejectionLifetime = Swift.max(tombstoneLifetime, 60_000_000_000)
            state = Locked(ShardState(records: RecordTable(cipher: cipher), tombstones: TombstoneTable(lifetime: tombstoneLifetime, cipher: cipher), rejectionLifetime: rejectionLifetime, journal: journal))
        }
    }

    struct Counts: Sendable {
        var queued = 0
        var running = 0
        var succeeded = 0
        var failed = 0
        var tombstones = 0
    }

    private struct ShardState: Sendable {
        /// Live records; also the index of when their results expire.
        var records: RecordTable
        var tombstones: TombstoneTable
        var counts = Counts()
        /// Run-now operations refused before their caller started waiting (their object
        /// blocked before their turn): the answer that caller is about to wait for, and any
        /// other wait for the same ID, until the tombstone window (at least a minute) ends.
        var rejections: [OperationID: Rejection] = [:]
        /// The earliest expiry among `rejections`, `Int64.max` for none: sweeps look at the
        /// dictionary only once it has passed.
        var rejectionsExpire = Int64.max
        /// Submissions since the last sweep of expired results (see ``insert(_:_:at:)``).
        var insertsSinceSweep = 0
        let rejectionLifetime: Int64
        /// Where state changes are written, under the shard lock, so one operation's records
        /// reach the journal in the order its changes happened.
        let journal: JournalWriter?

        /// The refusal kept for `id`, unless its time has passed (`now` in nanoseconds).
        func rejection(_ id: OperationID, now: Int64) -> Rejection? {
            guard let rejection = rejections[id], rejection.expires > now else { return nil }
            return rejection
        }

        /// Keeps `error` as the answer for `id` (owned by `owner`) for the refusals' lifetime.
        mutating func keepRejection(_ id: OperationID, _ error: DocketError, owner: String?, now: Int64) {
            let expires = now &+ rejectionLifetime
            rejections[id] = Rejection(error: error, owner: owner, expires: expires)
            rejectionsExpire = Swift.min(rejectionsExpire, expires)
        }
    }

    private struct Rejection: Sendable {
        let error: DocketError
        let owner: String?
        let expires: Int64
    }

    /// Side effects collected under a shard lock and performed after it is released: finishing
    /// a stream runs its termination handler, which takes the shard's lock to remove its
    /// observer, and a resumed waiter must not run under the lock. Events are yielded under
    /// the lock instead (``emit(_:_:)``).
    private struct Deferred {
        var finishing: [AsyncStream<OperationEvent>.Continuation] = []
        var resumptions: [(UnsafeContinuation<WaitResolution, Never>, WaitResolution)] = []

        /// Resumes each of `waiters` with `resolution`, once the lock is released.
        mutating func release(_ waiters: [TrackingRecord.Waiter], with resolution: WaitResolution) {
            for waiter in waiters { resumptions.append((waiter.continuation, resolution)) }
        }

        func perform() {
            for continuation in finishing { continuation.finish() }
            for (continuation, resolution) in resumptions { continuation.resume(returning: resolution) }
        }
    }

    let clock: EngineClock
    let unreadResultLifetime: Duration
    /// The registered operations' names by ordinal, to name the operation of a tombstone.
    let names: [String]
    private let shards: [Shard]
    /// How this docket's IDs carry their shards' sequence numbers (``mintID()``).
    let cipher: SequenceCipher
    private let tokens = Atomic<UInt64>(0)
    /// What has closed for good (``Closing``): one flag word, so that an update reads it with
    /// one load under its shard's lock and hands it to its body.
    private let closing = Atomic<UInt8>(0)
    /// Every running attempt was asked to stop (``cancelAllRunning()``, a shutdown past its
    /// grace period): an attempt that starts from then on is asked as it starts.
    private let cancelsStarts = Atomic<Bool>(false)

    /// What has closed for good in this docket.
    struct Closing: OptionSet, Sendable {
        let rawValue: UInt8
        /// The docket went away (``Tracker/abandon()``): no attempt starts and no cancellation
        /// is journaled from then on.
        static let abandoned = Closing(rawValue: 1)
        /// The docket shut down (``Tracker/closeQueued()``): no queued operation runs in this
        /// process, so no queued attempt starts, and a wait for one ends at once.
        static let queue = Closing(rawValue: 2)
    }

    /// ``closing``, read; under a shard's lock where it decides.
    private var closed: Closing { Closing(rawValue: closing.load(ordering: .relaxed)) }

    let journal: JournalWriter?

    init(clock: EngineClock, unreadResultLifetime: Duration, tombstoneLifetime: Duration, names: [String], journal: JournalWriter? = nil) {
        self.clock = clock
        self.journal = journal
        self.unreadResultLifetime = unreadResultLifetime
        self.names = names
        let lifetime = tombstoneLifetime.nanoseconds
        let cipher = SequenceCipher.random()
        self.cipher = cipher
        shards = (0..<64).map { _ in Shard(tombstoneLifetime: lifetime, journal: journal, cipher: cipher) }
    }

    private func shard(_ id: OperationID) -> Shard { shards[id.shardIndex] }

    /// Draws the ID of a new operation: 102 bits from the secure random source, among them the
    /// six that choose its shard, and in the 26 bits above those the shard's next sequence
    /// number, enciphered with this docket's keys. The number is returned with the ID, and the
    /// record table places the record by it, beside the one submitted before it in that shard
    /// (``RecordTable``); later calls decipher it from the ID once each. To anyone else it
    /// reads as random.
    func mintID() -> SequencedID {
        let drawn = OperationID.random()
        let sequence = UInt32(truncatingIfNeeded: shard(drawn).sequence.add(1, ordering: .relaxed).newValue & (SequenceCipher.count - 1))
        return SequencedID(cipher.id(drawn, carrying: UInt64(sequence)), sequence: sequence)
    }

    func nextToken() -> UInt64 {
        tokens.add(1, ordering: .relaxed).newValue
    }

    /// Runs `body` on the record of `id` with its shard's counts and journal, performing the
    /// side effects it collects after unlocking. The body cannot reach the table, so the
    /// record stays where it was found and its slot is refreshed there. Its last argument
    /// says what has closed (``Closing``), read under the shard's lock.
    private func update<T>(
        _ id: OperationID, _ body: (inout TrackingRecord, inout Deferred, inout Counts, JournalWriter?, Closing) -> T
    ) -> T? {
        update(SequencedID(id, cipher: cipher), body)
    }

    /// The update of the `OperationID` overload, with the ID's sequence number known.
    private func update<T>(
        _ key: SequencedID, _ body: (inout TrackingRecord, inout Deferred, inout Counts, JournalWriter?, Closing) -> T
    ) -> T? {
        var deferred = Deferred()
        let result = shard(key.id).state.withLock { state -> T? in
            guard let (position, box) = state.records.locate(key) else { return nil }
            let result = body(&box.record, &deferred, &state.counts, state.journal, closed)
            state.records.refresh(at: position, from: box)
            return result
        }
        deferred.perform()
        return result
    }

    /// Yields `event` to the record's observers, under its shard's lock: yielded after
    /// unlocking, two changes accepted in one order (two progress reports from one body's
    /// child tasks) could reach an observer in the other, and progress would go backwards.
    /// A yield only buffers the event or resumes the consumer's task on its executor; it
    /// runs no handler that could take the lock.
    private static func emit(_ event: OperationEvent, _ record: TrackingRecord) {
        emit(event, to: record.observers)
    }

    private static func emit(
        _ event: OperationEvent, to observers: [(token: UInt64, continuation: AsyncStream<OperationEvent>.Continuation)]
    ) {
        for observer in observers { observer.continuation.yield(event) }
    }

    // MARK: Submission

    /// Adds a submission's record; `now` is the submission's clock reading, also used to
    /// sweep expired results from the shard: two slots per submission, taken as 64 slots
    /// every 32nd submission. The sweep's cursor is a cache miss of its own whenever it is
    /// read (a shard sees one submission in 64), so one run of 64 adjacent slots costs
    /// about what two slots read at every submission did, once instead of 32 times.
    func insert(_ key: SequencedID, _ record: TrackingRecord, at now: Duration) {
        shard(key.id).state.withLock { state in
            state.records.insert(record, for: key)
            state.counts.queued += 1
            state.insertsSinceSweep += 1
            if state.insertsSinceSweep == Self.sweepEvery {
                state.insertsSinceSweep = 0
                Self.sweep(&state, now: now, limit: 2 * Self.sweepEvery)
            }
        }
    }

    /// How many submissions to a shard come between two sweeps of its expired results.
    static let sweepEvery = 32

    // MARK: Recovery

    /// Puts back a record rebuilt from the journal, with its counts and result expiry.
    /// Writes nothing to the journal: the record is what the journal already says. The
    /// shard's IDs go on from the restored sequence numbers, so new records do not claim
    /// the restored ones' slots.
    func restore(_ id: OperationID, _ record: TrackingRecord, success: OperationPayload? = nil) {
        shard(id).sequence.max(UInt64(cipher.sequence(of: id)), ordering: .relaxed)
        shard(id).state.withLock { state in
            state.records.insert(record, for: id, success: success)
            switch record.state {
            case .waiting, .delayed: state.counts.queued += 1
            case .running: state.counts.running += 1
            case .succeeded: state.counts.succeeded += 1
            case .failed: state.counts.failed += 1
            case .cancelled: break
            }
        }
    }

    /// Whether `id`'s live record has allocated its side box, `nil` for no live record (for tests).
    func hasSideBox(_ id: OperationID) -> Bool? {
        shard(id).state.withLock { state in state.records.box(id)?.record.hasSideBox }
    }

    /// Whether `id` has a live record (not a tombstone).
    func isLive(_ id: OperationID) -> Bool {
        let key = SequencedID(id, cipher: cipher)
        return shard(id).state.withLock { $0.records[key] != nil }
    }

    /// Puts back the tombstone of an operation that ended at `at` (a clock offset, negative
    /// when before this docket started).
    func restoreTombstone(_ id: OperationID, definition: ErasedDefinition, owner: String?, state: OperationState, consumed: Bool, at: Duration) {
        let tombstone = Tombstone(definition: definition.ordinal, owner: owner, state: state, consumed: consumed)
        shard(id).state.withLock { $0.tombstones.bury(id, tombstone, now: at.nanoseconds) }
    }

    /// Checks declared dependencies at submission: each must be visible to `owner` and not
    /// cancelled. Only once all pass are the unfinished ones marked as having dependents: a
    /// refused submission marks nothing. Returns the ones that have not succeeded.
    func registerDependencies(_ dependencies: [OperationID], owner: String?) throws -> [OperationID] {
        guard !dependencies.isEmpty else { return [] }
        for dependency in dependencies {
            if case .failure(let error) = dependencyAnswer(dependency, owner: owner, marking: false) { throw error }
        }
        // Checked again as each is marked: one may have ended in between.
        var pending: [OperationID] = []
        for dependency in dependencies {
            switch dependencyAnswer(dependency, owner: owner, marking: true) {
            case .success(true): break
            case .success(false): pending.append(dependency)
            case .failure(let error): throw error
            }
        }
        return pending
    }

    /// Whether `dependency` has succeeded, or why `owner` cannot depend on it; with
    /// `marking`, an unfinished one is marked as having dependents.
    private func dependencyAnswer(_ dependency: OperationID, owner: String?, marking: Bool) -> Result<Bool, DocketError> {
        let now = clock.nowNanoseconds()
        let key = SequencedID(dependency, cipher: cipher)
        return shard(dependency).state.withLock { state -> Result<Bool, DocketError> in
            if let box = state.records.box(key), box.record.owner == owner {
                if box.record.state == .succeeded { return .success(true) }
                // No slot mirrors it (``RecordTable/Glance``): no refresh is due.
                if marking { box.record.hasDependents = true }
                return .success(false)
            }
            if let tombstone = state.tombstones.tombstone(key, now: now), tombstone.isOwned(by: owner) {
                if tombstone.state == .succeeded { return .success(true) }
                return .failure(DocketError(
                    .unknownDependency,
                    "Dependency \(dependency) was \(tombstone.state); an operation cannot depend on it. Submit without it or on a live operation.",
                    operationID: dependency))
            }
            if let rejection = state.rejection(dependency, now: now), rejection.owner == owner {
                return .failure(DocketError(
                    .unknownDependency,
                    "Dependency \(dependency) was refused before it ran and will not run (\(rejection.error.message)); an operation cannot depend on it. Submit without it or on a live operation.",
                    operationID: dependency))
            }
            return .failure(DocketError(
                .unknownDependency,
                "Dependency \(dependency) is not an operation visible to this owner. Depend only on operations you submitted.",
                operationID: dependency))
        }
    }

    enum DependencyState: Sendable {
        /// Every dependency has succeeded.
        case satisfied
        /// Some dependency is still queued, running, or failed (and may yet be retried).
        case pending
        /// Some dependency was cancelled or deleted: it will never succeed.
        case broken
    }

    func dependencyState(_ dependencies: [OperationID]) -> DependencyState {
        let now = clock.nowNanoseconds()
        var result = DependencyState.satisfied
        for dependency in dependencies {
            let key = SequencedID(dependency, cipher: cipher)
            let state = shard(dependency).state.withLock { state -> DependencyState in
                if let box = state.records.box(key) { return box.record.state == .succeeded ? .satisfied : .pending }
                if case .cancelled = state.tombstones.tombstone(key, now: now)?.state { return .broken }
                // A run-now operation refused before it ran (its object blocked) never succeeds.
                if state.rejection(key.id, now: now) != nil { return .broken }
                // Succeeded and since consumed or expired: it finished well.
                return .satisfied
            }
            if state == .broken { return .broken }
            if state == .pending { result = .pending }
        }
        return result
    }

    // MARK: Execution

    /// What ``markStarted(_:attempt:context:at:)`` did.
    enum StartMark: Equatable {
        /// The attempt is on record as running, with the ticket of its journal record if
        /// there is a journal.
        case started(journalTicket: UInt64?)
        /// The docket went away (``abandon()``): nothing changed, nothing was journaled, and
        /// the attempt's body must not run.
        case refused
        /// The docket shut down and told the operation's waiters it will not run here
        /// (``closeQueued()``): nothing changed, nothing was journaled, the body must not run,
        /// and the operation stays queued.
        case closed
    }

    /// Marks an attempt running. One that starts after ``cancelAllRunning()`` is asked to
    /// stop at once; after ``abandon()``, none starts.
    @discardableResult
    func markStarted(_ key: SequencedID, attempt: Int, context: OperationContext, at now: Duration) -> StartMark {
        let mark = update(key) { record, deferred, counts, journal, closed -> StartMark in
            // Read under the shard's lock: see abandon().
            if closed.contains(.abandoned) { return .refused }
            // Read under the shard's lock: a start before closeQueued()'s scan made the record
            // running, so its waiters wait for this attempt; one after it reads the flag.
            if record.state == .waiting, closed.contains(.queue) { return .closed }
            if record.state == .waiting { counts.queued -= 1; counts.running += 1 }
            record.state = .running
            record.attempt = attempt
            record.started = now
            record.context = context
            Self.emit(.state(.running), record)
            return .started(journalTicket: journal?.append(.started(key.id, attempt: attempt)))
        } ?? .started(journalTicket: nil)
        // Read after the shard's lock was taken: see cancelAllRunning().
        if mark != .refused, mark != .closed, cancelsStarts.load(ordering: .relaxed) { context.requestCancellation() }
        return mark
    }

    func reportProgress(_ id: OperationID, _ percent: Int) {
        update(id) { record, deferred, _, _, _ in
            guard record.state == .running, percent > record.progress else { return }
            record.progress = percent
            Self.emit(.progress(percent), record)
        }
    }

    func appendDetail(_ id: OperationID, _ message: String) {
        let entry = DetailEntry(date: clock.date(clock.now()), message: message)
        update(id) { record, deferred, _, _, _ in
            record.details.append(entry)
            Self.emit(.detail(entry), record)
        }
    }

    /// A failed attempt that will be tried again at `due`.
    func markRequeued(_ key: SequencedID, error: OperationFailure, due: Duration) {
        let id = key.id
        let now = clock.now()
        update(key) { record, deferred, counts, journal, closed in
            if record.state == .running { counts.running -= 1; counts.queued += 1 }
            record.state = .waiting
            record.due = due
            record.context = nil
            record.errorText = error.message
            // The next attempt starts over, as after a retry.
            record.progress = 0
            if let journal { journal.append(.requeued(id, due: journal.date(due), error: error.message)) }
            Self.emit(.state(record.visibleState(now: now)), record)
            // Queued again after a shutdown's release (an attempt that timed out before it, and
            // returned after): nothing in this process runs it, so its waiters are told now.
            if closed.contains(.queue) { Self.releaseAtShutdown(id, &record, &deferred) }
        }
    }

    /// Returns whether other operations depend on this one. A waiter that takes the result
    /// consumes it here, leaving a tombstone as a taker would.
    ///
    /// With a journal, `encodedOutput` is the output as the definition encodes it (encoded by
    /// the caller, outside the lock).
    func markSucceeded(_ key: SequencedID, _ payload: OperationPayload, encodedOutput: Data?, at now: Duration) -> Bool {
        let id = key.id
        var deferred = Deferred()
        let hasDependents = shard(id).state.withLock { state -> Bool in
            guard let (position, box) = state.records.locate(key) else { return false }
            if box.record.state == .running { state.counts.running -= 1; state.counts.succeeded += 1 }
            let expires: Duration
            switch box.record.retention {
            case .readOnce: expires = now + unreadResultLifetime
            case .keep(let duration): expires = now + duration
            }
            if let journal = state.journal, let encodedOutput {
                journal.append(.succeeded(id, output: encodedOutput, at: journal.date(now), expires: journal.date(expires)))
            }
            Self.succeed(box, payload, now: now, &deferred)
            if box.record.consumed, let journal = state.journal { journal.append(.consumed(id, at: journal.date(now))) }
            if case .readOnce = box.record.retention, box.record.consumed {
                let hasDependents = box.record.hasDependents
                Self.buryConsumedSuccess(key, box, from: &state, now: now)
                return hasDependents
            }
            box.record.expires = expires
            state.records.refresh(at: position, from: box)
            return box.record.hasDependents
        }
        deferred.perform()
        return hasDependents
    }

    private static func succeed(_ box: RecordTable.Box, _ payload: OperationPayload, now: Duration, _ deferred: inout Deferred) {
        box.keep(payload)
        // The record changed in place, passed on as `inout`: read through the box as an
        // argument, it would be copied whole.
        succeed(&box.record, payload, now: now, &deferred)
    }

    private static func succeed(_ record: inout TrackingRecord, _ payload: OperationPayload, now: Duration, _ deferred: inout Deferred) {
        record.state = .succeeded
        record.finished = now
        record.context = nil
        // A write to the side box costs a uniqueness check; most records have no error to clear.
        if record.errorText != nil { record.errorText = nil }
        record.failure = nil
        if record.progress < 100 { emit(.progress(100), record) }
        record.progress = 100
        finish(&record, .success(payload), &deferred)
    }

    func markFailed(_ key: SequencedID, _ failure: OperationFailure) {
        let id = key.id
        let now = clock.now()
        update(key) { record, deferred, counts, journal, _ in
            if record.state == .running { counts.running -= 1; counts.failed += 1 }
            record.state = .failed
            record.finished = now
            record.context = nil
            record.errorText = failure.message
            record.failure = failure
            record.consumed = false
            record.expires = nil
            if let journal { journal.append(.failed(id, failure, at: journal.date(now))) }
            Self.finish(&record, .failure(failure), &deferred)
            if record.consumed, let journal { journal.append(.consumed(id, at: journal.date(now))) }
        }
    }

    /// A failed operation is queued again by a retry.
    func markRetried(_ id: OperationID, correctedInput: Data?) {
        let now = clock.now()
        update(id) { record, deferred, counts, journal, _ in
            if let journal { journal.append(.retried(id, correctedInput: correctedInput, at: journal.date(now))) }
            if record.state == .failed { counts.failed -= 1; counts.queued += 1 }
            record.state = .waiting
            record.due = now
            record.started = nil
            record.finished = nil
            record.failure = nil
            record.consumed = false
            record.progress = 0
            Self.emit(.state(.waiting), record)
        }
    }

    /// Cancels, deletes or cascades an operation: it leaves a tombstone. Returns whether
    /// other operations depend on it, or `nil` when it is unknown.
    @discardableResult
    func markCancelled(_ id: OperationID, reason: CancellationReason) -> Bool? {
        markCancelled(SequencedID(id, cipher: cipher), reason: reason)
    }

    /// ``markCancelled(_:reason:)`` with the ID's sequence number known (a running operation's).
    @discardableResult
    func markCancelled(_ key: SequencedID, reason: CancellationReason) -> Bool? {
        let id = key.id
        let now = clock.now()
        var deferred = Deferred()
        let hasDependents = shard(id).state.withLock { state -> Bool? in
            guard var record = state.records.removeValue(forKey: key) else { return nil }
            Self.uncount(record.state, &state.counts)
            // Set before any attempt was asked to stop for it (``abandon()``).
            if let journal = state.journal, !closed.contains(.abandoned) {
                journal.append(.cancelled(id, reason, at: journal.date(now)))
            }
            record.state = .cancelled(reason)
            // Given to the waiters only: the record has left its table and becomes a tombstone.
            let failure = OperationFailure(.cancelled, "The operation was \(reason == .cancelled ? "cancelled" : "deleted") (\(reason.rawValue)).")
            record.context = nil
            Self.finish(&record, .failure(failure), &deferred)
            Self.bury(key, record, consumed: false, into: &state, now: now)
            return record.hasDependents
        }
        deferred.perform()
        return hasDependents
    }

    /// Notes that a run-now operation's ID was handed to a caller to track it: a wait on it
    /// gave up, or a deferred repeat of its idempotency key answered with it. Journaled once,
    /// while it has not started, so that a restart restores it as deferred rather than
    /// dropping it as a run-now operation whose caller is gone. A non-queueable operation
    /// stays run-now: it must never run deferred.
    func handOut(_ id: OperationID) {
        let key = SequencedID(id, cipher: cipher)
        shard(id).state.withLock { state in
            guard let box = state.records.box(key), box.record.runsNow, box.record.attempt == 0,
                  box.record.definition.isQueueable
            else { return }
            // No slot mirrors it (``RecordTable/Glance``): no refresh is due.
            box.record.runsNow = false
            state.journal?.append(.deferred(id))
        }
    }

    /// Removes a run-now operation that never ran; its waiters get `error`. With `awaited`,
    /// its caller waits for the answer (its submission was accepted), and the refusal is kept
    /// for that wait, which may not have registered yet (``Rejection``); otherwise nothing
    /// is left.
    /// Returns whether other operations depend on it: they will never see it succeed.
    @discardableResult
    func reject(_ id: OperationID, with error: DocketError, awaited: Bool) -> Bool {
        let now = clock.nowNanoseconds()
        var deferred = Deferred()
        let key = SequencedID(id, cipher: cipher)
        let hasDependents = shard(id).state.withLock { state -> Bool in
            guard let record = state.records.removeValue(forKey: key) else { return false }
            Self.uncount(record.state, &state.counts)
            state.journal?.append(.rejected(id))
            deferred.release(record.waiters, with: .removed(error))
            deferred.finishing += record.observers.map(\.continuation)
            // Kept even when a wait is registered: it may be an idempotent repeat's, with
            // the caller's own wait still to come.
            if awaited { state.keepRejection(id, error, owner: record.owner, now: now) }
            return record.hasDependents
        }
        deferred.perform()
        return hasDependents
    }

    /// A run-now operation a restart abandoned before it started: kept as a refusal, as a
    /// live one is (``reject(_:with:awaited:)``), so that the dependents restored after it
    /// read it as broken, not as succeeded and gone, and a wait on it is told what happened.
    func restoreRejection(_ id: OperationID, owner: String?, error: DocketError) {
        let now = clock.nowNanoseconds()
        shard(id).state.withLock { $0.keepRejection(id, error, owner: owner, now: now) }
    }

    /// What a wait on `id` gets when `owner` has no live record under it: the refusal kept
    /// for its caller (read, not taken: an idempotent repeat may wait on the same ID, and the
    /// caller must get the refusal all the same), else its tombstone's answer, else not found.
    private static func resolutionWithoutRecord(_ key: SequencedID, owner: String?, _ state: ShardState, now: Duration) -> WaitResolution {
        if let rejection = state.rejection(key.id, now: now.nanoseconds), rejection.owner == owner { return .removed(rejection.error) }
        if let tombstone = state.tombstones.tombstone(key, now: now.nanoseconds), tombstone.isOwned(by: owner) { return .outcome(answer(tombstone)) }
        return .outcome(.notFound)
    }

    /// What a docket going away does first: from then on no attempt starts (its start is
    /// refused, ``StartMark/refused``) and no cancellation is journaled, so the journal keeps
    /// what a crash would leave. Queued operations stay queued, and attempts that
    /// ``cancelAllRunning()`` then asks to stop are found interrupted by the next docket
    /// opened on the journal, not cancelled by anyone; an attempt that returns anything
    /// else is journaled as it ends.
    ///
    /// A start reads the flag under its shard's lock, so once ``cancelAllRunning()`` has
    /// taken and released every shard's lock after this, an attempt it did not find cannot
    /// start.
    func abandon() {
        closing.bitwiseOr(Closing.abandoned.rawValue, ordering: .relaxed)
    }

    /// Asks every running operation to stop, and every attempt that starts from then on as
    /// it starts; returns how many were still running their body.
    ///
    /// An attempt whose start takes its shard's lock before this does is found here. One
    /// that takes it after reads the flag, set before this took that lock, once it holds
    /// the lock's ordering (``markStarted(_:attempt:context:at:)``).
    @discardableResult
    func cancelAllRunning() -> Int {
        cancelsStarts.store(true, ordering: .relaxed)
        var contexts: [OperationContext] = []
        for shard in shards {
            shard.state.withLock { state in
                for (_, record) in state.records.entries { if let context = record.context { contexts.append(context) } }
            }
        }
        // An attempt whose body already returned is not cut short: it does not count. One
        // stopping for its timeout already still runs its body: it does.
        return contexts.filter { $0.requestStop() }.count
    }

    /// For a docket that shut down, whose queued operations no longer run in this process:
    /// releases every wait for one (``Docket/perform(_:input:options:)``,
    /// ``OperationHandle/value()``) with a `shutDown` error, and ends every later one at once.
    ///
    /// A wait that registers takes its shard's lock either before this scan does, and is
    /// released here, or after, and reads the flag set before the scan took that lock. So
    /// does an event stream of a queued operation: it ends here or after its snapshot.
    func closeQueued() {
        closing.bitwiseOr(Closing.queue.rawValue, ordering: .relaxed)
        var deferred = Deferred()
        for shard in shards {
            shard.state.withLock { state in
                let waited = state.records.entries.compactMap { entry in
                    entry.value.state == .waiting && !(entry.value.waiters.isEmpty && entry.value.observers.isEmpty) ? entry.key : nil
                }
                for id in waited {
                    // Waiters are not mirrored in the slot (``RecordTable/Glance``): no refresh is due.
                    guard let box = state.records.box(id) else { continue }
                    Self.releaseAtShutdown(id, &box.record, &deferred)
                }
            }
        }
        deferred.perform()
    }

    /// Releases the waits for an operation a shut-down docket will not run (``closeQueued()``).
    private static func releaseAtShutdown(_ id: OperationID, _ record: inout TrackingRecord, _ deferred: inout Deferred) {
        // Clearing an empty list would allocate the record's side box.
        if !record.waiters.isEmpty {
            deferred.release(record.waiters, with: .removed(shutDown(id)))
            record.waiters = []
        }
        // Its event streams too: nothing in this process would end them.
        if !record.observers.isEmpty {
            deferred.finishing += record.observers.map(\.continuation)
            record.observers = []
        }
    }

    private static func shutDown(_ id: OperationID) -> DocketError {
        DocketError(
            .shutDown,
            "The docket shut down before operation \(id) ran. It stays queued in the docket's store for the next docket opened on it; without a store it is lost.",
            operationID: id)
    }

    func runningContext(_ id: OperationID) -> OperationContext? {
        let key = SequencedID(id, cipher: cipher)
        return shard(id).state.withLock { $0.records.box(key)?.record.context }
    }

    // MARK: Reading

    enum Visibility: Sendable {
        case record(TrackingRecord)
        case tombstone(Tombstone)
        case none
    }

    /// The record or tombstone of `id` as `owner` may see it.
    func lookup(_ id: OperationID, owner: String?) -> Visibility {
        let now = clock.now()
        let key = SequencedID(id, cipher: cipher)
        return shard(id).state.withLock { state in
            Self.answer(key, owner: owner, &state, now: now, live: { box, _ in .record(box.record) }, tombstone: { .tombstone($0) }) ?? .none
        }
    }

    /// The status of `id` as `owner` may see it. Built under the shard lock straight from the
    /// record, without copying the record out: status polling is the hottest read.
    func status(_ id: OperationID, owner: String?) throws -> OperationStatus {
        try read(id, owner: owner) { box, now in
            status(id, box, now: now)
        } tombstone: { tombstone in
            status(id, tombstone, owner: owner)
        }
    }

    /// State and progress of `id` as `owner` may see it: from the record's slot alone when
    /// its glance answers, so a poll of a large table costs one cache miss, not two.
    func progress(_ id: OperationID, owner: String?) throws -> OperationProgress {
        let live = { (box: RecordTable.Box, now: Duration) in
            OperationProgress(state: box.record.visibleState(now: now), percent: box.record.progress)
        }
        let buried = { (tombstone: Tombstone) in
            OperationProgress(state: tombstone.state, percent: tombstone.state == .succeeded ? 100 : 0)
        }
        // A glance with a state belongs to a record without an owner.
        guard owner == nil else { return try read(id, owner: owner, live: live, tombstone: buried) }
        // When the glance answers, the poll holds the lock only to copy the slot: the slot's
        // place is deciphered from the ID before locking, and the result's expiry is compared
        // with the clock after unlocking (`Int64.max` for an answer that needs no check). The
        // slot is read without retaining the box, whose header is another cache miss. When it
        // does not (a record that may read as delayed, a tombstone, an unknown ID), the read
        // goes on under the same lock, with the clock read there.
        let key = SequencedID(id, cipher: cipher)
        let found = shard(id).state.withLock { state -> (answer: OperationProgress, expires: Int64)? in
            if let slot = state.records.glance(key), let glanced = slot.glance.state {
                return (OperationProgress(state: glanced, percent: Int(slot.glance.percent)), slot.expires)
            }
            return Self.answer(key, owner: nil, &state, now: clock.now(), live: live, tombstone: buried).map { ($0, .max) }
        }
        guard let found else { throw notFound(id, owner: owner) }
        // Unexpired now, so unexpired when the slot was copied (engine clocks never go back):
        // the answer held then.
        if found.expires == .max || found.expires > clock.nowNanoseconds() { return found.answer }
        // The result's window has ended since: read the record, which expires it.
        return try read(id, owner: nil, live: live, tombstone: buried)
    }

    /// Reads `id`'s record, or else its tombstone, as `owner` may see it, under the shard lock.
    private func read<T: Sendable>(_ id: OperationID, owner: String?, live: (RecordTable.Box, Duration) -> T, tombstone: (Tombstone) -> T) throws -> T {
        let now = clock.now()
        let key = SequencedID(id, cipher: cipher)
        let found = shard(id).state.withLock { state in
            Self.answer(key, owner: owner, &state, now: now, live: live, tombstone: tombstone)
        }
        guard let found else { throw notFound(id, owner: owner) }
        return found
    }

    /// The error for `id` with no record or tombstone `owner` may see. A run-now operation
    /// refused before it ran leaves neither, only the refusal kept for its caller: the error
    /// then says why the operation is not tracked.
    private func notFound(_ id: OperationID, owner: String?) -> DocketError {
        let now = clock.nowNanoseconds()
        let refusal = shard(id).state.withLock { state -> DocketError? in
            guard let rejection = state.rejection(id, now: now), rejection.owner == owner else { return nil }
            return rejection.error
        }
        guard let refusal else { return DocketError.notFound(id) }
        return DocketError(.notFound, "Operation \(id) was refused before it ran, so it is not tracked: \(refusal.message)", operationID: id)
    }

    /// The answer from `id`'s live record, or else its tombstone, as `owner` may see it,
    /// expiring the record's result if its window has ended by `now`.
    private static func answer<T: Sendable>(
        _ key: SequencedID, owner: String?, _ state: inout ShardState, now: Duration,
        live: (RecordTable.Box, Duration) -> T, tombstone: (Tombstone) -> T
    ) -> T? {
        if let box = liveBox(key, &state, now: now), box.record.owner == owner { return live(box, now) }
        if let buried = state.tombstones.tombstone(key, now: now.nanoseconds), buried.isOwned(by: owner) { return tombstone(buried) }
        return nil
    }

    private func status(_ id: OperationID, _ tombstone: Tombstone, owner: String?) -> OperationStatus {
        OperationStatus(
            id: id, operationName: names[tombstone.definition], owner: owner, objectKey: nil, state: tombstone.state,
            progress: tombstone.state == .succeeded ? 100 : 0, attempt: 0, createdAt: nil, dueAt: nil,
            startedAt: nil, finishedAt: nil, errorText: nil, details: [], contentType: nil,
            isResultConsumed: tombstone.consumed, result: nil)
    }

    /// The status from a record in its box, read in place: passing the record itself would copy it.
    func status(_ id: OperationID, _ box: RecordTable.Box, now: Duration) -> OperationStatus {
        var keptResult: OperationPayload?
        if case .keep = box.record.retention, case .success(let payload) = box.outcome { keptResult = payload }
        return OperationStatus(
            id: id, operationName: box.record.name, owner: box.record.owner, objectKey: box.record.objectKey,
            state: box.record.visibleState(now: now), progress: box.record.progress, attempt: box.record.attempt,
            createdAt: clock.date(box.record.created), dueAt: clock.date(box.record.due),
            startedAt: box.record.started.map(clock.date), finishedAt: box.record.finished.map(clock.date),
            errorText: box.record.errorText, details: box.record.details,
            contentType: box.record.state == .succeeded ? box.record.contentType : nil,
            isResultConsumed: box.record.consumed, result: keptResult)
    }

    /// Takes the result: the first taker of a read-once result gets it, later ones `.consumed`.
    func take(_ id: OperationID, owner: String?) -> ResultTake<OperationPayload> {
        let now = clock.now()
        let key = SequencedID(id, cipher: cipher)
        return shard(id).state.withLock { state in
            if let box = Self.liveBox(key, &state, now: now), box.record.owner == owner {
                return Self.take(key, box, consuming: true, from: &state, now: now)
            }
            if let tombstone = state.tombstones.tombstone(key, now: now.nanoseconds), tombstone.isOwned(by: owner) {
                return Self.answer(tombstone)
            }
            return .notFound
        }
    }

    /// The answer a waiter would get now, or `nil` while the operation is still unfinished.
    /// Waiting on a finished operation takes this path: no continuation, no suspension.
    func resolveIfFinished(_ id: OperationID, owner: String?, consumes: Bool) -> WaitResolution? {
        let now = clock.now()
        let key = SequencedID(id, cipher: cipher)
        return shard(id).state.withLock { state -> WaitResolution? in
            if let box = Self.liveBox(key, &state, now: now), box.record.owner == owner {
                guard box.record.state.isFinished else { return nil }
                return .outcome(Self.take(key, box, consuming: consumes, from: &state, now: now))
            }
            return Self.resolutionWithoutRecord(key, owner: owner, state, now: now)
        }
    }

    /// Waits for the operation to finish, then takes (or, with `consumes == false`, reads) its result.
    ///
    /// With a `deadline` (a clock offset whose timer entry carries `token`), a waiter that
    /// would register at or after it gives up at once: the timer may have fired, and found
    /// no waiter to release, before this one registered.
    nonisolated(nonsending) func wait(_ id: OperationID, owner: String?, consumes: Bool, token: UInt64, deadline: Duration? = nil) async -> WaitResolution {
        if let resolved = resolveIfFinished(id, owner: owner, consumes: consumes) { return resolved }
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<WaitResolution, Never>) in
                let key = SequencedID(id, cipher: cipher)
                let immediate = shard(id).state.withLock { state -> WaitResolution? in
                    // Read under the lock: a timer that fired before it found no waiter here.
                    let now = clock.now()
                    if let box = Self.liveBox(key, &state, now: now), box.record.owner == owner {
                        if box.record.state.isFinished {
                            return .outcome(Self.take(key, box, consuming: consumes, from: &state, now: now))
                        }
                        if let deadline, now >= deadline { return .gaveUp }
                        // Read under the lock: a shutdown's scan that took it first found no waiter here.
                        if box.record.state == .waiting, closed.contains(.queue) { return .removed(Self.shutDown(id)) }
                        // A task cancelled before this lock ran its handler already, which found
                        // no waiter; one cancelled from here on finds this one registered.
                        if Task.isCancelled { return .gaveUp }
                        box.record.waiters.append(.init(token: token, consumes: consumes, continuation: continuation))
                        return nil
                    }
                    return Self.resolutionWithoutRecord(key, owner: owner, state, now: now)
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            giveUp(id, token: token)
        }
    }

    /// How many waits are registered on `id`'s record (for tests).
    func waiterCount(_ id: OperationID) -> Int {
        shard(id).state.withLock { $0.records.box(id)?.record.waiters.count ?? 0 }
    }

    /// Releases a waiter that is still waiting with `.gaveUp`; does nothing once it was resolved.
    func giveUp(_ id: OperationID, token: UInt64) {
        var deferred = Deferred()
        let key = SequencedID(id, cipher: cipher)
        shard(id).state.withLock { state in
            // Waiters are not mirrored in the slot (``RecordTable/Glance``): no refresh is due.
            guard let box = state.records.box(key), let index = box.record.waiters.firstIndex(where: { $0.token == token }) else { return }
            deferred.resumptions.append((box.record.waiters.remove(at: index).continuation, .gaveUp))
        }
        deferred.perform()
    }

    /// A stream of the operation's events, starting with a snapshot and ending at a finished state.
    func observe(_ id: OperationID, owner: String?) throws -> AsyncStream<OperationEvent> {
        let now = clock.now()
        let token = nextToken()
        let (stream, continuation) = AsyncStream<OperationEvent>.makeStream(bufferingPolicy: .unbounded)
        let key = SequencedID(id, cipher: cipher)
        let found = shard(id).state.withLock { state -> Bool in
            Self.expireIfDue(key, &state, now: now)
            if let box = state.records.box(key), box.record.owner == owner {
                continuation.yield(.snapshot(status(id, box, now: now)))
                // Queued in a shut-down docket: nothing in this process would end the stream.
                if box.record.state.isFinished || (box.record.state == .waiting && closed.contains(.queue)) {
                    continuation.finish()
                } else {
                    // Observers are not mirrored in the slot (``RecordTable/Glance``): no refresh is due.
                    box.record.observers.append((token, continuation))
                }
                return true
            }
            return false
        }
        if !found {
            if case .tombstone = lookup(id, owner: owner) {
                continuation.yield(.snapshot(try status(id, owner: owner)))
                continuation.finish()
                return stream
            }
            continuation.finish()
            throw DocketError.notFound(id)
        }
        continuation.onTermination = { [weak self] _ in
            self?.shard(id).state.withLock { state in
                state.records.box(key)?.record.observers.removeAll { $0.token == token }
            }
        }
        return stream
    }

    // MARK: Housekeeping

    func counts() -> Counts {
        let now = clock.now()
        var total = Counts()
        for shard in shards {
            shard.state.withLock { state in
                Self.sweep(&state, now: now, limit: nil)
                total.queued += state.counts.queued
                total.running += state.counts.running
                total.succeeded += state.counts.succeeded
                total.failed += state.counts.failed
                total.tombstones += state.tombstones.count
            }
        }
        return total
    }

    /// The delayed count, the oldest creation time among due, waiting operations, and the
    /// failed operations (each blocks its object). One pass over the records.
    func queueShape() -> (delayed: Int, oldestWaiting: Duration?, failed: [DocketMetrics.BlockedObject]) {
        let now = clock.now()
        var delayed = 0
        var oldest: Duration?
        var failed: [DocketMetrics.BlockedObject] = []
        for shard in shards {
            shard.state.withLock { state in
                for (id, record) in state.records.entries where record.state == .waiting || record.state == .failed {
                    if record.state == .failed {
                        failed.append(DocketMetrics.BlockedObject(owner: record.owner, objectKey: record.objectKey, failedOperation: id))
                    } else if record.due > now {
                        delayed += 1
                    } else if oldest.map({ record.created < $0 }) ?? true {
                        oldest = record.created
                    }
                }
            }
        }
        return (delayed, oldest, failed)
    }

    // MARK: Shard-locked helpers

    private static func uncount(_ state: OperationState, _ counts: inout Counts) {
        switch state {
        case .waiting, .delayed: counts.queued -= 1
        case .running: counts.running -= 1
        case .succeeded: counts.succeeded -= 1
        case .failed: counts.failed -= 1
        case .cancelled: break
        }
    }

    /// Ends the record's observers and answers its waiters with `outcome`, the one it has
    /// just been given, now that it has finished.
    private static func finish(_ record: inout TrackingRecord, _ outcome: TrackingRecord.Outcome, _ deferred: inout Deferred) {
        // Read once, and written only when there are some: most records have no observer, and
        // every write to the record's side box checks its uniqueness.
        let observers = record.observers
        if !observers.isEmpty {
            emit(.state(record.state), to: observers)
            deferred.finishing += observers.map(\.continuation)
            record.observers = []
        }
        guard !record.waiters.isEmpty else { return }
        let waiters = record.waiters
        record.waiters = []
        for waiter in waiters {
            let answer: ResultTake<OperationPayload>
            switch outcome {
            case .success(let payload):
                if case .readOnce = record.retention, waiter.consumes {
                    answer = record.consumed ? .consumed : .finished(.success(payload))
                    record.consumed = true
                } else {
                    answer = .finished(.success(payload))
                }
            case .failure(let failure):
                if case .readOnce = record.retention, waiter.consumes, record.state == .failed {
                    answer = record.consumed ? .consumed : .finished(.failure(failure))
                    record.consumed = true
                } else {
                    answer = .finished(.failure(failure))
                }
            }
            deferred.resumptions.append((waiter.continuation, .outcome(answer)))
        }
    }

    private static func take(
        _ key: SequencedID, _ box: RecordTable.Box, consuming: Bool, from state: inout ShardState, now: Duration
    ) -> ResultTake<OperationPayload> {
        // Read through the box: copying a whole record out to read four fields costs more than the rest.
        let keeps = if case .keep = box.record.retention { true } else { false }
        // A read-once success taken now leaves with its record, so its output moves out of
        // the box: a copy would go through its value witnesses, and the box's own would then
        // be destroyed with it.
        let leaves = consuming && !keeps && !box.record.consumed && box.record.state == .succeeded
        guard box.record.state.isFinished, let outcome = leaves ? box.takeOutcome() : box.outcome else {
            return .notFinished(box.record.visibleState(now: now))
        }
        if keeps {
            switch outcome {
            case .success(let payload): return .finished(.success(payload))
            case .failure(let failure): return .finished(.failure(failure))
            }
        }
        if box.record.consumed { return .consumed }
        guard consuming else {
            switch outcome {
            case .success(let payload): return .finished(.success(payload))
            case .failure(let failure): return .finished(.failure(failure))
            }
        }
        if let journal = state.journal { journal.append(.consumed(key.id, at: journal.date(now))) }
        switch outcome {
        case .success(let payload):
            buryConsumedSuccess(key, box, from: &state, now: now)
            return .finished(.success(payload))
        case .failure(let failure):
            // A succeeded record holds a success (`succeed` sets both under one lock).
            assert(!leaves, "a succeeded record holds a success")
            // A failure stays on record while it blocks its object; only its reading is consumed.
            box.record.consumed = true
            return .finished(.failure(failure))
        }
    }

    private static func answer(_ tombstone: Tombstone) -> ResultTake<OperationPayload> {
        if tombstone.consumed { return .consumed }
        if case .cancelled(let reason) = tombstone.state {
            return .finished(.failure(OperationFailure(.cancelled, "The operation was cancelled (\(reason.rawValue)).")))
        }
        return .notFound
    }

    /// Removes a read-once success whose result was just consumed, and buries its tombstone.
    /// The tombstone is made from fields read through the box: passing `box.record` whole
    /// would copy the record, retaining every reference in it.
    private static func buryConsumedSuccess(_ key: SequencedID, _ box: RecordTable.Box, from state: inout ShardState, now: Duration) {
        let tombstone = Tombstone(
            definition: box.record.definition.ordinal, owner: box.record.owner, state: box.record.state, consumed: true)
        state.records.remove(key)
        state.counts.succeeded -= 1
        state.tombstones.bury(key, tombstone, now: now.nanoseconds)
    }

    private static func bury(_ key: SequencedID, _ record: TrackingRecord, consumed: Bool, into state: inout ShardState, now: Duration) {
        let tombstone = Tombstone(definition: record.definition.ordinal, owner: record.owner, state: record.state, consumed: consumed)
        state.tombstones.bury(key, tombstone, now: now.nanoseconds)
    }

    /// The box of `id`'s record, or `nil` when there is none or its result has just expired
    /// (leaving a tombstone). One probe of the table serves both: the expiry is in the slot.
    private static func liveBox(_ key: SequencedID, _ state: inout ShardState, now: Duration) -> RecordTable.Box? {
        guard let (box, expires) = state.records.peek(key) else { return nil }
        if expires <= now.nanoseconds {
            expire(key, &state, now: now)
            return nil
        }
        return box
    }

    /// Expires the unread or kept result of `id` if its time has come (a tombstone's own
    /// expiry is checked where it is read).
    private static func expireIfDue(_ key: SequencedID, _ state: inout ShardState, now: Duration) {
        if let expires = state.records.glance(key)?.expires, expires <= now.nanoseconds {
            expire(key, &state, now: now)
        }
    }

    private static func expire(_ key: SequencedID, _ state: inout ShardState, now: Duration) {
        guard let record = state.records.removeValue(forKey: key) else { return }
        uncount(record.state, &state.counts)
        bury(key, record, consumed: false, into: &state, now: now)
    }

    /// Expires the results found in the next `limit` slots of the record table (the whole
    /// table with `limit == nil`), and drops tombstone generations whose window has passed.
    private static func sweep(_ state: inout ShardState, now: Duration, limit: Int?) {
        for key in state.records.expired(limit: limit ?? state.records.capacity, now: now.nanoseconds) {
            expire(key, &state, now: now)
        }
        state.tombstones.dropExpired(now: now.nanoseconds)
        if now.nanoseconds >= state.rejectionsExpire {
            let nanoseconds = now.nanoseconds
            state.rejections = state.rejections.filter { $0.value.expires > nanoseconds }
            state.rejectionsExpire = state.rejections.values.map(\.expires).min() ?? .max
        }
    }
}

extension Duration {
    /// The duration in whole nanoseconds, truncated toward zero (engine-clock offsets fit in
    /// 64 bits for 292 years). Records and tombstones convert several times per operation:
    /// one 128-bit division is about a third of what `components` costs.
    var nanoseconds: Int64 {
        Int64(truncatingIfNeeded: attoseconds / 1_000_000_000)
    }
}
