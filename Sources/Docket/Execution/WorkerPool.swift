import Synchronization

/// The ready queue of mailboxes and the workers that drain it, bounded by the docket's
/// concurrency limit; also the gauge that tells when the docket is idle.
///
/// Workers are started lazily, one per concurrent slot at most, and park when the queue
/// is empty: there is no task per operation. A worker that finishes an operation keeps
/// draining the same mailbox for a bounded run before going back to the queue.
final class WorkerPool: Sendable {
    private struct State {
        var ready = Ring<Mailbox>()
        var parked: [UnsafeContinuation<Mailbox?, Never>] = []
        var workers = 0
        var busy = 0
        var activities = 0
        var gateOpen: Bool
        /// Closed for good by a shutdown (``setGate(open:sealing:)``): a batch run does not open it again.
        var gateSealed = false
        var stopped = false
        /// The docket went away (``releaseReady()``): a mailbox enqueued from now on (the end
        /// of a turn still running, a wake already taken from the timer) is let go at once.
        var released = false
        var timerDue: Duration?
        var idleWaiters: [UnsafeContinuation<Void, Never>] = []
        var quietWaiters: [UnsafeContinuation<Void, Never>] = []
        /// A shutdown's deadline passed: waiting for quiet ends at once from then on, so a
        /// deadline that fires before the shutdown starts waiting is not lost.
        var quietDeadlinePassed = false
    }

    let maxWorkers: Int
    /// The workers' priority; `nil` for the priority of the task that starts each one.
    let priority: TaskPriority?
    private let state: Locked<State>
    /// What ``keepsDraining(budgetLeft:)`` reads, so a worker asks it after every operation
    /// without taking the pool's lock (written by every worker and submitter): the ready
    /// queue's length while the gate is open and the pool runs, else -1. Written under the
    /// lock whenever one of those changes, so a read sees the state as of some unlock.
    private let drainSignal: Atomic<Int>
    private let clock: EngineClock

    /// How many operations a worker runs from one mailbox before giving others a turn.
    static let drainBudget = 32
    /// How long after its worker last gave its thread up a lone line's turn may run past its
    /// budget (``TurnLimit``).
    let loneLineSlice: Duration
    /// ``DocketConfiguration/turnObserver``.
    private let turnObserver: (@Sendable (String, Int) async -> Void)?
    /// The number of workers holding a mailbox, for ``runsAlone``; written under the lock
    /// whenever it changes, read without it.
    private let busySignal = Atomic<Int>(0)

    init(
        maxWorkers: Int, gateOpen: Bool, priority: TaskPriority? = nil, loneLineSlice: Duration = TurnLimit.slice,
        turnObserver: (@Sendable (String, Int) async -> Void)? = nil, clock: EngineClock
    ) {
        self.maxWorkers = maxWorkers
        self.loneLineSlice = loneLineSlice
        self.turnObserver = turnObserver
        self.priority = priority
        self.clock = clock
        self.state = Locked(State(gateOpen: gateOpen))
        self.drainSignal = Atomic(gateOpen ? 0 : -1)
    }

    /// Publishes the state ``keepsDraining(budgetLeft:)`` answers from; called under the lock
    /// after every change to the ready queue, the gate or `stopped`.
    private func publishDrainSignal(_ state: borrowing State) {
        drainSignal.store(state.gateOpen && !state.stopped ? state.ready.count : -1, ordering: .relaxed)
    }

    /// Counts a worker taking a mailbox (`+1`) or ending its turn (`-1`), and publishes the
    /// count ``runsAlone`` reads; called under the lock.
    private func changeBusy(_ state: inout State, by change: Int) {
        state.busy += change
        busySignal.store(state.busy, ordering: .relaxed)
    }

    private func spawnWorkers(_ count: Int) {
        for _ in 0..<count { Task(priority: priority) { await self.work() } }
    }

    /// Puts a mailbox whose head is runnable on the ready queue, handing it to a parked worker if one waits.
    func enqueue(_ mailbox: Mailbox) {
        enum Step { case handOff(UnsafeContinuation<Mailbox?, Never>), spawn, none }
        let step = state.withLock { state -> Step in
            // Let go by the caller, after unlocking.
            if state.released { return .none }
            if state.gateOpen, !state.parked.isEmpty {
                changeBusy(&state, by: 1)
                return .handOff(state.parked.removeLast())
            }
            state.ready.append(mailbox)
            publishDrainSignal(state)
            guard state.gateOpen, !state.stopped, state.workers < maxWorkers else { return .none }
            state.workers += 1
            return .spawn
        }
        switch step {
        case .handOff(let worker): worker.resume(returning: mailbox)
        case .spawn: spawnWorkers(1)
        case .none: break
        }
    }

    /// Puts a batch of mailboxes on the ready queue under one lock, hands them to parked
    /// workers and starts workers up to the limit: the timer's way of making the lines it
    /// woke ready, one lock and at most one wake per worker for the whole batch.
    /// The mailboxes are moved from `mailboxes`, which is left empty.
    func enqueue(contentsOf mailboxes: inout Ring<Mailbox>) {
        guard !mailboxes.isEmpty else { return }
        let started = state.withLock { state -> (handOffs: [(UnsafeContinuation<Mailbox?, Never>, Mailbox)], spawn: Int)? in
            if state.released { return nil }
            while let mailbox = mailboxes.popFirst() { state.ready.append(mailbox) }
            defer { publishDrainSignal(state) }
            return state.gateOpen ? startReady(&state) : ([], 0)
        }
        guard let (handOffs, spawn) = started else {
            // The docket went away: its woken lines are let go here, after unlocking.
            mailboxes = Ring()
            return
        }
        for (worker, mailbox) in handOffs { worker.resume(returning: mailbox) }
        spawnWorkers(spawn)
    }

    /// A worker's life: drain what the queue hands it until the pool stops. The mailbox is
    /// called directly, not through a stored closure: a closure kept in a generic container
    /// is called through reabstraction thunks, each allocating an async frame per turn.
    ///
    /// Taking the next mailbox from a non-empty queue does not suspend, so a worker gives its
    /// thread back to the cooperative pool at the end of the turn in which it reaches
    /// ``drainBudget`` operations since it last gave it up (or parked), in one line or
    /// several: a backlog of bodies that never suspend would otherwise keep the server's
    /// other tasks (request handlers, the docket's own callers) off the pool's threads until
    /// it drained.
    ///
    /// A lone busy line keeps its worker past the budget: the worker gives its thread back
    /// between turns with the line ready and off the queue (no other mailbox waits), and
    /// claims it again, unless by then another mailbox waits or the gate closed. While it runs
    /// alone, with no other worker busy, its turns last until a slice of time after the
    /// worker last gave its thread up (``TurnLimit``).
    private func work() async {
        var sinceYield = 0
        // Ended attempts' contexts kept for the next (``Mailbox/drain(_:spares:)``).
        var spares = Mailbox.SpareContexts()
        var mailbox = await next()
        var stretchStart = ContinuousClock.now
        // The turn is taken and reported inline at both call sites: a local async function
        // would cost an async frame per turn, and at many objects a turn is one operation.
        func limit() -> TurnLimit { TurnLimit(budget: Self.drainBudget, deadline: stretchStart + loneLineSlice) }
        // Whether the worker takes its next mailbox with `next()`, which may park it.
        var waitsForNext = false
        while true {
            if waitsForNext {
                waitsForNext = false
                mailbox = await next()
                stretchStart = .now
            }
            // The turn's mailbox goes out of scope before the worker counts itself idle: a
            // parked worker holds none (a retired one would stay allocated meanwhile), and
            // once the pool reads idle no worker does (a docket going away then lets go of
            // its engine at once).
            do {
                guard let current = mailbox.take() else { return }
                var turn = await current.drain(limit(), spares: spares.takeAll())
                spares = turn.spares.takeAll()
                if let turnObserver { await turnObserver(current.key.description, turn.ran) }
                sinceYield += turn.ran
                while turn.keepsLine {
                    sinceYield = 0
                    await Task.yield()
                    stretchStart = .now
                    guard keepsDraining(budgetLeft: false) else {
                        // Another mailbox waits, or the gate closed: the ready line joins the queue.
                        enqueue(current)
                        break
                    }
                    turn = await current.drain(limit(), spares: spares.takeAll())
                    spares = turn.spares.takeAll()
                    if let turnObserver { await turnObserver(current.key.description, turn.ran) }
                    sinceYield += turn.ran
                }
            }
            if sinceYield >= Self.drainBudget {
                sinceYield = 0
                finishedOne()
                await Task.yield()
                waitsForNext = true
            } else {
                // One lock for the end of this turn and the start of the next, and no
                // suspension while the queue has a mailbox: at many objects a turn is one or
                // two operations long.
                switch finishedOneAndTakeNext() {
                case .mailbox(let next):
                    mailbox = next
                case .stop:
                    return
                case .park:
                    // Parked, the worker gives its thread up (or takes a mailbox queued
                    // meanwhile, when counting afresh only makes it yield sooner).
                    sinceYield = 0
                    waitsForNext = true
                }
            }
        }
    }

    /// What a worker may do next, decided under the lock.
    private enum Next {
        case mailbox(Mailbox)
        /// The pool stopped: the worker ends (it is no longer counted).
        case stop
        /// Nothing to take: the worker must park.
        case park
    }

    /// Takes a mailbox off the queue if the gate is open and one waits; ends the worker if
    /// the pool stopped. Called under the lock.
    private func takeNext(_ state: inout State) -> Next {
        if state.stopped {
            state.workers -= 1
            return .stop
        }
        guard state.gateOpen, let mailbox = state.ready.popFirst() else { return .park }
        changeBusy(&state, by: 1)
        publishDrainSignal(state)
        return .mailbox(mailbox)
    }

    /// The next mailbox to drain, parking the worker until one is handed to it; `nil` once
    /// the pool stops. Suspends only to park.
    private func next() async -> Mailbox? {
        switch state.withLock({ takeNext(&$0) }) {
        case .mailbox(let mailbox): return mailbox
        case .stop: return nil
        case .park: break
        }
        return await withUnsafeContinuation { (continuation: UnsafeContinuation<Mailbox?, Never>) in
            let immediate = state.withLock { state -> Mailbox?? in
                switch takeNext(&state) {
                case .mailbox(let mailbox): return .some(mailbox)
                case .stop: return .some(nil)
                case .park:
                    state.parked.append(continuation)
                    return nil
                }
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }

    /// A worker ended its turn with a mailbox.
    private func finishedOne() {
        let waiters = state.withLock { state in
            changeBusy(&state, by: -1)
            return takeWaiters(&state)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// ``finishedOne()`` and the first step of ``next()`` under one lock: the same as the two
    /// in a row with nothing between them.
    private func finishedOneAndTakeNext() -> Next {
        let (waiters, next) = state.withLock { state in
            changeBusy(&state, by: -1)
            let waiters = takeWaiters(&state)
            return (waiters, takeNext(&state))
        }
        for waiter in waiters { waiter.resume() }
        return next
    }

    // MARK: Idle gauge

    /// Something not on the ready queue is in flight (a timer firing): the docket is not idle until it ends.
    func beginActivity() {
        state.withLock { $0.activities += 1 }
    }

    func endActivity() {
        let waiters = state.withLock { state in
            state.activities -= 1
            return takeWaiters(&state)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// The timer's earliest due time: once the clock reaches it, work is pending.
    func publishTimerDue(_ due: Duration?) {
        let waiters = state.withLock { state in
            state.timerDue = due
            return takeWaiters(&state)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Suspends until nothing is running or runnable: every remaining operation is finished,
    /// blocked, waiting for a dependency, or waiting on the clock (with the gate closed,
    /// ready work does not count).
    func waitUntilIdle() async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let idle = state.withLock { state -> Bool in
                if isIdle(state) { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    /// Releases every ``waitUntilQuiet()`` waiter now, quiet or not (a shutdown deadline),
    /// and every later one at once.
    func releaseQuietWaiters() {
        let waiters = state.withLock { state in
            state.quietDeadlinePassed = true
            defer { state.quietWaiters = [] }
            return state.quietWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Suspends until no worker is running an operation, or a shutdown's deadline passed.
    func waitUntilQuiet() async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let quiet = state.withLock { state -> Bool in
                if state.busy == 0 || state.quietDeadlinePassed { return true }
                state.quietWaiters.append(continuation)
                return false
            }
            if quiet { continuation.resume() }
        }
    }

    var busyWorkers: Int { state.withLock { $0.busy } }

    /// How many mailboxes wait on the ready queue (for tests).
    var queuedMailboxes: Int { state.withLock { $0.ready.count } }

    /// Whether a worker may go on to its mailbox's next operation: the gate is open and,
    /// once its budget is spent, no other mailbox is waiting for a worker (a lone busy object
    /// keeps its worker instead of handing itself to another through the queue).
    func keepsDraining(budgetLeft: Bool) -> Bool {
        let signal = drainSignal.load(ordering: .relaxed)
        return signal >= 0 && (budgetLeft || signal == 0)
    }

    /// Whether the calling worker, which holds a mailbox, is the only one that does: its line
    /// runs alone, and may run past its budget (``TurnLimit``).
    var runsAlone: Bool {
        busySignal.load(ordering: .relaxed) == 1
    }

    // MARK: Gate

    /// Opens or closes the gate; with it closed, ready mailboxes wait in the queue (batch mode, shutdown).
    /// With `sealing` (a shutdown), it stays closed from then on, whoever asks to open it.
    func setGate(open: Bool, sealing: Bool = false) {
        let (handOffs, spawn, waiters) = state.withLock { state in
            if sealing { state.gateSealed = true }
            state.gateOpen = open && !state.gateSealed && !state.stopped
            let (handOffs, spawn) = state.gateOpen ? startReady(&state) : ([], 0)
            publishDrainSignal(state)
            return (handOffs, spawn, takeWaiters(&state))
        }
        for (worker, mailbox) in handOffs { worker.resume(returning: mailbox) }
        spawnWorkers(spawn)
        for waiter in waiters { waiter.resume() }
    }

    /// Empties the ready queue of a stopped pool, releasing its mailboxes after unlocking,
    /// and lets go of every mailbox enqueued from then on (for an engine whose docket went
    /// away: ``Engine/release()``).
    func releaseReady() {
        var released = Ring<Mailbox>()
        state.withLock { state in
            precondition(state.stopped, "only a stopped pool lets go of its ready queue")
            state.released = true
            swap(&released, &state.ready)
        }
        _ = consume released
    }

    /// Ends the workers once they finish what they hold.
    func stop() {
        let parked = state.withLock { state in
            state.stopped = true
            state.gateOpen = false
            publishDrainSignal(state)
            state.workers -= state.parked.count
            defer { state.parked = [] }
            return state.parked
        }
        for worker in parked { worker.resume(returning: nil) }
    }

    /// With the gate open: takes a queued mailbox for each parked worker, and counts (and
    /// reserves) the workers to start for the mailboxes still queued, up to the limit. The
    /// caller resumes and starts them after unlocking.
    private func startReady(_ state: inout State) -> (handOffs: [(UnsafeContinuation<Mailbox?, Never>, Mailbox)], spawn: Int) {
        guard !state.stopped else { return ([], 0) }
        let handOffs = pairParkedWithReady(&state)
        let spawn = Swift.max(0, Swift.min(state.ready.count, maxWorkers - state.workers))
        state.workers += spawn
        return (handOffs, spawn)
    }

    /// Takes a queued mailbox for each parked worker, to resume them after unlocking.
    private func pairParkedWithReady(_ state: inout State) -> [(UnsafeContinuation<Mailbox?, Never>, Mailbox)] {
        var handOffs: [(UnsafeContinuation<Mailbox?, Never>, Mailbox)] = []
        while !state.parked.isEmpty, let mailbox = state.ready.popFirst() {
            changeBusy(&state, by: 1)
            handOffs.append((state.parked.removeLast(), mailbox))
        }
        return handOffs
    }

    private func isIdle(_ state: State) -> Bool {
        guard state.busy == 0, state.activities == 0 else { return false }
        if state.gateOpen && !state.ready.isEmpty { return false }
        if let due = state.timerDue, due <= clock.now() { return false }
        return true
    }

    private func takeWaiters(_ state: inout State) -> [UnsafeContinuation<Void, Never>] {
        var waiters: [UnsafeContinuation<Void, Never>] = []
        if state.busy == 0 {
            waiters += state.quietWaiters
            state.quietWaiters = []
        }
        if !state.idleWaiters.isEmpty, isIdle(state) {
            waiters += state.idleWaiters
            state.idleWaiters = []
        }
        return waiters
    }
}
