@testable import Docket
import DocketTesting
import Testing

@Suite("Failure, retry and blocking")
struct FailureTests {
    @Test("A failure blocks only its object; later operations on it stay queued")
    func failureBlocksOnlyItsObject() async throws {
        let harness = try Harness()
        let failed = try await harness.submit("a1", on: "a", fail: true)
        let follower = try await harness.submit("a2", on: "a")
        let other = try await harness.submit("b1", on: "b")
        await harness.idle()
        #expect(harness.journal.all.sorted() == ["a1", "b1"])
        let status = try failed.status()
        #expect(status.state == .failed)
        #expect(status.errorText == "a1 failed")
        #expect(try follower.status().state == .waiting)
        #expect(try other.status().state == .succeeded)
        let metrics = await harness.docket.metrics()
        #expect(metrics.blockedObjects.map(\.failedOperation) == [failed.id])
        #expect(metrics.blockedObjects.first?.objectKey == "a")
    }

    @Test("Retry with corrected input unblocks the object and its followers run in order")
    func retryWithCorrectedInput() async throws {
        let harness = try Harness()
        let failed = try await harness.submit("bad", fail: true)
        _ = try await harness.submit("next")
        await harness.idle()
        #expect(harness.journal.all == ["bad"])
        try await harness.docket.retry(failed.id, correctedInput: Step(label: "fixed"))
        await harness.idle()
        #expect(harness.journal.all == ["bad", "fixed", "next"])
        #expect(failed.takeResult().value == "done fixed")
        #expect(try failed.status().state == .succeeded)
        #expect(await harness.docket.metrics().blockedObjects.isEmpty)
    }

    @Test("Retry without new input runs the same input again")
    func retrySameInput() async throws {
        let harness = try Harness()
        let failed = try await harness.submit("x", fail: true)
        await harness.idle()
        try await harness.docket.retry(failed.id)
        await harness.idle()
        #expect(harness.journal.all == ["x", "x"])
        #expect(try failed.status().state == .failed)
        #expect(try failed.status().attempt == 2)
    }

    @Test("Reading a failure never unblocks the object")
    func readingFailureDoesNotUnblock() async throws {
        let harness = try Harness()
        let failed = try await harness.submit("bad", fail: true)
        let follower = try await harness.submit("next")
        await harness.idle()
        #expect(failed.takeResult().failure?.message == "bad failed")
        #expect(failed.takeResult().isConsumed)
        await harness.idle()
        #expect(try follower.status().state == .waiting)
        #expect(try failed.status().state == .failed)
        #expect(harness.journal.all == ["bad"])
    }

    @Test("A retry policy retries with backoff before failing, and counts attempts")
    func retryPolicy() async throws {
        let harness = try Harness()
        let handle = try await harness.submit("f", harness.flaky)
        await harness.idle()
        #expect(harness.journal.all == ["f#1"])
        let waiting = try handle.status()
        #expect(waiting.state == .delayed)
        #expect(waiting.errorText == "attempt 1 failed")
        #expect(waiting.attempt == 1)
        harness.clock.advance(by: .seconds(10))
        await harness.idle()
        #expect(harness.journal.all == ["f#1", "f#2"])
        harness.clock.advance(by: .seconds(10))
        await harness.idle()
        #expect(harness.journal.all == ["f#1", "f#2", "f#3"])
        #expect(try handle.status().state == .succeeded)
        #expect(try handle.status().attempt == 3)
    }

    @Test("A non-retryable error fails at once, whatever the retry policy; a retry by hand starts a new round")
    func nonRetryableError() async throws {
        let harness = try Harness()
        let handle = try await harness.submit("r", fail: true, harness.flaky)
        let follower = try await harness.submit("next")
        await harness.idle()
        #expect(harness.journal.all == ["r#1"])
        let failed = try handle.status()
        #expect(failed.state == .failed)
        #expect(failed.errorText == "r refused")
        #expect(try follower.status().state == .waiting)
        try await harness.docket.retry(handle.id, correctedInput: Step(label: "r"))
        await harness.idle()
        // The new round meets the policy again: attempt 2 fails (retryable), attempt 3 succeeds.
        harness.clock.advance(by: .seconds(10))
        await harness.idle()
        #expect(harness.journal.all == ["r#1", "r#2", "r#3", "next"])
        #expect(try handle.status().state == .succeeded)
    }

    @Test("Retry of an operation that is not failed is refused and changes nothing")
    func retryNotFailed() async throws {
        let harness = try Harness()
        let handle = try await harness.submit("later", delay: .seconds(5))
        let error = await expectError(.notRetryable) { try await harness.docket.retry(handle.id) }
        #expect(error != nil)
        #expect(try handle.status().state == .delayed)
    }

    @Test("A timeout fails the operation when its body returns, holding the line until then, and blocks the object",
          .timeLimit(.minutes(1)))
    func timeout() async throws {
        let harness = try Harness()
        let timed = try await harness.submit("t", harness.timed)
        let follower = try await harness.submit("after")
        try await waitUntil(timed, is: .running)
        // The state reads running before the attempt arms its timeout, and the timer's sleep
        // starts on a task of its own: wait until it sleeps, for exactly the timeout.
        #expect(await yield { harness.clock.nextDeadline != nil }, "the timeout's timer never slept")
        #expect(harness.clock.nextDeadline == ManualClock.Instant(offset: .seconds(5)))
        harness.clock.advance(by: .seconds(4))
        #expect(harness.clock.nextDeadline == ManualClock.Instant(offset: .seconds(5)))
        #expect(try timed.status().state == .running)
        harness.clock.advance(by: .seconds(1))
        await harness.idle()
        #expect(harness.journal.all == ["start t", "stopped t"])
        let status = try timed.status()
        #expect(status.state == .failed)
        #expect(status.errorText?.contains("timeout") == true)
        #expect(timed.takeResult().failure?.kind == .timedOut)
        #expect(try follower.status().state == .waiting)
    }

    @Test("The first of a cancel and a timeout decides how a running attempt ends: a timeout after an accepted cancel neither retries it nor blocks its object, and a cancel after the timeout is refused", arguments: [true, false])
    func cancelAndTimeout(cancelFirst: Bool) async throws {
        let clock = ManualClock()
        let journal = Journal()
        let gate = Gate()
        let seen = Contexts()
        let guarded = OperationDefinition<String, String>(
            "guarded", retryPolicy: RetryPolicy(maxAttempts: 3, backoff: .fixed(.seconds(1))), timeout: .seconds(5)
        ) { label, context in
            seen.append(context)
            journal.append("start \(label)#\(context.attempt)")
            // Busy until the gate opens, whatever it is asked.
            await gate.wait(label)
            try context.checkCancellation()
            return label
        }
        var registry = OperationRegistry()
        try registry.register(guarded)
        let docket = try Docket(registry: registry, clock: clock)
        let handle = try await docket.submit(guarded, input: "x", options: SubmitOptions(objectKey: "deal"))
        let follower = try await docket.submit(guarded, input: "y", options: SubmitOptions(objectKey: "deal"))
        try await waitUntil(handle, is: .running)
        #expect(await yield { clock.nextDeadline != nil }, "the timeout's timer never slept")
        guard let context = seen.all.first else {
            Issue.record("the body did not run")
            return
        }
        if cancelFirst { try await handle.cancel() }
        clock.advance(by: .seconds(5))
        // The timer fires on a task of its own. After a cancel the timeout changes nothing
        // to wait for: give it the chance to.
        let timedOut = await yield(until: { context.isTimedOut }, limit: cancelFirst ? 10_000 : 100_000)
        #expect(timedOut == !cancelFirst)
        if !cancelFirst {
            // Stopping for its timeout already: the cancel is refused, and says why to look again.
            #expect(await expectError(.notCancellable) { try await handle.cancel() } != nil)
        }
        gate.open("x")
        gate.open("y")
        await docket.waitForIdle()
        clock.advance(by: .seconds(2))
        await docket.waitForIdle()
        if cancelFirst {
            #expect(try handle.status().state == .cancelled(.cancelled))
            #expect(try await follower.value() == "y")
            #expect(journal.all == ["start x#1", "start y#1"])
        } else {
            // A retry after the timeout, which the refused cancel did not prevent.
            #expect(journal.all.prefix(2) == ["start x#1", "start x#2"])
            #expect(try await handle.value() == "x")
        }
    }

    @Test("A body still running past its timeout at a shutdown's deadline counts as still running, and a cancel of it says why it is refused")
    func shutdownCountsTimedOutBody() async throws {
        let stubborn = try StubbornDocket()
        let (clock, seen, docket) = (stubborn.clock, stubborn.contexts, stubborn.docket)
        let handle = try await stubborn.submit("x")
        try await waitUntil(handle, is: .running)
        #expect(await yield { clock.nextDeadline != nil }, "the timeout's timer never slept")
        clock.advance(by: .seconds(5))
        #expect(await yield(until: { seen.all.first?.isTimedOut == true }))
        let refusal = await expectError(.notCancellable) { try await handle.cancel() }
        #expect(refusal?.message.contains("timeout") == true)
        async let report = docket.shutdown(gracePeriod: .seconds(1))
        #expect(await yield { clock.nextDeadline != nil }, "the grace period's timer never slept")
        clock.advance(by: .seconds(1))
        let final = await report
        // The body has not returned: it is still running at the deadline.
        #expect(!final.finishedInTime)
        #expect(final.cancelledAtDeadline == 1)
        stubborn.gate.open("x")
    }

    @Test("A context kept after its attempt ended answers cancellation() at once: nothing is coming to end that wait", .timeLimit(.minutes(1)))
    func cancellationAfterEnd() async throws {
        let seen = Contexts()
        let quick = OperationDefinition<String, String>("quick") { label, context in
            seen.append(context)
            return label
        }
        var registry = OperationRegistry()
        try registry.register(quick)
        let docket = try Docket(registry: registry, clock: ManualClock())
        #expect(try await docket.submit(quick, input: "q").value() == "q")
        guard let context = seen.all.first else {
            Issue.record("the body did not run")
            return
        }
        // Bounded, so a wait that never ends fails instead of hanging.
        let returned = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await context.cancellation()
                return true
            }
            group.addTask {
                _ = await yield(until: { false }, limit: 100_000)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        #expect(returned)
        #expect(!context.isCancelled)
    }

    @Test("Cancelling a running operation is cooperative and does not block its object")
    func cancelRunning() async throws {
        let harness = try Harness()
        let slow = try await harness.submit("s", harness.slow)
        let follower = try await harness.submit("after")
        try await waitUntil(slow, is: .running)
        try await slow.cancel()
        await harness.idle()
        #expect(try slow.status().state == .cancelled(.cancelled))
        #expect(try follower.status().state == .succeeded)
        #expect(harness.journal.all == ["start s", "after"])
    }

    @Test("Cancelling a queued operation removes it; the rest of the line runs")
    func cancelQueued() async throws {
        let harness = try Harness()
        let first = try await harness.submit("first", delay: .seconds(1))
        let second = try await harness.submit("second")
        try await second.cancel()
        harness.clock.advance(by: .seconds(1))
        await harness.idle()
        #expect(harness.journal.all == ["first"])
        #expect(try second.status().state == .cancelled(.cancelled))
        #expect(try first.status().state == .succeeded)
        #expect(second.takeResult().failure?.kind == .cancelled)
    }

    @Test("Cancelling a failed or finished operation is refused")
    func cancelRefused() async throws {
        let harness = try Harness()
        let failed = try await harness.submit("bad", on: "a", fail: true)
        let done = try await harness.submit("ok", on: "b")
        await harness.idle()
        #expect(await expectError(.notCancellable) { try await failed.cancel() } != nil)
        #expect(await expectError(.notCancellable) { try await done.cancel() } != nil)
        #expect(try failed.status().state == .failed)
    }
}
