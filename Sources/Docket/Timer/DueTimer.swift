/// The one timer of a docket: a heap of due times driven by the injected clock.
///
/// Delayed heads, retry backoffs, timeouts and wait deadlines all become heap entries;
/// there is no task per entry, only one sleep for the earliest due time, re-armed when
/// an earlier one arrives.
actor DueTimer {
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

    private var machine = TimerStateMachine<Target>()
    private var sleeper: Task<Void, Never>?
    private let clock: EngineClock
    private let activity: WorkerPool
    private let tracker: Tracker

    init(clock: EngineClock, activity: WorkerPool, tracker: Tracker) {
        self.clock = clock
        self.activity = activity
        self.tracker = tracker
    }

    func schedule(_ target: Target, at due: Duration) {
        if let arm = machine.schedule(target, at: due) { rearm(arm) }
        activity.publishTimerDue(machine.earliest)
    }

    func stop() {
        sleeper?.cancel()
        sleeper = nil
    }

    private func rearm(_ due: Duration) {
        sleeper?.cancel()
        let clock = clock
        sleeper = Task { [weak self] in
            do { try await clock.sleep(due) } catch { return }
            await self?.fire()
        }
    }

    private func fire() async {
        activity.beginActivity()
        let (due, rearmAt) = machine.fire(now: clock.now())
        sleeper = nil
        if let rearmAt { rearm(rearmAt) }
        activity.publishTimerDue(machine.earliest)
        var woken = 0
        for item in due {
            switch item.target {
            case .wake(let mailbox):
                await mailbox.wake(at: item.due)
                woken += 1
                if woken % Self.wakeBatch == 0 { activity.handOffReady() }
            case .timeout(let context):
                context.requestCancellation(timedOut: true)
            case .deadline(let id, let token):
                tracker.giveUp(id, token: token)
            case .action(let action):
                action()
            }
        }
        if woken > 0 { activity.handOffReady() }
        activity.endActivity()
    }

    /// How many mailboxes the timer makes ready before handing them to parked workers.
    static let wakeBatch = 64
}
