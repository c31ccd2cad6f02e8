@testable import Docket
import Testing

/// Unit tests of the per-object line's decisions: events in, exact actions and phases out.
@Suite("Mailbox state machine")
struct MailboxStateMachineTests {
    typealias Machine = MailboxStateMachine<String>
    typealias Entry = Machine.Entry

    /// A flattened, comparable view of the machine's result enums (which are not `Equatable`).
    enum Seen: Equatable, CustomStringConvertible {
        case run(OperationID, attempt: Int, job: String)
        case then(Machine.Action)
        case blocked(removedRunNow: [OperationID])
        case accepted(Machine.Action)
        case refusedBlocked(OperationID)
        case retired

        var description: String {
            switch self {
            case .run(let id, let attempt, let job): "run(\(id.low), attempt: \(attempt), job: \(job))"
            case .then(let action): "then(\(action))"
            case .blocked(let ids): "blocked(removedRunNow: \(ids.map(\.low)))"
            case .accepted(let action): "accepted(\(action))"
            case .refusedBlocked(let id): "refusedBlocked(\(id.low))"
            case .retired: "retired"
            }
        }
    }

    static func id(_ n: UInt64) -> OperationID { OperationID(high: 0xD0C_4E7, low: n) }

    /// A sequence number for each test ID, distinct per ID: the machine only hands it on.
    static func sequence(of id: OperationID) -> UInt32 { UInt32(truncatingIfNeeded: id.low &* 7 &+ 3) }

    let a = Self.id(1)
    let b = Self.id(2)
    let c = Self.id(3)
    let d = Self.id(4)
    let e = Self.id(5)
    let x = Self.id(100)
    let y = Self.id(101)
    let unknown = Self.id(999)

    func s(_ n: Int) -> Duration { .seconds(n) }

    func entry(
        _ id: OperationID, _ job: String? = nil, due: Duration = .zero, deps: [OperationID] = [], runsNow: Bool = false
    ) -> Entry {
        Entry(id: id, sequence: Self.sequence(of: id), job: job ?? "job\(id.low)", due: due, dependencies: deps, runsNow: runsNow)
    }

    func seen(_ next: Machine.Next) -> Seen {
        switch next {
        case .run(let entry): .run(entry.id, attempt: entry.attempt, job: entry.job)
        case .then(let action): .then(action)
        }
    }

    func seen(_ result: Machine.FinishResult) -> Seen {
        switch result {
        case .next(let next): seen(next)
        case .blocked(let removed): .blocked(removedRunNow: removed.map(\.id))
        }
    }

    func seen(_ result: Machine.EnqueueResult) -> Seen {
        switch result {
        case .accepted(let action): .accepted(action)
        case .refusedBlocked(let failed, _): .refusedBlocked(failed)
        case .retired: .retired
        }
    }

    func refusal(_ result: Result<Void, Machine.Refusal>) -> Machine.Refusal? {
        switch result {
        case .success: nil
        case .failure(let refusal): refusal
        }
    }

    func ids(_ machine: Machine) -> [OperationID] { machine.line.map(\.id) }
    func held(_ machine: Machine) -> [Bool] { machine.line.map(\.isHeld) }

    /// Enqueues the entries at `now`, returning what each enqueue answered.
    func enqueueAll(_ machine: inout Machine, _ entries: [Entry], now: Duration = .zero) -> [Seen] {
        entries.map { seen(machine.enqueue($0, now: now)) }
    }

    /// A machine whose head `a` ran and failed, with `followers` queued behind it.
    func blockedMachine(followers: [Entry]) -> Machine {
        var machine = Machine()
        _ = machine.enqueue(entry(a), now: .zero)
        for follower in followers { _ = machine.enqueue(follower, now: .zero) }
        #expect(seen(machine.claim(now: .zero)) == .run(a, attempt: 1, job: "job1"))
        #expect(seen(machine.finish(a, outcome: .failed, now: .zero, keepDraining: true)) == .blocked(removedRunNow: []))
        #expect(machine.phase == .blocked(a))
        return machine
    }

    // MARK: Order and one-at-a-time

    @Test("A fresh machine is idle, empty and unblocked")
    func fresh() {
        let machine = Machine()
        #expect(machine.phase == .idle)
        #expect(machine.line.isEmpty)
        #expect(machine.blockedBy == nil)
    }

    @Test("The first due entry makes the mailbox ready; later enqueues add nothing while it is ready")
    func enqueueMakesReadyOnce() {
        var machine = Machine()
        let answers = enqueueAll(&machine, [entry(a), entry(b), entry(c)])
        #expect(answers == [.accepted(.makeReady), .accepted(.none), .accepted(.none)])
        #expect(machine.phase == .ready)
        #expect(ids(machine) == [a, b, c])
    }

    @Test("Entries run one at a time in FIFO order, and the drained line retires")
    func fifoDrain() {
        var machine = Machine()
        _ = enqueueAll(&machine, [entry(a), entry(b), entry(c), entry(d), entry(e)])
        var order: [OperationID] = []
        var next = seen(machine.claim(now: .zero))
        while case .run(let id, let attempt, _) = next {
            #expect(attempt == 1)
            #expect(machine.phase == .running(id))
            order.append(id)
            next = seen(machine.finish(id, outcome: .done, now: .zero, keepDraining: true))
        }
        #expect(order == [a, b, c, d, e])
        #expect(next == .then(.retire))
        #expect(machine.phase == .retired)
        #expect(machine.line.isEmpty)
    }

    @Test("While the head runs, a second enqueue returns .none and a second claim starts nothing")
    func oneAtATime() {
        var machine = Machine()
        _ = machine.enqueue(entry(a, "A"), now: .zero)
        _ = machine.enqueue(entry(b), now: .zero)
        #expect(seen(machine.claim(now: .zero)) == .run(a, attempt: 1, job: "A"))
        #expect(machine.phase == .running(a))

        #expect(seen(machine.enqueue(entry(c), now: .zero)) == .accepted(.none))
        #expect(seen(machine.enqueue(entry(d, runsNow: true), now: .zero)) == .accepted(.none))
        #expect(seen(machine.claim(now: .zero)) == .then(.none))
        #expect(machine.phase == .running(a))
        #expect(ids(machine) == [a, b, c, d])
        #expect(machine.line.map(\.attempt) == [1, 0, 0, 0])
    }

    @Test("Claim starts the head, sets the phase to running and increments its attempt")
    func claimStartsHead() {
        var machine = Machine()
        _ = machine.enqueue(entry(a, "A"), now: .zero)
        #expect(machine.line.first?.attempt == 0)
        #expect(seen(machine.claim(now: .zero)) == .run(a, attempt: 1, job: "A"))
        #expect(machine.phase == .running(a))
        #expect(machine.line.first?.attempt == 1)
        #expect(machine.line.first?.attemptsThisRound == 1)
    }

    @Test("Claim when the mailbox is not ready returns .then(.none) and changes nothing")
    func claimWhenNotReady() {
        var machine = Machine()
        #expect(seen(machine.claim(now: .zero)) == .then(.none))
        #expect(machine.phase == .idle)

        _ = machine.enqueue(entry(a, due: s(10)), now: .zero)
        #expect(seen(machine.claim(now: s(1))) == .then(.none))
        #expect(machine.phase == .idle)
        #expect(machine.line.first?.attempt == 0)
    }

    @Test("finish(.putBack) takes the attempt back and leaves the head ready, asking for nothing, whatever keepDraining says")
    func finishPutBack() {
        var machine = Machine()
        _ = enqueueAll(&machine, [entry(a, "A"), entry(b, "B")])
        _ = machine.claim(now: .zero)
        #expect(seen(machine.finish(a, outcome: .putBack, now: s(1), keepDraining: true)) == .then(.none))
        #expect(machine.phase == .ready)
        #expect(ids(machine) == [a, b])
        #expect(machine.line.first?.attempt == 0)
        // Claimed later (a next docket's would be a fresh line), it is the first attempt again.
        #expect(seen(machine.claim(now: s(2))) == .run(a, attempt: 1, job: "A"))
    }

    @Test("finish(.done) with keepDraining returns .run(next) directly")
    func finishDoneKeepDraining() {
        var machine = Machine()
        _ = enqueueAll(&machine, [entry(a), entry(b, "B")])
        _ = machine.claim(now: .zero)
        #expect(seen(machine.finish(a, outcome: .done, now: s(1), keepDraining: true)) == .run(b, attempt: 1, job: "B"))
        #expect(machine.phase == .running(b))
        #expect(ids(machine) == [b])
    }

    @Test("finish(.done) without keepDraining returns .then(.makeReady) and waits for a claim")
    func finishDoneWithoutDraining() {
        var machine = Machine()
        _ = enqueueAll(&machine, [entry(a), entry(b, "B")])
        _ = machine.claim(now: .zero)
        #expect(seen(machine.finish(a, outcome: .done, now: s(1), keepDraining: false)) == .then(.makeReady))
        #expect(machine.phase == .ready)
        #expect(ids(machine) == [b])
        #expect(machine.line.first?.attempt == 0)
        #expect(seen(machine.claim(now: s(1))) == .run(b, attempt: 1, job: "B"))
    }

    @Test("finish of the last entry retires, with or without keepDraining")
    func finishLastRetires() {
        for keepDraining in [true, false] {
            var machine = Machine()
            _ = machine.enqueue(entry(a), now: .zero)
            _ = machine.claim(now: .zero)
            #expect(seen(machine.finish(a, outcome: .done, now: .zero, keepDraining: keepDraining)) == .then(.retire))
            #expect(machine.phase == .retired)
        }
    }

    @Test("finish for an ID that is not the running head is ignored")
    func finishWrongID() {
        var machine = Machine()
        _ = enqueueAll(&machine, [entry(a), entry(b)])
        // Not running yet: ready.
        #expect(seen(machine.finish(a, outcome: .done, now: .zero, keepDraining: true)) == .then(.none))
        #expect(machine.phase == .ready)
        #expect(ids(machine) == [a, b])

        _ = machine.claim(now: .zero)
        #expect(seen(machine.finish(b, outcome: .done, now: .zero, keepDraining: true)) == .then(.none))
        #expect(seen(machine.finish(b, outcome: .failed, now: .zero, keepDraining: true)) == .then(.none))
        #expect(machine.phase == .running(a))
        #expect(ids(machine) == [a, b])
    }

    // MARK: Delays and wakes

    @Test("A delayed head schedules exactly one wake; later entries never overtake it")
    func delayedHeadIsNotOvertaken() {
        var machine = Machine()
        #expect(seen(machine.enqueue(entry(a, "A", due: s(10)), now: .zero)) == .accepted(.scheduleWake(s(10))))
        #expect(machine.phase == .idle)
        // Due now, and due before the head: neither arms another wake nor becomes ready.
        #expect(seen(machine.enqueue(entry(b, "B"), now: s(1))) == .accepted(.none))
        #expect(seen(machine.enqueue(entry(c, "C", due: s(5)), now: s(2))) == .accepted(.none))
        #expect(seen(machine.enqueue(entry(d, "D", due: s(20)), now: s(3))) == .accepted(.none))
        #expect(machine.phase == .idle)
        // Past the followers' due times but before the head's: nothing starts.
        #expect(seen(machine.claim(now: s(6))) == .then(.none))
        #expect(machine.phase == .idle)

        #expect(machine.wake(at: s(10), now: s(10)) == .makeReady)
        #expect(machine.phase == .ready)
        #expect(seen(machine.claim(now: s(10))) == .run(a, attempt: 1, job: "A"))
        #expect(seen(machine.finish(a, outcome: .done, now: s(11), keepDraining: true)) == .run(b, attempt: 1, job: "B"))
        #expect(seen(machine.finish(b, outcome: .done, now: s(11), keepDraining: true)) == .run(c, attempt: 1, job: "C"))
        // d is due at 20: one wake for it.
        #expect(seen(machine.finish(c, outcome: .done, now: s(12), keepDraining: true)) == .then(.scheduleWake(s(20))))
        #expect(machine.phase == .idle)
        #expect(machine.wake(at: s(20), now: s(20)) == .makeReady)
        #expect(seen(machine.claim(now: s(20))) == .run(d, attempt: 1, job: "D"))
    }

    @Test("A wake for another time before the head is due re-arms nothing extra")
    func staleWakeBeforeDue() {
        var machine = Machine()
        #expect(seen(machine.enqueue(entry(a, due: s(10)), now: .zero)) == .accepted(.scheduleWake(s(10))))
        // The wake for 10 is still outstanding: an unrelated earlier wake changes nothing.
        #expect(machine.wake(at: s(4), now: s(4)) == .none)
        #expect(machine.wake(at: s(7), now: s(7)) == .none)
        #expect(machine.phase == .idle)
        #expect(machine.wake(at: s(10), now: s(10)) == .makeReady)
        #expect(machine.phase == .ready)
    }

    @Test("The armed wake firing early (clock behind) re-arms it exactly once")
    func armedWakeFiresEarly() {
        var machine = Machine()
        _ = machine.enqueue(entry(a, due: s(10)), now: .zero)
        // The outstanding wake was consumed before the head was due: one new wake is needed.
        #expect(machine.wake(at: s(10), now: s(9)) == .scheduleWake(s(10)))
        // And only one: a further stray wake does not schedule again.
        #expect(machine.wake(at: s(3), now: s(9)) == .none)
        #expect(machine.phase == .idle)
        #expect(machine.wake(at: s(10), now: s(10)) == .makeReady)
    }

    @Test("A wake while the mailbox is ready, running or blocked starts nothing")
    func wakeWhenBusy() {
        var machine = Machine()
        _ = enqueueAll(&machine, [entry(a), entry(b)])
        #expect(machine.wake(at: .zero, now: s(1)) == .none)
        #expect(machine.phase == .ready)
        _ = machine.claim(now: s(1))
        #expect(machine.wake(at: .zero, now: s(1)) == .none)
        #expect(machine.phase == .running(a))
        _ = machine.finish(a, outcome: .failed, now: s(1), keepDraining: true)
        #expect(machine.wake(at: .zero, now: s(2)) == .none)
        #expect(machine.phase == .blocked(a))
    }

    @Test("A follower whose due time passed while the head ran starts at once, without a wake")
    func overdueFollowerRunsAtOnce() {
        var machine = Machine()
        _ = enqueueAll(&machine, [entry(a), entry(b, "B", due: s(5))])
        _ = machine.claim(now: .zero)
        #expect(seen(machine.finish(a, outcome: .done, now: s(7), keepDraining: true)) == .run(b, attempt: 1, job: "B"))
    }

    @Test("A delayed follower gets one wake when the head finishes before it is due")
    func delayedFollowerAfterHead() {
        var machine = Machine()
        _ = enqueueAll(&machine, [entry(a), entry(b, "B", due: s(20))])
        _ = machine.claim(now: .zero)
        #expect(seen(machine.finish(a, outcome: .done, now: s(5), keepDraining: true)) == .then(.scheduleWake(s(20))))
        #expect(machine.phase == .idle)
        #expect(seen(machine.enqueue(entry(c), now: s(6))) == .accepted(.none))
        #expect(machine.wake(at: s(20), now: s(20)) == .makeReady)
        #expect(seen(machine.claim(now: s(20))) == .run(b, attempt: 1, job: "B"))
    }

    // MARK: Retries with backoff

    @Test("finish(.retry(at:)) keeps the entry at the head with the new due time")
    func retryAtKeepsHead() {
        var machine = Machine()
        _ = enqueueAll(&machine, [entry(a, "A"), entry(b)])
        #expect(seen(machine.claim(now: .zero)) == .run(a, attempt: 1, job: "A"))
        #expect(seen(machine.finish(a, outcome: .retry(at: s(30)), now: s(10), keepDraining: true)) == .then(.scheduleWake(s(30))))
        #expect(machine.phase == .idle)
        #expect(ids(machine) == [a, b])
        #expect(machine.line.first?.due == s(30))
        #expect(machine.line.first?.attempt == 1)
        // The follower does not overtake the backing-off head.
        #expect(seen(machine.claim(now: s(15))) == .then(.none))
        #expect(machine.wake(at: s(30), now: s(30)) == .makeReady)
        #expect(seen(machine.claim(now: s(30))) == .run(a, attempt: 2, job: "A"))
        #expect(machine.line.first?.attemptsThisRound == 2)
        #expect(seen(machine.finish(a, outcome: .done, now: s(31), keepDraining: false)) == .then(.makeReady))
        #expect(ids(machine) == [b])
    }

    @Test("finish(.retry(at:)) already due runs again at once when draining, or becomes ready")
    func retryAtAlreadyDue() {
        var draining = Machine()
        _ = draining.enqueue(entry(a, "A"), now: .zero)
        _ = draining.claim(now: .zero)
        #expect(seen(draining.finish(a, outcome: .retry(at: s(3)), now: s(3), keepDraining: true)) == .run(a, attempt: 2, job: "A"))
        #expect(draining.phase == .running(a))

        var notDraining = Machine()
        _ = notDraining.enqueue(entry(a, "A"), now: .zero)
        _ = notDraining.claim(now: .zero)
        #expect(seen(notDraining.finish(a, outcome: .retry(at: s(3)), now: s(3), keepDraining: false)) == .then(.makeReady))
        #expect(notDraining.phase == .ready)
        #expect(notDraining.line.first?.attempt == 1)
    }

    // MARK: Failure and blocking

    @Test("finish(.failed) blocks, keeps the failed head and removes run-now followers")
    func failedBlocks() {
        var machine = Machine()
        _ = enqueueAll(&machine, [entry(a), entry(b, runsNow: true), entry(c), entry(d, runsNow: true), entry(e)])
        _ = machine.claim(now: .zero)
        #expect(seen(machine.finish(a, outcome: .failed, now: s(1), keepDraining: true)) == .blocked(removedRunNow: [b, d]))
        #expect(machine.phase == .blocked(a))
        #expect(machine.blockedBy == a)
        #expect(ids(machine) == [a, c, e])
        // Nothing behind the failed head starts.
        #expect(seen(machine.claim(now: s(2))) == .then(.none))
        #expect(machine.phase == .blocked(a))
    }

    @Test("finish(.failed) hands back each removed run-now follower with the dependencies it still waited for")
    func failedBlocksWithDependencies() {
        var machine = Machine()
        _ = enqueueAll(&machine, [entry(a), entry(b, deps: [d, e], runsNow: true), entry(c, runsNow: true)])
        _ = machine.claim(now: .zero)
        guard case .blocked(let removed) = machine.finish(a, outcome: .failed, now: s(1), keepDraining: true) else {
            Issue.record("expected the line to block")
            return
        }
        #expect(removed.map(\.id) == [b, c])
        #expect(removed.map(\.dependencies) == [[d, e], []])
    }

    @Test("A failed run-now head stays; with no run-now followers nothing is removed")
    func failedRunNowHead() {
        var machine = Machine()
        _ = enqueueAll(&machine, [entry(a, runsNow: true), entry(b)])
        _ = machine.claim(now: .zero)
        #expect(seen(machine.finish(a, outcome: .failed, now: .zero, keepDraining: false)) == .blocked(removedRunNow: []))
        #expect(ids(machine) == [a, b])
        #expect(machine.phase == .blocked(a))
    }

    @Test("While blocked, a run-now enqueue is refused naming the failed op; a normal one stays queued")
    func enqueueWhileBlocked() {
        var machine = blockedMachine(followers: [entry(b)])
        #expect(seen(machine.enqueue(entry(c, runsNow: true), now: s(1))) == .refusedBlocked(a))
        #expect(ids(machine) == [a, b])
        // Refused with the dependencies it waited for, for the supervisor to forget.
        guard case .refusedBlocked(_, let dependencies) = machine.enqueue(entry(e, deps: [b], runsNow: true), now: s(1)) else {
            Issue.record("expected the refusal")
            return
        }
        #expect(dependencies == [b])
        #expect(seen(machine.enqueue(entry(d), now: s(1))) == .accepted(.none))
        #expect(ids(machine) == [a, b, d])
        #expect(machine.phase == .blocked(a))
        #expect(seen(machine.claim(now: s(1))) == .then(.none))
    }

    @Test("A run-now enqueue on a busy but unblocked object is accepted and waits its turn")
    func runNowWhileBusy() {
        var machine = Machine()
        _ = machine.enqueue(entry(a), now: .zero)
        _ = machine.claim(now: .zero)
        #expect(seen(machine.enqueue(entry(b, "B", runsNow: true), now: .zero)) == .accepted(.none))
        #expect(seen(machine.finish(a, outcome: .done, now: .zero, keepDraining: true)) == .run(b, attempt: 1, job: "B"))
    }

    @Test("Retry unblocks the failed head, due now, in a new round, optionally with a new job")
    func retryWithReplacement() {
        var machine = Machine()
        _ = enqueueAll(&machine, [entry(a, "original", due: s(5)), entry(b, "B")])
        _ = machine.wake(at: s(5), now: s(5))
        _ = machine.claim(now: s(5))
        _ = machine.finish(a, outcome: .failed, now: s(6), keepDraining: true)
        #expect(machine.line.first?.attemptsThisRound == 1)

        #expect(machine.retry(a, replacing: "corrected", now: s(50)) == .success(.makeReady))
        #expect(machine.phase == .ready)
        #expect(machine.blockedBy == nil)
        #expect(machine.line.first?.job == "corrected")
        #expect(machine.line.first?.due == s(50))
        #expect(machine.line.first?.attempt == 1)
        #expect(machine.line.first?.attemptsThisRound == 0)

        #expect(seen(machine.claim(now: s(50))) == .run(a, attempt: 2, job: "corrected"))
        #expect(machine.line.first?.attemptsThisRound == 1)
        #expect(seen(machine.finish(a, outcome: .done, now: s(51), keepDraining: true)) == .run(b, attempt: 1, job: "B"))
    }

    @Test("A line entry of the engine's jobs takes 96 bytes and a start 80: the sequence number fills what would be padding")
    func entrySize() {
        #expect(MemoryLayout<MailboxStateMachine<Job>.Entry>.stride == 96)
        #expect(MemoryLayout<MailboxStateMachine<Job>.Start>.stride == 80)
    }

    @Test("Starting the head hands the worker its attempt, the attempts of this retry round, whether it runs now and its ID's sequence number")
    func startCarriesTheHeadsCounts() {
        func start(_ next: Machine.Next) -> Machine.Start? {
            if case .run(let start) = next { return start }
            return nil
        }
        var machine = Machine()
        _ = enqueueAll(&machine, [entry(a, "A", runsNow: true), entry(b, "B")])
        let first = start(machine.claim(now: .zero))
        #expect(first?.id == a)
        #expect(first?.sequence == Self.sequence(of: a))
        #expect(first?.attempt == 1)
        #expect(first?.attemptsThisRound == 1)
        #expect(first?.runsNow == true)

        // A failed attempt with attempts left stays at the head, and its round goes on.
        #expect(seen(machine.finish(a, outcome: .retry(at: s(1)), now: .zero, keepDraining: true)) == .then(.scheduleWake(s(1))))
        #expect(machine.wake(at: s(1), now: s(1)) == .makeReady)
        let retried = start(machine.claim(now: s(1)))
        #expect(retried?.attempt == 2)
        #expect(retried?.attemptsThisRound == 2)

        // A manual retry starts a new round: attempts go on counting, the round from one.
        #expect(seen(machine.finish(a, outcome: .failed, now: s(2), keepDraining: true)) == .blocked(removedRunNow: []))
        #expect(machine.retry(a, replacing: nil, now: s(3)) == .success(.makeReady))
        let manual = start(machine.claim(now: s(3)))
        #expect(manual?.attempt == 3)
        #expect(manual?.attemptsThisRound == 1)
        #expect(manual?.job == "A")

        #expect(seen(machine.finish(a, outcome: .done, now: s(4), keepDraining: false)) == .then(.makeReady))
        let next = start(machine.claim(now: s(4)))
        #expect(next?.id == b)
        #expect(next?.sequence == Self.sequence(of: b))
        #expect(next?.attempt == 1)
        #expect(next?.attemptsThisRound == 1)
        #expect(next?.runsNow == false)
    }

    @Test("Retry without a replacement keeps the original job")
    func retryWithoutReplacement() {
        var machine = Machine()
        _ = machine.enqueue(entry(a, "original"), now: .zero)
        _ = machine.claim(now: .zero)
        _ = machine.finish(a, outcome: .failed, now: .zero, keepDraining: true)
        #expect(machine.retry(a, replacing: nil, now: s(1)) == .success(.makeReady))
        #expect(seen(machine.claim(now: s(1))) == .run(a, attempt: 2, job: "original"))
    }

    @Test("Retry of an ID that is not the failed head is refused and changes nothing")
    func retryRefused() {
        var blocked = blockedMachine(followers: [entry(b)])
        #expect(blocked.retry(b, replacing: "x", now: s(1)) == .failure(.notBlockedBy(b)))
        #expect(blocked.retry(unknown, replacing: nil, now: s(1)) == .failure(.notBlockedBy(unknown)))
        #expect(blocked.phase == .blocked(a))
        #expect(blocked.line.map(\.job) == ["job1", "job2"])

        var running = Machine()
        _ = running.enqueue(entry(a), now: .zero)
        #expect(running.retry(a, replacing: nil, now: .zero) == .failure(.notBlockedBy(a)))
        #expect(running.phase == .ready)
        _ = running.claim(now: .zero)
        #expect(running.retry(a, replacing: "x", now: .zero) == .failure(.notBlockedBy(a)))
        #expect(running.phase == .running(a))
        #expect(running.line.first?.job == "job1")

        // A second retry after the first succeeded is refused too.
        _ = running.finish(a, outcome: .failed, now: .zero, keepDraining: true)
        #expect(running.retry(a, replacing: nil, now: .zero) == .success(.makeReady))
        #expect(running.retry(a, replacing: nil, now: .zero) == .failure(.notBlockedBy(a)))
        #expect(running.phase == .ready)
    }

    // MARK: Cancelling queued entries

    @Test("cancelQueued refuses the running head, the failed head and unknown IDs")
    func cancelRefusals() {
        var machine = Machine()
        _ = enqueueAll(&machine, [entry(a), entry(b), entry(c)])
        _ = machine.claim(now: .zero)
        #expect(machine.cancelQueued(a, now: .zero) == .failure(.running(a)))
        #expect(machine.cancelQueued(unknown, now: .zero) == .failure(.notInLine(unknown)))
        #expect(machine.cancelQueued(c, now: .zero) == .success(.none))
        #expect(ids(machine) == [a, b])
        #expect(machine.phase == .running(a))

        _ = machine.finish(a, outcome: .failed, now: .zero, keepDraining: true)
        #expect(machine.cancelQueued(a, now: .zero) == .failure(.failed(a)))
        #expect(machine.cancelQueued(b, now: .zero) == .success(.none))
        #expect(ids(machine) == [a])
        #expect(machine.phase == .blocked(a))
    }

    @Test("Cancelling a delayed head lets a due follower become ready")
    func cancelDelayedHead() {
        var machine = Machine()
        _ = enqueueAll(&machine, [entry(a, due: s(10)), entry(b)])
        #expect(machine.cancelQueued(a, now: s(1)) == .success(.makeReady))
        #expect(machine.phase == .ready)
        #expect(seen(machine.claim(now: s(1))) == .run(b, attempt: 1, job: "job2"))
    }

    @Test("A wake standing for several the line had not heard of consumes the earlier armed one")
    func laterWakeConsumesArmed() {
        var machine = Machine()
        #expect(seen(machine.enqueue(entry(a, due: s(10)), now: .zero)) == .accepted(.scheduleWake(s(10))))
        // The wakes for 10 and 20 reach the line together, as the latest of them.
        #expect(machine.wake(at: s(20), now: s(20)) == .makeReady)
        _ = machine.claim(now: s(20))
        _ = machine.enqueue(entry(b, due: s(30)), now: s(20))
        // The wake for 10 has fired, so the new head's later due time needs a wake of its own.
        #expect(seen(machine.finish(a, outcome: .done, now: s(21), keepDraining: true)) == .then(.scheduleWake(s(30))))
        #expect(machine.wake(at: s(30), now: s(30)) == .makeReady)
    }

    @Test("A line awaits its wake only while idle behind a delayed head with the wake armed")
    func awaitsWake() {
        var machine = Machine()
        #expect(!machine.awaitsWake)
        _ = machine.enqueue(entry(a, due: s(10)), now: .zero)
        #expect(machine.awaitsWake)
        _ = machine.enqueue(entry(b), now: s(1))
        #expect(machine.awaitsWake)
        #expect(machine.wake(at: s(10), now: s(10)) == .makeReady)
        #expect(!machine.awaitsWake)
        _ = machine.claim(now: s(10))
        #expect(!machine.awaitsWake)
        _ = machine.finish(a, outcome: .retry(at: s(20)), now: s(11), keepDraining: false)
        #expect(machine.awaitsWake)
        #expect(machine.cancelQueued(a, now: s(12)) == .success(.makeReady))
        #expect(!machine.awaitsWake)
    }

    @Test("Cancelling a delayed head before a later delayed follower relies on the outstanding wake")
    func cancelDelayedHeadBeforeLaterFollower() {
        var machine = Machine()
        _ = enqueueAll(&machine, [entry(a, due: s(10)), entry(b, due: s(30))])
        #expect(machine.cancelQueued(a, now: s(1)) == .success(.none))
        #expect(machine.wake(at: s(10), now: s(10)) == .scheduleWake(s(30)))
        #expect(machine.wake(at: s(30), now: s(30)) == .makeReady)
        #expect(seen(machine.claim(now: s(30))) == .run(b, attempt: 1, job: "job2"))
    }

    @Test("Cancelling the ready head leaves the claim to start the next one")
    func cancelReadyHead() {
        var machine = Machine()
        _ = enqueueAll(&machine, [entry(a), entry(b)])
        #expect(machine.cancelQueued(a, now: .zero) == .success(.none))
        #expect(machine.phase == .ready)
        #expect(seen(machine.claim(now: .zero)) == .run(b, attempt: 1, job: "job2"))
    }

    @Test("Cancelling the only, delayed entry retires the mailbox")
    func cancelOnlyEntryRetires() {
        var machine = Machine()
        _ = machine.enqueue(entry(a, due: s(10)), now: .zero)
        #expect(machine.cancelQueued(a, now: s(1)) == .success(.retire))
        #expect(machine.phase == .retired)
        #expect(seen(machine.enqueue(entry(b), now: s(2))) == .retired)
    }

    @Test("Cancelling the only ready entry retires at the claim")
    func cancelOnlyReadyEntry() {
        var machine = Machine()
        _ = machine.enqueue(entry(a), now: .zero)
        #expect(machine.cancelQueued(a, now: .zero) == .success(.none))
        #expect(machine.phase == .ready)
        #expect(seen(machine.claim(now: .zero)) == .then(.retire))
        #expect(machine.phase == .retired)
    }

    // MARK: Deletion

    @Test("Deleting the running op or an unknown ID is refused and holds nothing")
    func deletionRefusals() {
        var machine = Machine()
        _ = enqueueAll(&machine, [entry(a), entry(b)])
        _ = machine.claim(now: .zero)
        #expect(refusal(machine.prepareDeletion([a], followers: nil)) == .running(a))
        #expect(refusal(machine.prepareDeletion([a], followers: .cascade)) == .running(a))
        #expect(refusal(machine.prepareDeletion([unknown], followers: .keep)) == .notInLine(unknown))
        #expect(held(machine) == [false, false])
        #expect(machine.phase == .running(a))

        // A finished op is no longer in the line.
        _ = machine.finish(a, outcome: .done, now: .zero, keepDraining: true)
        #expect(refusal(machine.prepareDeletion([a], followers: nil)) == .notInLine(a))
        #expect(held(machine) == [false])
    }

    @Test("An entry another deletion holds cannot be reserved again, and the refusal changes no hold")
    func heldEntryRefused() {
        var machine = blockedMachine(followers: [entry(b), entry(c)])
        #expect(refusal(machine.prepareDeletion([b], followers: nil)) == nil)
        #expect(held(machine) == [false, true, false])
        #expect(refusal(machine.prepareDeletion([a, b], followers: .keep)) == .deletionInProgress(b))
        #expect(refusal(machine.prepareDeletion([a], followers: .cascade)) == .deletionInProgress(b))
        #expect(held(machine) == [false, true, false])
        #expect(refusal(machine.prepareDeletion([a], followers: .keep)) == nil)
        #expect(held(machine) == [true, true, false])
    }

    @Test("A failed head with followers and no policy needs a follower choice, and nothing changes")
    func followerChoiceRequired() {
        var machine = blockedMachine(followers: [entry(b), entry(c)])
        #expect(refusal(machine.prepareDeletion([a], followers: nil)) == .followerChoiceRequired(failed: a, followers: 2))
        #expect(refusal(machine.prepareDeletion([a, b], followers: nil)) == .followerChoiceRequired(failed: a, followers: 1))
        #expect(held(machine) == [false, false, false])
        #expect(ids(machine) == [a, b, c])
        #expect(machine.phase == .blocked(a))
        #expect(machine.blockedBy == a)
    }

    @Test("A failed head whose followers are all in the set needs no policy")
    func deleteFailedWithAllFollowers() {
        var machine = blockedMachine(followers: [entry(b), entry(c)])
        #expect(refusal(machine.prepareDeletion([a, b, c], followers: nil)) == nil)
        #expect(held(machine) == [true, true, true])
        let (removed, action) = machine.commitDeletion([a, b, c], followers: nil, now: s(1))
        #expect(removed.map(\.0) == [b, c, a])
        #expect(removed.map(\.1) == [.deleted, .deleted, .deleted])
        #expect(action == .retire)
        #expect(machine.phase == .retired)
    }

    @Test("A lone failed head is deleted without a policy and the mailbox retires")
    func deleteLoneFailedHead() {
        var machine = blockedMachine(followers: [])
        #expect(refusal(machine.prepareDeletion([a], followers: nil)) == nil)
        #expect(held(machine) == [true])
        let (removed, action) = machine.commitDeletion([a], followers: nil, now: s(1))
        #expect(removed.map(\.0) == [a])
        #expect(removed.map(\.1) == [.deleted])
        #expect(action == .retire)
        #expect(machine.phase == .retired)
        #expect(machine.blockedBy == nil)
    }

    @Test("Keep: the failed head is deleted and the object resumes with its followers")
    func deleteFailedKeep() {
        var machine = blockedMachine(followers: [entry(b, "B"), entry(c)])
        #expect(refusal(machine.prepareDeletion([a], followers: .keep)) == nil)
        #expect(held(machine) == [true, false, false])
        #expect(machine.phase == .blocked(a))

        let (removed, action) = machine.commitDeletion([a], followers: .keep, now: s(5))
        #expect(removed.map(\.0) == [a])
        #expect(removed.map(\.1) == [.deleted])
        #expect(action == .makeReady)
        #expect(machine.phase == .ready)
        #expect(machine.blockedBy == nil)
        #expect(ids(machine) == [b, c])
        #expect(held(machine) == [false, false])
        #expect(seen(machine.claim(now: s(5))) == .run(b, attempt: 1, job: "B"))
    }

    @Test("Keep with queued ones in the batch: queued first, failed head last; the rest resume")
    func deleteFailedKeepWithQueued() {
        var machine = blockedMachine(followers: [entry(b), entry(c, "C"), entry(d)])
        #expect(refusal(machine.prepareDeletion([a, b, d], followers: .keep)) == nil)
        #expect(held(machine) == [true, true, false, true])
        let (removed, action) = machine.commitDeletion([a, b, d], followers: .keep, now: s(1))
        #expect(removed.map(\.0) == [b, d, a])
        #expect(removed.map(\.1) == [.deleted, .deleted, .deleted])
        #expect(action == .makeReady)
        #expect(ids(machine) == [c])
        #expect(seen(machine.claim(now: s(1))) == .run(c, attempt: 1, job: "C"))
    }

    @Test("Cascade: queued IDs first (.deleted), then followers (.cascade), failed head last (.deleted)")
    func deleteFailedCascade() {
        var machine = blockedMachine(followers: [entry(b), entry(c), entry(d)])
        #expect(refusal(machine.prepareDeletion([a, c], followers: .cascade)) == nil)
        #expect(held(machine) == [true, true, true, true])

        let (removed, action) = machine.commitDeletion([a, c], followers: .cascade, now: s(1))
        #expect(removed.map(\.0) == [c, b, d, a])
        #expect(removed.map(\.1) == [.deleted, .cascade, .cascade, .deleted])
        #expect(action == .retire)
        #expect(machine.phase == .retired)
        #expect(machine.line.isEmpty)
    }

    @Test("Cascade applies only when the failed head is in the set")
    func cascadeWithoutFailedHead() {
        var machine = blockedMachine(followers: [entry(b), entry(c), entry(d)])
        #expect(refusal(machine.prepareDeletion([c], followers: .cascade)) == nil)
        #expect(held(machine) == [false, false, true, false])
        let (removed, action) = machine.commitDeletion([c], followers: .cascade, now: s(1))
        #expect(removed.map(\.0) == [c])
        #expect(removed.map(\.1) == [.deleted])
        #expect(action == .none)
        #expect(machine.phase == .blocked(a))
        #expect(ids(machine) == [a, b, d])
    }

    @Test("Deleting queued followers of a blocked object keeps it blocked and needs no policy")
    func deleteQueuedWhileBlocked() {
        var machine = blockedMachine(followers: [entry(b), entry(c)])
        #expect(refusal(machine.prepareDeletion([c], followers: nil)) == nil)
        #expect(held(machine) == [false, false, true])
        let (removed, action) = machine.commitDeletion([c], followers: nil, now: s(1))
        #expect(removed.map(\.0) == [c])
        #expect(removed.map(\.1) == [.deleted])
        #expect(action == .none)
        #expect(machine.phase == .blocked(a))
        #expect(ids(machine) == [a, b])
        #expect(held(machine) == [false, false])
    }

    @Test("A held head does not start at claim until the deletion is released")
    func heldHeadReleased() {
        var machine = Machine()
        _ = enqueueAll(&machine, [entry(a, "A"), entry(b)])
        #expect(machine.phase == .ready)
        #expect(refusal(machine.prepareDeletion([a], followers: nil)) == nil)
        #expect(held(machine) == [true, false])

        #expect(seen(machine.claim(now: .zero)) == .then(.none))
        #expect(machine.phase == .idle)
        #expect(machine.line.first?.attempt == 0)
        #expect(seen(machine.enqueue(entry(c), now: .zero)) == .accepted(.none))
        #expect(machine.wake(at: .zero, now: s(1)) == .none)

        #expect(machine.releaseDeletion(now: s(1)) == .makeReady)
        #expect(held(machine) == [false, false, false])
        #expect(seen(machine.claim(now: s(1))) == .run(a, attempt: 1, job: "A"))
    }

    @Test("A held head does not start at claim; committing removes it and the next one runs")
    func heldHeadCommitted() {
        var machine = Machine()
        _ = enqueueAll(&machine, [entry(a), entry(b, "B")])
        #expect(refusal(machine.prepareDeletion([a], followers: nil)) == nil)
        #expect(seen(machine.claim(now: .zero)) == .then(.none))
        let (removed, action) = machine.commitDeletion([a], followers: nil, now: .zero)
        #expect(removed.map(\.0) == [a])
        #expect(removed.map(\.1) == [.deleted])
        #expect(action == .makeReady)
        #expect(seen(machine.claim(now: .zero)) == .run(b, attempt: 1, job: "B"))
    }

    @Test("A held follower does not start when the running head finishes")
    func heldFollowerBehindRunningHead() {
        var machine = Machine()
        _ = enqueueAll(&machine, [entry(a), entry(b), entry(c)])
        _ = machine.claim(now: .zero)
        #expect(refusal(machine.prepareDeletion([b], followers: nil)) == nil)
        #expect(held(machine) == [false, true, false])
        #expect(seen(machine.finish(a, outcome: .done, now: .zero, keepDraining: true)) == .then(.none))
        #expect(machine.phase == .idle)
        #expect(ids(machine) == [b, c])

        let (removed, action) = machine.commitDeletion([b], followers: nil, now: .zero)
        #expect(removed.map(\.0) == [b])
        #expect(action == .makeReady)
        #expect(seen(machine.claim(now: .zero)) == .run(c, attempt: 1, job: "job3"))
    }

    @Test("Releasing a deletion on a blocked object keeps it blocked")
    func releaseWhileBlocked() {
        var machine = blockedMachine(followers: [entry(b)])
        #expect(refusal(machine.prepareDeletion([a], followers: .cascade)) == nil)
        #expect(held(machine) == [true, true])
        #expect(machine.releaseDeletion(now: s(1)) == .none)
        #expect(held(machine) == [false, false])
        #expect(machine.phase == .blocked(a))
        #expect(ids(machine) == [a, b])
    }

    @Test("A retry that arrives between prepare and commit does not undo a validated cascade")
    func retryDuringPreparedCascade() {
        var machine = blockedMachine(followers: [entry(b)])
        #expect(refusal(machine.prepareDeletion([a], followers: .cascade)) == nil)
        // The deletion was validated and reserved first: the failed head is no longer retryable.
        let retried = machine.retry(a, replacing: nil, now: s(1))
        #expect((try? retried.get()) == nil)
        if case .failure(let refusal) = retried { #expect(refusal == .deletionInProgress(a)) }
        #expect(machine.phase == .blocked(a))
        let (removed, action) = machine.commitDeletion([a], followers: .cascade, now: s(1))
        #expect(removed.map(\.0) == [b, a])
        #expect(removed.map(\.1) == [.cascade, .deleted])
        #expect(action == .retire)
    }

    @Test("A head waiting for dependencies can be deleted; the next one proceeds")
    func deleteWaitingHead() {
        var machine = Machine()
        _ = enqueueAll(&machine, [entry(a, deps: [x]), entry(b, "B")])
        #expect(machine.phase == .waitingForDependencies(a))
        #expect(refusal(machine.prepareDeletion([a], followers: nil)) == nil)
        let (removed, action) = machine.commitDeletion([a], followers: nil, now: .zero)
        #expect(removed.map(\.0) == [a])
        #expect(action == .makeReady)
        #expect(machine.phase == .ready)
        #expect(seen(machine.claim(now: .zero)) == .run(b, attempt: 1, job: "B"))
    }

    // MARK: Dependencies

    @Test("A head with dependencies asks for them, waits while unsatisfied, and runs once satisfied")
    func dependencyWaiting() {
        var machine = Machine()
        #expect(seen(machine.enqueue(entry(a, "A", deps: [x, y]), now: .zero)) == .accepted(.checkDependencies(a, [x, y])))
        #expect(machine.phase == .waitingForDependencies(a))
        #expect(seen(machine.enqueue(entry(b, "B"), now: .zero)) == .accepted(.none))
        #expect(seen(machine.claim(now: .zero)) == .then(.none))

        #expect(machine.dependencies(of: a, satisfied: false, now: s(1)) == .none)
        #expect(machine.phase == .waitingForDependencies(a))
        #expect(machine.line.first?.dependencies == [x, y])

        #expect(machine.dependenciesChanged() == .checkDependencies(a, [x, y]))
        #expect(machine.phase == .waitingForDependencies(a))

        // A report for another op is ignored.
        #expect(machine.dependencies(of: b, satisfied: true, now: s(2)) == .none)
        #expect(machine.phase == .waitingForDependencies(a))

        #expect(machine.dependencies(of: a, satisfied: true, now: s(3)) == .makeReady)
        #expect(machine.phase == .ready)
        #expect(machine.line.first?.dependencies == [])
        #expect(machine.dependenciesChanged() == .none)

        #expect(seen(machine.claim(now: s(3))) == .run(a, attempt: 1, job: "A"))
        #expect(seen(machine.finish(a, outcome: .done, now: s(4), keepDraining: true)) == .run(b, attempt: 1, job: "B"))
    }

    @Test("dependenciesChanged does nothing unless the head waits for dependencies")
    func dependenciesChangedIgnored() {
        var machine = Machine()
        #expect(machine.dependenciesChanged() == .none)
        _ = machine.enqueue(entry(a), now: .zero)
        #expect(machine.dependenciesChanged() == .none)
        #expect(machine.phase == .ready)
        #expect(machine.dependencies(of: a, satisfied: true, now: .zero) == .none)
        #expect(machine.phase == .ready)
    }

    @Test("A delayed head with dependencies first waits for its due time, then checks them")
    func delayedHeadWithDependencies() {
        var machine = Machine()
        #expect(seen(machine.enqueue(entry(a, due: s(10), deps: [x]), now: .zero)) == .accepted(.scheduleWake(s(10))))
        #expect(machine.phase == .idle)
        #expect(machine.wake(at: s(10), now: s(10)) == .checkDependencies(a, [x]))
        #expect(machine.phase == .waitingForDependencies(a))
    }

    @Test("A follower with dependencies is checked when it reaches the head")
    func followerWithDependencies() {
        var machine = Machine()
        _ = enqueueAll(&machine, [entry(a), entry(b, deps: [x])])
        _ = machine.claim(now: .zero)
        #expect(seen(machine.finish(a, outcome: .done, now: .zero, keepDraining: true)) == .then(.checkDependencies(b, [x])))
        #expect(machine.phase == .waitingForDependencies(b))
    }

    @Test("Cancelling a head that waits for dependencies moves on to the next entry")
    func cancelWaitingHead() {
        var machine = Machine()
        _ = enqueueAll(&machine, [entry(a, deps: [x]), entry(b, deps: [y])])
        #expect(machine.cancelQueued(a, now: .zero) == .success(.checkDependencies(b, [y])))
        #expect(machine.phase == .waitingForDependencies(b))
        #expect(machine.cancelQueued(b, now: .zero) == .success(.retire))
        #expect(machine.phase == .retired)
    }

    // MARK: Retiring

    @Test("An empty, idle line retires and then refuses every enqueue")
    func retireThenRefuse() {
        var machine = Machine()
        _ = machine.enqueue(entry(a), now: .zero)
        _ = machine.claim(now: .zero)
        #expect(seen(machine.finish(a, outcome: .done, now: .zero, keepDraining: false)) == .then(.retire))
        #expect(machine.phase == .retired)

        #expect(seen(machine.enqueue(entry(b), now: s(1))) == .retired)
        #expect(seen(machine.enqueue(entry(c, runsNow: true), now: s(1))) == .retired)
        #expect(machine.line.isEmpty)
        #expect(seen(machine.claim(now: s(1))) == .then(.none))
        #expect(machine.wake(at: s(1), now: s(1)) == .none)
        #expect(machine.phase == .retired)
    }

    @Test("A blocked line does not retire even when only the failed head remains")
    func blockedDoesNotRetire() {
        var machine = blockedMachine(followers: [entry(b)])
        #expect(machine.cancelQueued(b, now: s(1)) == .success(.none))
        #expect(machine.phase == .blocked(a))
        #expect(ids(machine) == [a])
        // Retrying and succeeding then retires it.
        #expect(machine.retry(a, replacing: nil, now: s(2)) == .success(.makeReady))
        _ = machine.claim(now: s(2))
        #expect(seen(machine.finish(a, outcome: .done, now: s(3), keepDraining: true)) == .then(.retire))
        #expect(machine.phase == .retired)
    }
}
