@testable import Docket
import DocketTesting
import Foundation
import Synchronization
import Testing

@Suite("Shutdown and drop races")
struct ShutdownRaceTests {
    @Test("runDue() after a shutdown, with work left queued, is refused and runs nothing", .timeLimit(.minutes(1)))
    func runDueAfterShutdown() async throws {
        let harness = try Harness(configuration: DocketConfiguration(execution: .batch))
        let queued = try await harness.submit("q", on: "a")
        let report = await harness.docket.shutdown(gracePeriod: .zero)
        #expect(report.leftQueued == 1)
        let docket = harness.docket
        let error = Mutex<DocketError?>(nil)
        let returned = await finishes {
            do { _ = try await docket.runDue() } catch let refusal as DocketError { error.withLock { $0 = refusal } } catch {}
        }
        #expect(returned, "runDue() after the shutdown never returned")
        #expect(error.withLock { $0?.code } == .shutDown)
        #expect(harness.journal.all.isEmpty)
        #expect(try queued.status().state == .waiting)
    }

    @Test("A batch pass under way when a shutdown begins starts nothing more, and a pass racing the shutdown opens no gate", .timeLimit(.minutes(1)))
    func runDueDuringShutdown() async throws {
        let stubborn = try StubbornDocket(configuration: DocketConfiguration(execution: .batch))
        let docket = stubborn.docket
        let first = try await stubborn.submit("first", on: "a")
        let second = try await stubborn.submit("second", on: "a")
        // Run at once if it starts: the test then fails on what ran, not on a hang.
        stubborn.gate.open("second")
        let pass = Task { try await docket.runDue() }
        try await waitUntil(first, is: .running)
        async let report = docket.shutdown(gracePeriod: .seconds(10))
        #expect(await yield { !docket.engine.pool.keepsDraining(budgetLeft: true) }, "the shutdown never closed the gate")
        // A pass that passed its check just before the shutdown's flag opens the gate now.
        docket.engine.pool.setGate(open: true)
        stubborn.gate.open("first")
        #expect(try await pass.value.succeeded == 1)
        #expect(await report == ShutdownReport(finishedInTime: true, cancelledAtDeadline: 0, leftQueued: 1))
        #expect(try second.status().state == .waiting)
        #expect(stubborn.contexts.all.count == 1)
    }

    @Test("An event stream of an operation left queued by a shutdown ends", .timeLimit(.minutes(1)))
    func eventsOfQueuedEndAtShutdown() async throws {
        let harness = try Harness()
        let running = try await harness.submit("a", harness.slow)
        let queued = try await harness.submit("b")
        try await waitUntil(running, is: .running)
        let events = try queued.events()
        async let report = harness.docket.shutdown(gracePeriod: .seconds(1))
        #expect(await yield { harness.clock.nextDeadline != nil }, "the grace period's timer never slept")
        harness.clock.advance(by: .seconds(1))
        _ = await report
        let ended = await finishes { for await _ in events {} }
        #expect(ended, "the queued operation's event stream never ended")
        // One opened after the shutdown ends after its snapshot.
        let later = try queued.events()
        let snapshots = Mutex(0)
        let laterEnded = await finishes {
            for await event in later { if case .snapshot = event { snapshots.withLock { $0 += 1 } } }
        }
        #expect(laterEnded, "a stream opened after the shutdown never ended")
        #expect(snapshots.withLock { $0 } == 1)
    }

    @Test("No attempt starts once shutdown(gracePeriod:) has returned saying nothing was running", .timeLimit(.minutes(2)))
    func noStartAfterShutdownReturned() async throws {
        var late = 0
        let runs = 1_000
        for _ in 0..<runs {
            let stubborn = try StubbornDocket()
            let docket = stubborn.docket
            // A parked worker, for the next submission to be handed to.
            let warm = try await stubborn.submit("warm")
            stubborn.gate.open("warm")
            _ = try await warm.value()
            await docket.waitForIdle()
            // Handed to the parked worker (the pool counts it busy) as the shutdown begins.
            _ = try await stubborn.submit("x", on: "x")
            // The grace period ends before the shutdown waits (a grace timer firing first).
            docket.engine.pool.releaseQuietWaiters()
            let report = await docket.shutdown(gracePeriod: .zero)
            // Nothing was running, and nothing queued runs in this process: x must not start.
            // The worker handed x ends its turn having started nothing, or else starts x,
            // whose body then holds the turn at its gate: wait for either.
            if report.cancelledAtDeadline == 0 {
                let pool = docket.engine.pool
                #expect(await yield(until: { stubborn.contexts.all.count > 1 || pool.busyWorkers == 0 }), "the worker handed x never ended its turn")
                if stubborn.contexts.all.count > 1 { late += 1 }
            }
            stubborn.gate.open("x")
        }
        #expect(late == 0, "\(late) of \(runs) shutdowns reported nothing running, and their queued attempt started afterwards")
    }

    @Test("An operation a shutdown reported left queued, and whose waiter it told so, does not run afterwards", .timeLimit(.minutes(1)))
    func lateTurnRunsReportedQueued() async throws {
        let ran = Journal()
        let stubborn = OperationDefinition<String, String>("stubborn") { label, context in
            // Ignores the request to stop, as a body with one last step to finish may.
            ran.append("\(label) cancelled: \(context.isCancelled)")
            return label
        }
        var registry = OperationRegistry()
        try registry.register(stubborn)
        let docket = try Docket(registry: registry, configuration: DocketConfiguration(execution: .batch), clock: ManualClock())
        let handle = try await docket.submit(stubborn, input: "b", options: SubmitOptions(objectKey: "k1"))
        let mailbox = try #require(docket.engine.directory.existing(.keyed(owner: nil, key: "k1")))
        let wait = CapacityTests.valueOnATask(of: handle)
        #expect(await yield { docket.engine.tracker.waiterCount(handle.id) == 1 }, "the wait never registered")
        let report = await docket.shutdown(gracePeriod: .zero)
        #expect(report == ShutdownReport(finishedInTime: true, cancelledAtDeadline: 0, leftQueued: 1))
        #expect(await wait.ended())
        #expect(wait.error?.code == .shutDown)
        // A worker handed the line just before the shutdown closed the gate takes its turn now
        // (`noStartAfterShutdownReturned` shows a real worker doing so). The docket stays:
        // gone, it would refuse the start instead (DroppedDocketTests.lateTurnRunsNothing).
        _ = await mailbox.drain(TurnLimit(budget: 32, deadline: .now + .seconds(60)), spares: Mailbox.SpareContexts())
        withExtendedLifetime(docket) {}
        #expect(ran.all.isEmpty, "it ran after the shutdown: \(ran.all)")
        #expect(try docket.status(of: handle.id).state == .waiting, "reported left queued, told its waiter so, and then it ran")
    }

    @Test("A start that finds the queue closed by a shutdown leaves its operation queued and its body unrun, whatever the gate said", .timeLimit(.minutes(1)))
    func startAfterCloseStaysQueued() async throws {
        let turns = Atomic<Int>(0)
        var configuration = DocketConfiguration()
        configuration.maxConcurrentOperations = 1
        configuration.turnObserver = { _, _ in turns.add(1, ordering: .relaxed) }
        let stubborn = try StubbornDocket(configuration: configuration)
        let docket = stubborn.docket
        // The one worker is busy, so the next line waits on the ready queue with the gate open.
        let busy = try await stubborn.submit("busy", on: "x")
        try await waitUntil(busy, is: .running)
        stubborn.gate.open("late")
        let late = try await stubborn.submit("late", on: "k")
        let mailbox = try #require(docket.engine.directory.existing(.keyed(owner: nil, key: "k")))
        // The part of a shutdown that tells waiters nothing queued runs here, as it lands
        // between a worker's look at the gate and its start.
        docket.engine.tracker.closeQueued()
        _ = await mailbox.drain(TurnLimit(budget: 32, deadline: .now + .seconds(60)), spares: Mailbox.SpareContexts())
        #expect(stubborn.contexts.all.count == 1, "the late operation's body ran")
        #expect(try late.status().state == .waiting)
        #expect(await docket.metrics().waiting == 1)
        // The worker goes on, the gate still open, and takes the late line from the queue: it
        // starts nothing there either, and the line, left off the queue, comes back no more.
        stubborn.gate.open("busy")
        try await waitUntil(busy, is: .succeeded)
        #expect(await finishes { await docket.waitForIdle() }, "the line whose head cannot start kept coming back")
        #expect(turns.load(ordering: .relaxed) <= 3)
        #expect(try late.status().state == .waiting)
        #expect(stubborn.contexts.all.count == 1)
    }
}
