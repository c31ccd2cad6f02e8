/// The one timer of a docket: a heap of due times driven by the injected clock.
///
/// Delayed heads, retry backoffs, timeouts and wait deadlines all become heap entries;
/// there is no task per entry, only one sleep for the earliest due time, re-armed when
/// an earlier one arrives.
///
/// Scheduling is synchronous, under a lock: a delayed submission, a retry backoff or an
/// attempt with a timeout adds its entry without an actor hop. Only the sleep is a task.
final class DueTimer: Sendable {
    enum Target: Sendable {
        /// Wake a mailbox whose head is due.
        case wake(Mailbox)
        /// Raise a running operation's timeout.
        case timeout(OperationContext)
        /// Release a waiter whose deadline passed.
        case deadline(OperationID, token: UInt64)
        /// Run a short, synchronous action (a shutdown deadline).
        case action(@Sendable () -> Void)
    }

    private struct State: Sendable {
        var machine = TimerStateMachine<Target>()
        /// The task sleeping until the armed due time, if any.
        var sleeper: Task<Void, Never>?
        /// The docket went away (``stop()``): wakes and timeouts are no longer kept.
        var released = false
    }

    private let state = Locked(State())
    private let clock: EngineClock
    private let activity: WorkerPool
    private let tracker: Tracker

    init(clock: EngineClock, activity: WorkerPool, tracker: Tracker) {
        self.clock = clock
        self.activity = activity
        self.tracker = tracker
    }

    /// A timer going away with its engine ends its sleep: the sleeping task holds the clock,
    /// and would otherwise sleep on until its due time, as far as a timeout ahead.
    deinit {
        state.withLock { $0.sleeper?.cancel() }
    }

    /// Drops every wake and timeout, releasing them after unlocking, and keeps none scheduled
    /// from then on (for an engine whose docket went away). A wake holds its mailbox, which
    /// holds the engine. A timeout would turn the stop the release asks of every running
    /// attempt into a timeout, which is journaled, where the release journals no stop: to
    /// its journal a dropped docket is a crash. Wait deadlines and actions stay: neither
    /// holds the engine, and a waiter's deadline still ends its wait.
    func stop() {
        var entries = TimerStateMachine<Target>()
        state.withLock { state in
            state.released = true
            state.sleeper?.cancel()
            state.sleeper = nil
            swap(&entries, &state.machine)
            // Nothing is due until an entry is scheduled again (which publishes its own).
            activity.publishTimerDue(nil)
        }
        // Every entry, in due order (every due time is at most 100 years ahead: see
        // `Docket.longestDuration`); wakes and timeouts are let go here, the rest scheduled again.
        var all = entries.fire(now: .seconds(Int64.max)).due
        while let (due, target) = all.popNext() {
            if Self.outlivesStop(target) { schedule(target, at: due) }
        }
    }

    /// Whether a stopped timer keeps `target`: a waiter's deadline or an action, not a wake
    /// or a timeout (``stop()``).
    private static func outlivesStop(_ target: Target) -> Bool {
        switch target {
        case .wake, .timeout: false
        case .deadline, .action: true
        }
    }

    func schedule(_ target: Target, at due: Duration) {
        state.withLock { state in
            // A stopped timer keeps no wake or timeout: the caller lets go of it.
            if state.released, !Self.outlivesStop(target) { return }
            // The machine asks for a new sleep exactly when the earliest due time moves, and
            // only then is it published: most entries (a timeout, a later delay) are not the
            // earliest, and publishing takes the pool's lock. Published under the timer's
            // lock, so two schedules cannot publish out of order.
            guard let arm = state.machine.schedule(target, at: due) else { return }
            rearm(arm, &state)
            activity.publishTimerDue(arm)
        }
    }

    /// Replaces the sleep with one until `due`. A cancelled sleeper that already woke may
    /// still fire: it takes only what is due by then, so nothing fires twice or early.
    private func rearm(_ due: Duration, _ state: inout State) {
        state.sleeper?.cancel()
        let clock = clock
        state.sleeper = Task { [weak self] in
            do { try await clock.sleep(due) } catch { return }
            self?.fire()
        }
    }

    private func fire() {
        activity.beginActivity()
        var due = state.withLock { state in
            let (due, rearmAt) = state.machine.fire(now: clock.now())
            // The sleeper on record may be a newer one than the one firing: re-arming or
            // cancelling it, never just dropping it, keeps a single sleeper alive.
            if let rearmAt {
                rearm(rearmAt, &state)
            } else {
                state.sleeper?.cancel()
                state.sleeper = nil
            }
            activity.publishTimerDue(state.machine.earliest)
            return due
        }
        // Each item is moved out, not copied: a copy would retain its mailbox, a cache miss on
        // a cold object per wake before the wake itself touches it. The woken mailboxes move
        // on to the ready queue the same way.
        var woken = Ring<Mailbox>()
        while let (dueTime, target) = due.popNext() {
            switch consume target {
            case .wake(let mailbox):
                guard mailbox.wake(at: dueTime) else { continue }
                woken.append(mailbox)
                if woken.count == Self.wakeBatch { activity.enqueue(contentsOf: &woken) }
            case .timeout(let context):
                context.requestCancellation(timedOut: true)
            case .deadline(let id, let token):
                tracker.giveUp(id, token: token)
            case .action(let action):
                action()
            }
        }
        activity.enqueue(contentsOf: &woken)
        activity.endActivity()
    }

    /// How many woken mailboxes the timer puts on the ready queue at once, under one lock.
    static let wakeBatch = 64
}
