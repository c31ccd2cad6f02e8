import Foundation
import Synchronization
@testable import Docket
import DocketTesting
import Testing

/// A docket that goes away lets go of everything it holds, its engine included, whatever
/// its lines were doing: each mailbox holds the engine, which holds them in its directory,
/// its ready queue and its timer.
@Suite("Dropped docket")
struct DroppedDocketTests {
    /// What a test keeps of a harness once the harness, and with it the docket, goes: the
    /// engine weakly, and the parts it goes on driving.
    struct Kept {
        weak var engine: Engine?
        let pool: WorkerPool
        let gate: Gate
        let journal: Journal
        let clock: ManualClock

        init(_ harness: Harness) {
            engine = harness.docket.engine
            pool = harness.docket.engine.pool
            gate = harness.gate
            journal = harness.journal
            clock = harness.clock
        }
    }

    /// Submits with `submit` on a harness of its own, waits until the operation it returns
    /// runs, and lets the harness, and with it the docket, go.
    static func droppedWhileRunning(_ submit: (Harness) async throws -> OperationHandle<String>) async throws -> Kept {
        let harness = try Harness()
        let running = try await submit(harness)
        try await waitUntil(running, is: .running)
        return Kept(harness)
    }

    @Test("A docket dropped with a blocked line, a delayed one or queued work lets go of its engine", arguments: ["blocked", "delayed", "queued"])
    func liveLines(_ kind: String) async throws {
        weak var engine: Engine?
        weak var mailbox: Mailbox?
        do {
            let harness = try Harness(configuration: DocketConfiguration(execution: kind == "queued" ? .batch : .automatic))
            engine = harness.docket.engine
            switch kind {
            case "blocked":
                _ = try await harness.submit("a", on: "k1", fail: true)
                _ = try await harness.submit("b", on: "k1")
            case "delayed":
                _ = try await harness.submit("a", on: "k1", delay: .seconds(60))
            default:
                _ = try await harness.submit("a", on: "k1")
            }
            await harness.idle()
            mailbox = harness.docket.engine.directory.existing(.keyed(owner: nil, key: "k1"))
            #expect(mailbox != nil)
        }
        // The line's mailbox held the engine, which held it through its directory (and its
        // timer, or its ready queue): the docket going away lets go of both.
        #expect(mailbox == nil)
        #expect(engine == nil)
    }

    @Test("A docket dropped after an attempt with a timeout ended leaves no sleep behind for that timeout")
    func endedTimeoutLeavesNoSleep() async throws {
        weak var engine: Engine?
        let clock = ManualClock()
        do {
            let quick = OperationDefinition<String, String>("quick", timeout: .seconds(60)) { label, _ in label }
            var registry = OperationRegistry()
            try registry.register(quick)
            let docket = try Docket(registry: registry, clock: clock)
            engine = docket.engine
            #expect(try await docket.submit(quick, input: "q").value() == "q")
            // The timeout's entry outlives the attempt; its sleep is armed.
            #expect(await yield { clock.sleeperCount == 1 })
        }
        #expect(engine == nil)
        // A sleep armed again for that timeout would register with the clock: give it the
        // chance, then check that none did.
        _ = await yield(until: { clock.sleeperCount > 0 }, limit: 10_000)
        #expect(clock.sleeperCount == 0)
    }

    @Test("A docket dropped while an attempt that ignores cancellation runs, with a submission behind it, lets go of its engine when the turn ends")
    func runningWithFollower() async throws {
        weak var engine: Engine?
        let pool: WorkerPool
        let gate = Gate()
        let journal = Journal()
        do {
            let stubborn = OperationDefinition<String, String>("stubborn") { label, _ in
                journal.append("start \(label)")
                await gate.wait(label)
                journal.append("end \(label)")
                return label
            }
            var registry = OperationRegistry()
            try registry.register(stubborn)
            let docket = try Docket(registry: registry, clock: ManualClock())
            engine = docket.engine
            pool = docket.engine.pool
            let running = try await docket.submit(stubborn, input: "a", options: SubmitOptions(objectKey: "k1"))
            _ = try await docket.submit(stubborn, input: "b", options: SubmitOptions(objectKey: "k1"))
            try await waitUntil(running, is: .running)
        }
        // The worker running the attempt holds its line, which holds the engine.
        #expect(engine != nil)
        gate.open("a")
        await pool.waitUntilIdle()
        #expect(journal.all == ["start a", "end a"])
        // The line the turn's end put back on the ready queue was let go.
        #expect(engine == nil)
    }

    @Test("A wake scheduled after the timer stopped, a retry's backoff, is not kept")
    func retryAfterTimerStopped() async throws {
        let clock = ManualClock()
        let gate = Gate()
        let retrying = OperationDefinition<String, String>(
            "retrying", retryPolicy: RetryPolicy(maxAttempts: 3, backoff: .fixed(.seconds(10)))
        ) { label, context in
            await gate.wait(label, context: context)
            throw TestFailure(message: "\(label) failed")
        }
        var registry = OperationRegistry()
        try registry.register(retrying)
        let docket = try Docket(registry: registry, clock: clock)
        let handle = try await docket.submit(retrying, input: "r", options: SubmitOptions(objectKey: "k1"))
        try await waitUntil(handle, is: .running)
        // A docket going away stops its timer before it asks running attempts to stop: one
        // that fails in between schedules its retry on a stopped timer.
        docket.engine.timer.stop()
        gate.open("r")
        await docket.waitForIdle()
        #expect(try docket.status(of: handle.id).state == .delayed)
        // The backoff's wake was not kept: a sleep armed for it would register with the
        // clock. Give it the chance, then check that none did.
        _ = await yield(until: { clock.sleeperCount > 0 }, limit: 10_000)
        #expect(clock.sleeperCount == 0)
    }

    @Test("A timeout scheduled after the timer stopped, by an attempt that started before the release, is not kept")
    func timeoutAfterTimerStopped() async throws {
        let stubborn = try StubbornDocket()
        let (clock, seen) = (stubborn.clock, stubborn.contexts)
        // A docket going away stops its timer after its tracker refuses new starts: an
        // attempt that started just before arms its timeout on a stopped timer.
        stubborn.docket.engine.timer.stop()
        let handle = try await stubborn.submit("s", on: "k1")
        try await waitUntil(handle, is: .running)
        guard await yield(until: { !seen.all.isEmpty }), let context = seen.all.first else {
            Issue.record("the body did not run")
            return
        }
        // A timeout kept would sleep, and fire once the clock passes it: give it the chance.
        _ = await yield(until: { clock.sleeperCount > 0 }, limit: 10_000)
        #expect(clock.sleeperCount == 0)
        clock.advance(by: .seconds(6))
        _ = await yield(until: { context.storage.isTimedOut }, limit: 10_000)
        #expect(!context.storage.isTimedOut)
        stubborn.gate.open("s")
        #expect(try await handle.value() == "s")
    }

    @Test("A docket dropped while an attempt waits only for its cancellation, or its timeout, cancels it, then lets go of its engine")
    func runningUntilCancelled() async throws {
        let kept = try await Self.droppedWhileRunning { harness in try await harness.submit("t", on: "k1", harness.timed) }
        // The clock stays where it was: only the cancel can end the body. Bounded, the wait
        // fails instead of hanging.
        guard await yield(until: { kept.journal.all.contains("stopped t") }) else {
            Issue.record("the attempt was not cancelled")
            return
        }
        await kept.pool.waitUntilIdle()
        #expect(kept.engine == nil)
    }

    @Test("A journal records none of the cancellations a dropped docket causes: the next docket finds the attempt interrupted and its dependent waiting")
    func abandonedAttemptIsInterrupted() async throws {
        let store = InMemoryStore()
        let gate = Gate()
        let journal = Journal()
        let stoppable = OperationDefinition<String, String>("stoppable") { label, context in
            await gate.wait(label, context: context)
            journal.append("stopped \(label)")
            try context.checkCancellation()
            return label
        }
        var registry = OperationRegistry()
        try registry.register(stoppable)
        weak var engine: Engine?
        let pool: WorkerPool
        let running: OperationID
        let dependent: OperationID
        let atDrop: [JournalRecord]
        do {
            let docket = try await Docket(registry: registry, clock: ManualClock(), store: store)
            engine = docket.engine
            pool = docket.engine.pool
            let handle = try await docket.submit(stoppable, input: "a", options: SubmitOptions(objectKey: "k1"))
            running = handle.id
            try await waitUntil(handle, is: .running)
            dependent = try await docket.submit(stoppable, input: "b", options: SubmitOptions(objectKey: "k2", dependencies: [running])).id
            atDrop = store.records
        }
        guard await yield(until: { journal.all.contains("stopped a") }) else {
            Issue.record("the attempt was not asked to stop")
            return
        }
        await pool.waitUntilIdle()
        #expect(engine == nil)
        // Nothing was journaled after the drop: the attempt's start is its last record, as a
        // crash during it would leave.
        let records = store.records
        #expect(records == atDrop)
        #expect(records.contains { if case .started(running, attempt: 1) = $0 { true } else { false } })

        let reopened = try await Docket(registry: registry, clock: ManualClock(), store: InMemoryStore(records: records))
        await reopened.waitForIdle()
        #expect(reopened.recovery.interrupted == 1)
        #expect(try reopened.status(of: running).state == .failed)
        #expect(reopened.takeResult(of: running).failure?.kind == .interrupted)
        #expect(try reopened.status(of: dependent).state == .waiting)
        #expect(journal.all == ["stopped a"])
    }

    @Test("A timeout that falls due after a docket was dropped is not kept: the attempt the drop asked to stop is journaled as nothing, and comes back interrupted")
    func timeoutAfterDrop() async throws {
        let store = InMemoryStore()
        let clock = ManualClock()
        let gate = Gate()
        let seen = Contexts()
        let stubborn = OperationDefinition<String, String>("stubborn", timeout: .seconds(5)) { label, context in
            seen.append(context)
            // Ignores the drop's request to stop until the gate opens.
            await gate.wait(label)
            try context.checkCancellation()
            return label
        }
        var registry = OperationRegistry()
        try registry.register(stubborn)
        weak var engine: Engine?
        let pool: WorkerPool
        let running: OperationID
        let atDrop: [JournalRecord]
        do {
            let docket = try await Docket(registry: registry, clock: clock, store: store)
            engine = docket.engine
            pool = docket.engine.pool
            let handle = try await docket.submit(stubborn, input: "a", options: SubmitOptions(objectKey: "k1"))
            running = handle.id
            try await waitUntil(handle, is: .running)
            #expect(await yield { clock.sleeperCount == 1 }, "the timeout's timer never slept")
            atDrop = store.records
        }
        guard let context = seen.all.first else {
            Issue.record("the body did not run")
            return
        }
        #expect(context.isCancelled)
        // A timeout kept by the stopped timer would sleep again, and fire once the clock
        // passes it: give it the chance to, then let the body return.
        _ = await yield(until: { clock.sleeperCount > 0 }, limit: 10_000)
        clock.advance(by: .seconds(6))
        _ = await yield(until: { context.storage.isTimedOut }, limit: 10_000)
        #expect(!context.storage.isTimedOut)
        gate.open("a")
        await pool.waitUntilIdle()
        #expect(engine == nil)
        // The attempt's start is its last record, as a crash during it would leave.
        #expect(store.records == atDrop)

        let reopened = try await Docket(registry: registry, clock: ManualClock(), store: InMemoryStore(records: store.records))
        await reopened.waitForIdle()
        #expect(reopened.recovery.interrupted == 1)
        #expect(reopened.takeResult(of: running).failure?.kind == .interrupted)
    }

    /// A tracker with two operations: `early` started (its context `running`), `late` queued.
    private static func oneRunningOneQueued() -> (Tracker, early: SequencedID, late: SequencedID, running: OperationContext) {
        let tracker = Tracker(
            clock: EngineClock(ContinuousClock(), wallOrigin: Date()), unreadResultLifetime: .seconds(60),
            tombstoneLifetime: .seconds(60), names: [])
        let early = tracker.mintID()
        let late = tracker.mintID()
        for key in [early, late] { tracker.insert(key, RecordTableTests.record(0), at: .zero) }
        let running = OperationContext(operationID: early.id, attempt: 1, tracker: tracker)
        #expect(tracker.markStarted(early, attempt: 1, context: running, at: .zero) == .started(journalTicket: nil))
        return (tracker, early, late, running)
    }

    @Test("A start after a shutdown closed the queue is refused and changes nothing; one before it keeps its waiters")
    func startAfterClose() throws {
        let (tracker, early, late, _) = Self.oneRunningOneQueued()
        tracker.closeQueued()
        let starting = OperationContext(operationID: late.id, attempt: 1, tracker: tracker)
        #expect(tracker.markStarted(late, attempt: 1, context: starting, at: .zero) == .closed)
        #expect(!starting.isCancelled)
        #expect(try tracker.status(late.id, owner: "owner-0").state == .waiting)
        #expect(try tracker.status(early.id, owner: "owner-0").state == .running)
        #expect(tracker.counts().queued == 1)
        #expect(tracker.counts().running == 1)
    }

    @Test("An attempt that starts after every running one was asked to stop is asked as it starts (a shutdown), or refused (a docket gone)", arguments: [false, true])
    func startAfterScan(abandoned: Bool) throws {
        let (tracker, _, late, running) = Self.oneRunningOneQueued()
        if abandoned { tracker.abandon() }
        #expect(tracker.cancelAllRunning() == 1)
        #expect(running.isCancelled)
        // Started after the scan: the flags set before it decide.
        let starting = OperationContext(operationID: late.id, attempt: 1, tracker: tracker)
        let mark = tracker.markStarted(late, attempt: 1, context: starting, at: .zero)
        if abandoned {
            #expect(mark == .refused)
            #expect(try tracker.status(late.id, owner: "owner-0").state == .waiting)
        } else {
            #expect(mark == .started(journalTicket: nil))
            #expect(starting.isCancelled)
            #expect(try tracker.status(late.id, owner: "owner-0").state == .running)
        }
    }

    @Test("A worker that takes a line after its docket went away runs none of it, journals nothing, and the next docket finds it queued")
    func lateTurnRunsNothing() async throws {
        let store = InMemoryStore()
        let journal = Journal()
        let record = OperationDefinition<String, String>("record") { label, _ in
            journal.append(label)
            return label
        }
        var registry = OperationRegistry()
        try registry.register(record)
        let mailbox: Mailbox
        let queued: OperationID
        let atDrop: [JournalRecord]
        do {
            let docket = try await Docket(
                registry: registry, configuration: DocketConfiguration(execution: .batch), clock: ManualClock(), store: store)
            queued = try await docket.submit(record, input: "b", options: SubmitOptions(objectKey: "k1")).id
            mailbox = try #require(docket.engine.directory.existing(.keyed(owner: nil, key: "k1")))
            atDrop = store.records
        }
        // A worker handed the line just before the pool stopped takes its turn now.
        let turn = await mailbox.drain(TurnLimit(budget: 32, deadline: .now + .seconds(60)), spares: Mailbox.SpareContexts())
        #expect(turn.ran == 0)
        #expect(journal.all.isEmpty)
        #expect(store.records == atDrop)

        let reopened = try await Docket(registry: registry, clock: ManualClock(), store: InMemoryStore(records: store.records))
        #expect(reopened.recovery.queued == 1)
        #expect(reopened.recovery.interrupted == 0)
        #expect(try await reopened.submit(record, input: "c", options: SubmitOptions(objectKey: "k1")).value() == "c")
        #expect(journal.all == ["b", "c"])
        #expect(try reopened.status(of: queued).state == .succeeded)
    }

    @Test("A line its timer wakes after the pool let go of its ready queue is let go as well")
    func wokenAfterRelease() async throws {
        let harness = try Harness()
        _ = try await harness.submit("c", on: "k2", delay: .seconds(60))
        await harness.idle()
        let pool = harness.docket.engine.pool
        // A docket going away while its timer fires: the pool has let go of its ready queue,
        // and the timer, not stopped yet, wakes the line.
        pool.stop()
        pool.releaseReady()
        harness.clock.advance(by: .seconds(61))
        // Idle once the timer has fired: until then, its due time has passed.
        await pool.waitUntilIdle()
        #expect(pool.queuedMailboxes == 0)
        #expect(harness.journal.all.isEmpty)
    }

    /// A store whose records are never made durable: opening a docket on it restores them
    /// and then fails, in its last step, the wait for durability.
    final class UnsettledStore: DocketStore {
        private let records: [JournalRecord]

        init(records: [JournalRecord]) { self.records = records }

        func recover() throws -> [JournalRecord] { records }
        func append(_ record: JournalRecord) -> UInt64 { 0 }
        var lastTicket: UInt64 { 0 }
        func waitDurable(_ ticket: UInt64) async throws { throw Self.failure }
        func waitDurableBlocking(_ ticket: UInt64) throws { throw Self.failure }
        var isDurable: Bool { true }
        func close() async throws {}

        static let failure = DocketError(.journalFailed, "The test store makes nothing durable.")
    }

    @Test("A docket that fails to open lets go of the lines it restored, blocked and delayed")
    func failedOpen() async throws {
        let recorded = InMemoryStore()
        let record = OperationDefinition<Step, String>("record") { step, _ in
            if step.fail { throw TestFailure(message: "\(step.label) failed") }
            return "done \(step.label)"
        }
        var registry = OperationRegistry()
        try registry.register(record)
        do {
            let docket = try await Docket(registry: registry, clock: ManualClock(), store: recorded)
            _ = try await docket.submit(record, input: Step(label: "a", fail: true), options: SubmitOptions(objectKey: "k1"))
            _ = try await docket.submit(record, input: Step(label: "b"), options: SubmitOptions(objectKey: "k1"))
            _ = try await docket.submit(record, input: Step(label: "c"), options: SubmitOptions(objectKey: "k2", delay: .seconds(60)))
            await docket.waitForIdle()
        }
        // The store is held by the engine alone: it goes when the engine does.
        weak var store: UnsettledStore?
        let clock = ManualClock()
        do {
            let unsettled = UnsettledStore(records: recorded.records)
            store = unsettled
            await #expect(throws: DocketError.self) {
                _ = try await Docket(registry: registry, clock: clock, store: unsettled)
            }
        }
        // The restored lines, one blocked by its failed head and one waiting for its delay,
        // held the engine through its directory and its timer.
        #expect(store == nil)
        _ = await yield(until: { clock.sleeperCount > 0 }, limit: 10_000)
        #expect(clock.sleeperCount == 0)
    }

    @Test("An event stream of an operation a dropped docket abandoned ends", .timeLimit(.minutes(1)))
    func streamEndsWhenDropped() async throws {
        let events: AsyncStream<OperationEvent>
        weak var engine: Engine?
        weak var tracker: Tracker?
        do {
            let harness = try Harness()
            let handle = try await harness.submit("later", on: "k", delay: .seconds(60))
            events = try handle.events()
            engine = harness.docket.engine
            tracker = harness.docket.engine.tracker
        }
        #expect(engine == nil && tracker == nil, "the dropped docket's engine was not freed")
        let ended = await finishes { for await _ in events {} }
        #expect(ended, "the stream of an abandoned operation never ended")
    }
}
