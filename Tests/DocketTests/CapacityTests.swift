@testable import Docket
import DocketTesting
import Foundation
import Synchronization
import Testing

@Suite("Capacity, batch mode, shutdown and metrics")
struct CapacityTests {
    @Test("No more than the configured number of operations run at once")
    func concurrencyLimit() async throws {
        let harness = try Harness(configuration: DocketConfiguration(maxConcurrentOperations: 2))
        var handles: [OperationHandle<String>] = []
        for index in 0..<5 { handles.append(try await harness.submit("s\(index)", on: "k\(index)", harness.slow)) }
        try await waitUntil(handles[0], is: .running)
        try await waitUntil(handles[1], is: .running)
        #expect(await harness.docket.metrics().running == 2)
        #expect(await harness.docket.metrics().waiting == 3)
        for index in 0..<5 { harness.gate.open("s\(index)") }
        await harness.idle()
        #expect(harness.journal.all.filter { $0.hasPrefix("end") }.count == 5)
    }

    @Test("Workers run at the configured priority, whatever the submitter's", arguments: [TaskPriority.background, .utility, .high])
    func workerPriority(priority: TaskPriority) async throws {
        let seen = Locked<[TaskPriority]>([])
        let probe = OperationDefinition<Int, Int>("probe") { value, _ in
            seen.withLock { $0.append(Task.basePriority ?? .medium) }
            return value
        }
        var registry = OperationRegistry()
        try registry.register(probe)
        let docket = try Docket(registry: registry, configuration: DocketConfiguration(workerPriority: priority))
        // Submitted from a task of another priority than the workers', on two objects so
        // that more than one worker may start.
        let submitter: TaskPriority = priority == .high ? .low : .high
        let handles = try await Task(priority: submitter) {
            var handles: [OperationHandle<Int>] = []
            for index in 0..<4 {
                handles.append(try await docket.submit(probe, input: index, options: SubmitOptions(objectKey: "p\(index % 2)")))
            }
            return handles
        }.value
        for handle in handles { _ = await handle.outcome() }
        #expect(seen.withLock { $0 } == Array(repeating: priority, count: 4))
    }

    @Test("Submitting past the queue bound is refused and touches nothing already queued")
    func queueFull() async throws {
        let harness = try Harness(configuration: DocketConfiguration(maxQueuedOperations: 3))
        var handles: [OperationHandle<String>] = []
        for index in 0..<3 { handles.append(try await harness.submit("q\(index)", delay: .seconds(1))) }
        let error = await expectError(.queueFull) { _ = try await harness.submit("overflow", delay: .seconds(1)) }
        #expect(error != nil)
        for handle in handles { #expect(try handle.status().state == .delayed) }
        harness.clock.advance(by: .seconds(1))
        await harness.idle()
        #expect(harness.journal.all == ["q0", "q1", "q2"])
        // Room again once they ran.
        _ = try await harness.submit("again")
        await harness.idle()
        #expect(harness.journal.all.last == "again")
    }

    @Test("Batch mode: nothing runs until runDue, which runs everything due and returns when idle")
    func batchMode() async throws {
        let harness = try Harness(configuration: DocketConfiguration(execution: .batch))
        _ = try await harness.submit("a1", on: "a")
        _ = try await harness.submit("a2", on: "a")
        _ = try await harness.submit("b1", on: "b", fail: true)
        _ = try await harness.submit("later", on: "c", delay: .seconds(60))
        await harness.idle()
        #expect(harness.journal.all == [])
        let report = try await harness.docket.runDue()
        #expect(report == BatchReport(succeeded: 2, failed: 1))
        #expect(harness.journal.all.filter { $0.hasPrefix("a") } == ["a1", "a2"])
        #expect(!harness.journal.all.contains("later"))
        harness.clock.advance(by: .seconds(60))
        await harness.idle()
        #expect(!harness.journal.all.contains("later"))
        let second = try await harness.docket.runDue()
        #expect(second == BatchReport(succeeded: 1, failed: 0))
        #expect(harness.journal.all.last == "later")
        // Run-now is refused in batch mode.
        #expect(await expectError(.batchMode) { _ = try await harness.docket.perform(harness.record, input: Step(label: "x")) } != nil)
    }

    /// On as many objects as the pool has threads, each line keeps its worker past its budget
    /// (no other mailbox waits); on a hundred, workers go back to the queue between turns.
    @Test(
        "A backlog of operations that never suspend leaves the pool's threads to other tasks",
        arguments: [ProcessInfo.processInfo.activeProcessorCount, 100])
    func backlogSharesThePool(objects: Int) async throws {
        // How many operations each line has run.
        let ran = Locked([Int](repeating: 0, count: objects))
        let busy = OperationDefinition<Int, Int>("busy") { value, _ in
            ran.withLock { $0[value % objects] += 1 }
            return value
        }
        var registry = OperationRegistry()
        try registry.register(busy)
        let docket = try Docket(registry: registry, configuration: DocketConfiguration(execution: .batch))
        // At least as many objects as threads, so that every thread has a worker draining a line.
        let total = 20_000
        for index in 0..<total { _ = try await docket.submit(busy, input: index, options: SubmitOptions(objectKey: "b\(index % objects)")) }
        let run = Task { try await docket.runDue() }
        // Every line has started: every thread has a worker, or had one.
        #expect(await yield(until: { ran.withLock { $0 }.allSatisfy { $0 > 0 } }))
        // This task gave its thread back while the backlog drained; it must get one again
        // before any line is done, as a server's request handler must. (Were a line done, its
        // worker would have parked and freed a thread without ever yielding one.)
        await Task.yield()
        #expect(ran.withLock { $0 }.max()! < total / objects)
        #expect(try await run.value == BatchReport(succeeded: total, failed: 0))
    }

    /// What ``probeTurns(slice:busyNeighbour:cancelBetweenTurns:)`` saw.
    struct Turns {
        /// The probe operations that ran, in order.
        let ran: [Int]
        /// The operations each turn on the probe's line ran, turns that ran none left out.
        let turns: [Int]
        let report: BatchReport
        /// The state of the operation right after the line's first `budget`.
        let nextState: OperationState
    }

    /// Runs `budget + 8` operations on one line in batch mode and records its turns. With
    /// `busyNeighbour`, another line's operation holds a second worker from before the
    /// probe's line reaches its budget until its first turn ends. With `cancelBetweenTurns`,
    /// the worker, between the line's first turn and its next, cancels the operation right
    /// after the first `budget`: the actor is free then, and the operation waits, not started.
    func probeTurns(slice: Duration, busyNeighbour: Bool = false, cancelBetweenTurns: Bool = false) async throws -> Turns {
        let ids = Locked<[OperationID]>([])
        let ran = Locked<[Int]>([])
        let turns = Locked<[Int]>([])
        let neighbourBusy = Atomic<Bool>(false)
        let budget = WorkerPool.drainBudget
        let docket = Locked<Docket?>(nil)
        let probe = OperationDefinition<Int, Int>("probe") { index, _ in
            ran.withLock { $0.append(index) }
            // The last operation of the budget waits until the neighbour holds its worker.
            if busyNeighbour, index == budget - 1 {
                #expect(await yield(until: { neighbourBusy.load(ordering: .acquiring) }))
            }
            return index
        }
        let neighbour = OperationDefinition<Int, Int>("neighbour") { value, _ in
            neighbourBusy.store(true, ordering: .releasing)
            #expect(await yield(until: { !turns.withLock { $0 }.isEmpty }))
            return value
        }
        var registry = OperationRegistry()
        try registry.register(probe)
        try registry.register(neighbour)
        var configuration = DocketConfiguration(execution: .batch)
        configuration.loneLineSlice = slice
        configuration.turnObserver = { objectKey, count in
            guard objectKey == "lone", count > 0 else { return }
            let first = turns.withLock { turns in
                turns.append(count)
                return turns.count == 1
            }
            if cancelBetweenTurns, first, let docket = docket.withLock({ $0 }) {
                await #expect(throws: Never.self) { try await docket.cancel(ids.withLock { $0[budget] }) }
            }
        }
        let instance = try Docket(registry: registry, configuration: configuration)
        docket.withLock { $0 = instance }
        for index in 0..<(budget + 8) {
            let id = try await instance.submit(probe, input: index, options: SubmitOptions(objectKey: "lone")).id
            ids.withLock { $0.append(id) }
        }
        if busyNeighbour { _ = try await instance.submit(neighbour, input: 0, options: SubmitOptions(objectKey: "neighbour")) }
        let report = try await instance.runDue()
        return Turns(
            ran: ran.withLock { $0 }, turns: turns.withLock { $0 }, report: report,
            nextState: try instance.status(of: ids.withLock { $0[budget] }).state)
    }

    @Test("A lone line that gives its thread back after its budget leaves its next operation waiting, so a cancel meanwhile removes it before it runs")
    func cancelBetweenTurns() async throws {
        // A slice of zero ends a lone line's turn at its budget, as slow bodies' would.
        let budget = WorkerPool.drainBudget
        let seen = try await probeTurns(slice: .zero, cancelBetweenTurns: true)
        #expect(seen.turns == [budget, 7])
        #expect(seen.ran == Array(0..<budget) + Array((budget + 1)..<(budget + 8)))
        #expect(seen.report == BatchReport(succeeded: budget + 7, failed: 0))
        #expect(seen.nextState == .cancelled(.cancelled))
    }

    @Test("A lone line runs on past its budget within its slice")
    func loneLineRunsPastBudget() async throws {
        let budget = WorkerPool.drainBudget
        let seen = try await probeTurns(slice: .seconds(3600))
        #expect(seen.turns == [budget + 8])
        #expect(seen.ran == Array(0..<(budget + 8)))
        #expect(seen.report == BatchReport(succeeded: budget + 8, failed: 0))
        #expect(seen.nextState == .succeeded)
    }

    @Test("With another worker busy, a line keeps to its budget whatever its slice")
    func busyPoolKeepsTheBudget() async throws {
        let budget = WorkerPool.drainBudget
        let seen = try await probeTurns(slice: .seconds(3600), busyNeighbour: true)
        #expect(seen.turns == [budget, 8])
        #expect(seen.ran == Array(0..<(budget + 8)))
        #expect(seen.report == BatchReport(succeeded: budget + 9, failed: 0))
    }

    @Test("runDue outside batch mode is refused")
    func runDueRefused() async throws {
        let harness = try Harness()
        #expect(await expectError(.invalidConfiguration) { _ = try await harness.docket.runDue() } != nil)
    }

    @Test("Shutdown stops intake, lets running work finish, and reports what is left")
    func shutdownGraceful() async throws {
        let harness = try Harness()
        let running = try await harness.submit("s", on: "a", harness.slow)
        _ = try await harness.submit("queued", on: "a")
        try await waitUntil(running, is: .running)
        let docket = harness.docket
        async let report = docket.shutdown(gracePeriod: .seconds(30))
        while (try? await harness.submit("probe", on: "z")) != nil { await Task.yield() }
        #expect(await expectError(.shutDown) { _ = try await harness.submit("late", on: "b") } != nil)
        harness.gate.open("s")
        let final = await report
        #expect(final.finishedInTime)
        #expect(final.cancelledAtDeadline == 0)
        #expect(try running.status().state == .succeeded)
        #expect(!harness.journal.all.contains("queued"))
        #expect(final.leftQueued >= 1)
    }

    @Test("A shutdown refuses retries from its start, and cancellations and deletions once it has returned; a refused one changes nothing")
    func correctionsAfterShutdown() async throws {
        let harness = try Harness()
        let docket = harness.docket
        let failed = try await harness.submit("broken", on: "a", fail: true)
        try await waitUntil(failed, is: .failed)
        let running = try await harness.submit("s", on: "b", harness.slow)
        let queued = try await harness.submit("q", on: "b")
        try await waitUntil(running, is: .running)
        async let report = docket.shutdown(gracePeriod: .seconds(30))
        #expect(await yield { docket.engine.isShuttingDown })
        #expect(await expectError(.shutDown) { try await docket.retry(failed.id) } != nil)
        #expect(try failed.status().state == .failed)
        harness.gate.open("s")
        #expect(await report.leftQueued == 1)
        #expect(await expectError(.shutDown) { try await docket.cancel(queued.id) } != nil)
        #expect(await expectError(.shutDown) { _ = try await docket.delete(queued.id) } != nil)
        #expect(await expectError(.shutDown) { _ = try await docket.delete(failed.id, followers: .keep) } != nil)
        #expect(try queued.status().state == .waiting)
        #expect(try failed.status().state == .failed)
    }

    @Test("Shutdown asks work still running at the deadline to cancel")
    func shutdownDeadline() async throws {
        let harness = try Harness()
        let running = try await harness.submit("s", on: "a", harness.slow)
        try await waitUntil(running, is: .running)
        let docket = harness.docket
        async let report = docket.shutdown(gracePeriod: .seconds(30))
        // The grace period's timer sleeps on a task of its own: advance once it sleeps.
        #expect(await yield { harness.clock.nextDeadline == ManualClock.Instant(offset: .seconds(30)) }, "no sleeper for the grace period")
        harness.clock.advance(by: .seconds(30))
        let final = await report
        #expect(!final.finishedInTime)
        #expect(final.cancelledAtDeadline == 1)
        try await waitUntil(running, is: .cancelled(.cancelled))
        #expect(try running.status().state == .cancelled(.cancelled))
    }

    @Test("A shutdown tells whoever waits for a queued operation that it will not run, then and later", .timeLimit(.minutes(1)))
    func shutdownReleasesQueuedWaiters() async throws {
        let harness = try Harness()
        let running = try await harness.submit("a", harness.slow)
        let queued = try await harness.submit("b")
        try await waitUntil(running, is: .running)
        let first = Self.valueOnATask(of: queued)
        #expect(await yield { harness.docket.engine.tracker.waiterCount(queued.id) == 1 }, "the wait never registered")
        // The running body stops when asked, at the grace period's end.
        async let report = harness.docket.shutdown(gracePeriod: .seconds(1))
        #expect(await yield { harness.clock.nextDeadline != nil }, "the grace period's timer never slept")
        harness.clock.advance(by: .seconds(1))
        #expect(await report.leftQueued == 1)
        // Bounded, so a wait never released fails instead of hanging.
        #expect(await first.ended(), "the wait was not released")
        #expect(first.error?.code == .shutDown)
        #expect(first.error?.operationID == queued.id)
        // A later wait ends at once, and the operation reads as still queued.
        let later = Self.valueOnATask(of: queued)
        #expect(await later.ended(), "the later wait did not end")
        #expect(later.error?.code == .shutDown)
        let outcome = await harness.docket.outcome(of: queued.id)
        if case .notFinished(.waiting) = outcome {} else { Issue.record("outcome \(outcome), not still waiting") }
        #expect(harness.journal.all == ["start a"])
    }

    @Test("An attempt that timed out before a shutdown and is queued again after it releases its waiter as a queued one does", .timeLimit(.minutes(1)))
    func requeuedAfterShutdownReleasesWaiter() async throws {
        let clock = ManualClock()
        let gate = Gate()
        let seen = Contexts()
        let retrying = OperationDefinition<String, String>(
            "retrying", retryPolicy: RetryPolicy(maxAttempts: 3, backoff: .fixed(.seconds(1))), timeout: .seconds(5)
        ) { label, context in
            seen.append(context)
            // Ignores its timeout and the shutdown's request until the gate opens.
            await gate.wait(label)
            return label
        }
        var registry = OperationRegistry()
        try registry.register(retrying)
        let docket = try Docket(registry: registry, clock: clock)
        let handle = try await docket.submit(retrying, input: "r")
        try await waitUntil(handle, is: .running)
        let wait = Self.valueOnATask(of: handle)
        #expect(await yield { docket.engine.tracker.waiterCount(handle.id) == 1 }, "the wait never registered")
        #expect(await yield { clock.nextDeadline != nil }, "the timeout's timer never slept")
        clock.advance(by: .seconds(5))
        #expect(await yield { seen.all.first?.isTimedOut == true }, "the timeout never fired")
        async let report = docket.shutdown(gracePeriod: .seconds(1))
        #expect(await yield { clock.nextDeadline != nil }, "the grace period's timer never slept")
        clock.advance(by: .seconds(1))
        #expect(await report.cancelledAtDeadline == 1)
        // The body returns after the shutdown: timed out, the attempt is queued for a retry.
        gate.open("r")
        #expect(await wait.ended(), "the wait was not released")
        #expect(wait.error?.code == .shutDown)
    }

    /// A wait for `handle`'s value on a task of its own, and the error it ended with.
    struct Wait {
        final class Ending: Sendable {
            let error = Mutex<DocketError?>(nil)
        }

        let task: Task<Void, Never>
        let ending: Ending

        /// Whether the wait ended within a bounded number of yields (it is cancelled if not).
        func ended() async -> Bool {
            let ended = await yield { ending.error.withLock { $0 } != nil }
            task.cancel()
            return ended
        }

        var error: DocketError? { ending.error.withLock { $0 } }
    }

    static func valueOnATask(of handle: OperationHandle<String>) -> Wait {
        let ending = Wait.Ending()
        let task = Task {
            do { _ = try await handle.value() } catch let error as DocketError { ending.error.withLock { $0 = error } } catch {}
        }
        return Wait(task: task, ending: ending)
    }

    @Test("A shutdown deadline that passes before the shutdown starts waiting is not lost", .timeLimit(.minutes(1)))
    func shutdownDeadlineBeforeWait() async throws {
        let harness = try Harness()
        let running = try await harness.submit("s", on: "a", harness.slow)
        try await waitUntil(running, is: .running)
        let docket = harness.docket
        // What a grace timer firing first does (with no grace period it is due at once).
        docket.engine.pool.releaseQuietWaiters()
        let returned = Atomic<Bool>(false)
        let shutdown = Task {
            defer { returned.store(true, ordering: .releasing) }
            return await docket.shutdown(gracePeriod: .seconds(30))
        }
        let ended = await yield { returned.load(ordering: .acquiring) }
        #expect(ended, "the shutdown waited past its deadline")
        if !ended { harness.clock.advance(by: .seconds(30)) }
        let report = await shutdown.value
        #expect(report.cancelledAtDeadline == 1)
        try await waitUntil(running, is: .cancelled(.cancelled))
    }

    @Test("Metrics count operations by state, blocked objects and the oldest waiting age")
    func metrics() async throws {
        let harness = try Harness()
        let failed = try await harness.submit("bad", on: "a", fail: true)
        _ = try await harness.submit("behind", on: "a")
        _ = try await harness.submit("later", on: "b", delay: .seconds(100))
        _ = try await harness.submit("ok", on: "c")
        await harness.idle()
        harness.clock.advance(by: .seconds(7))
        let metrics = await harness.docket.metrics()
        #expect(metrics.waiting == 1)
        #expect(metrics.delayed == 1)
        #expect(metrics.running == 0)
        #expect(metrics.succeeded == 1)
        #expect(metrics.failed == 1)
        #expect(metrics.blockedObjects == [DocketMetrics.BlockedObject(owner: nil, objectKey: "a", failedOperation: failed.id)])
        #expect(metrics.oldestWaitingAge == .seconds(7))
        #expect(metrics.liveObjects == 2)
        #expect(metrics.totals.submitted == 4)
        #expect(metrics.totals.failed == 1)
    }

    @Test("Drained objects leave no mailbox behind")
    func mailboxesReclaimed() async throws {
        let harness = try Harness()
        for index in 0..<1000 { _ = try await harness.submit("o\(index)", on: "obj-\(index)") }
        await harness.idle()
        #expect(harness.journal.all.count == 1000)
        #expect(await harness.docket.metrics().liveObjects == 0)
    }
}
