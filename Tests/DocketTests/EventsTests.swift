@testable import Docket
import DocketTesting
import Testing

@Suite("Progress and event streams")
struct EventsTests {
    @Test("A stream starts with a snapshot, carries state, progress and details, and ends at the finished state")
    func streamLifecycle() async throws {
        let harness = try Harness()
        let handle = try await harness.submit("s", harness.slow)
        let stream = try handle.events()
        try await waitUntil(handle, is: .running)
        harness.gate.open("s")
        var events: [String] = []
        for await event in stream {
            switch event {
            case .snapshot(let status): events.append("snapshot:\(status.state)")
            case .state(let state): events.append("state:\(state)")
            case .progress(let percent): events.append("progress:\(percent)")
            case .detail(let entry): events.append("detail:\(entry.message)")
            }
        }
        #expect(events.first?.hasPrefix("snapshot:") == true)
        #expect(events.suffix(3) == ["progress:90", "progress:100", "state:succeeded"])
        #expect(events.contains("progress:10"))
    }

    @Test("Progress reported by two child tasks of one body at once reaches an observer in the order it was accepted: it never goes backwards")
    func concurrentProgressInOrder() async throws {
        let reporting = OperationDefinition<Int, Int>("reporting") { lanes, context in
            await withTaskGroup(of: Void.self) { group in
                for lane in 0..<lanes {
                    group.addTask {
                        for percent in stride(from: 1 + lane, through: 99, by: lanes) { context.reportProgress(percent) }
                    }
                }
            }
            return lanes
        }
        var registry = OperationRegistry()
        try registry.register(reporting)
        let docket = try Docket(registry: registry, configuration: DocketConfiguration(execution: .batch))
        var handles: [OperationHandle<Int>] = []
        var streams: [AsyncStream<OperationEvent>] = []
        for index in 0..<TestScale.scaled(300, minimum: 50) {
            let handle = try await docket.submit(reporting, input: 2, options: SubmitOptions(objectKey: "o\(index)"))
            handles.append(handle)
            streams.append(try handle.events())
        }
        _ = try await docket.runDue()
        var backwards = 0
        for stream in streams {
            var last = 0
            for await event in stream {
                guard case .progress(let percent) = event else { continue }
                if percent < last { backwards += 1 }
                last = percent
            }
        }
        #expect(backwards == 0)
        for handle in handles { #expect(try await handle.value() == 2) }
    }

    @Test("The progress read follows state and percent through an operation's life, and is scoped to the owner")
    func progressRead() async throws {
        let harness = try Harness()
        let docket = harness.docket
        let handle = try await docket.submit(harness.slow, input: Step(label: "p"), options: SubmitOptions(objectKey: "a", delay: .seconds(5), owner: "acme"))
        #expect(try docket.progress(of: handle.id, owner: "acme") == OperationProgress(state: .delayed, percent: 0))
        #expect(throws: DocketError.self) { try docket.progress(of: handle.id, owner: "globex") }
        #expect(throws: DocketError.self) { try docket.progress(of: handle.id) }
        harness.clock.advance(by: .seconds(5))
        // The body reports 10% and then waits at the gate.
        while try docket.progress(of: handle.id, owner: "acme").percent < 10 { await Task.yield() }
        #expect(try docket.progress(of: handle.id, owner: "acme") == OperationProgress(state: .running, percent: 10))
        harness.gate.open("p")
        await harness.idle()
        #expect(try docket.progress(of: handle.id, owner: "acme") == OperationProgress(state: .succeeded, percent: 100))
        #expect(docket.takeResult(of: handle.id, owner: "acme").value?.decode(as: String.self) == "done p")
        // From the tombstone once the result is taken.
        #expect(try docket.progress(of: handle.id, owner: "acme") == OperationProgress(state: .succeeded, percent: 100))
        #expect(try docket.status(of: handle.id, owner: "acme").progress == 100)
    }

    @Test("Many observers watch one operation; a late subscriber first gets the current state")
    func manyObserversAndLateSubscriber() async throws {
        let harness = try Harness()
        let handle = try await harness.submit("s", harness.slow)
        let early = try handle.events()
        try await waitUntil(handle, is: .running)
        let late = try handle.events()
        harness.gate.open("s")
        var lateEvents: [OperationEvent] = []
        for await event in late { lateEvents.append(event) }
        guard case .snapshot(let snapshot) = lateEvents.first else {
            Issue.record("first event must be a snapshot")
            return
        }
        #expect(snapshot.state == .running)
        #expect(snapshot.progress == 10)
        var earlyCount = 0
        var earlyLast: OperationEvent?
        for await event in early {
            earlyCount += 1
            earlyLast = event
        }
        #expect(earlyCount >= lateEvents.count)
        if case .state(let state) = earlyLast { #expect(state == .succeeded) } else { Issue.record("stream must end with the final state") }
        // Subscribing after the end yields one snapshot and finishes.
        var after: [OperationEvent] = []
        for await event in try handle.events() { after.append(event) }
        #expect(after.count == 1)
    }

    @Test("Progress is clamped to 0–100 and never goes backwards")
    func progressClamped() async throws {
        let clock = ManualClock()
        let jumpy = OperationDefinition<Int, Int>("jumpy") { _, context in
            context.reportProgress(-5)
            context.reportProgress(40)
            context.reportProgress(20)
            context.reportProgress(250)
            return 1
        }
        var registry = OperationRegistry()
        try registry.register(jumpy)
        let docket = try Docket(registry: registry, clock: clock)
        let handle = try await docket.submit(jumpy, input: 0, options: SubmitOptions(delay: .seconds(1)))
        let stream = try handle.events()
        clock.advance(by: .seconds(1))
        var progress: [Int] = []
        for await event in stream { if case .progress(let percent) = event { progress.append(percent) } }
        #expect(progress == [40, 100])
    }

    @Test("An attempt queued again after a failure starts its progress from zero, and a context kept from the failed attempt reports nothing into the next", .timeLimit(.minutes(1)))
    func progressPerAttempt() async throws {
        let clock = ManualClock()
        let gate = Gate()
        let contexts = Contexts()
        let retried = OperationDefinition<Int, Int>("retried", retryPolicy: RetryPolicy(maxAttempts: 2, backoff: .fixed(.seconds(1)))) { _, context in
            contexts.append(context)
            if context.attempt == 1 {
                context.reportProgress(80)
                throw OperationFailure(.thrown, "first attempt fails")
            }
            context.reportProgress(30)
            await gate.wait("second")
            return 2
        }
        var registry = OperationRegistry()
        try registry.register(retried)
        let docket = try Docket(registry: registry, clock: clock)
        let handle = try await docket.submit(retried, input: 0)
        try await waitUntil(handle, is: .delayed)
        #expect(try handle.status().progress == 0)
        clock.advance(by: .seconds(1))
        #expect(await yield { (try? handle.status().progress) == 30 }, "the second attempt's progress was not shown")
        let first = try #require(contexts.all.first)
        first.reportProgress(90)
        #expect(try handle.status().progress == 30)
        gate.open("second")
        #expect(try await handle.value() == 2)
    }

    @Test("Every attempt's context is its own: its operation and attempt, progress from zero, not cancelled; one a body kept stays its own; an ended one's storage is reused")
    func contextPerAttempt() async throws {
        let clock = ManualClock()
        let (started, startedSink) = AsyncStream.makeStream(of: Void.self)
        let seen = Locked<[Int: (id: OperationID, attempt: Int, cancelled: Bool, storage: ObjectIdentifier)]>([:])
        let kept = Locked<OperationContext?>(nil)
        // On one object, one worker's turn: the first waits until cancelled, then each of the
        // others starts with a context an earlier one may have ended with.
        let step = OperationDefinition<Int, Int>("step") { index, context in
            seen.withLock { $0[index] = (context.operationID, context.attempt, context.isCancelled, ObjectIdentifier(context.storage)) }
            if index == 0 {
                context.reportProgress(80)
                startedSink.yield()
                await context.cancellation()
            } else {
                context.reportProgress(50)
            }
            if index == 1 { kept.withLock { $0 = context } }
            return index
        }
        var registry = OperationRegistry()
        try registry.register(step)
        let docket = try Docket(registry: registry, clock: clock)
        var handles: [OperationHandle<Int>] = []
        for index in 0..<4 {
            handles.append(try await docket.submit(step, input: index, options: SubmitOptions(objectKey: "deal-1", delay: .seconds(1))))
        }
        let streams = try handles.dropFirst().map { try $0.events() }
        clock.advance(by: .seconds(1))
        for await _ in started { break }
        try await docket.cancel(handles[0].id)
        await docket.waitForIdle()

        for (index, handle) in handles.enumerated() {
            let attempt = seen.withLock { $0[index] }
            #expect(attempt?.id == handle.id)
            #expect(attempt?.attempt == 1)
            #expect(attempt?.cancelled == false)
        }
        for stream in streams {
            var progress: [Int] = []
            for await event in stream { if case .progress(let percent) = event { progress.append(percent) } }
            #expect(progress == [50, 100])
        }
        // The third starts as the second ends, while the second's context is still in hand, so
        // it gets the first's, which the cancel, the record and the body have all let go.
        let storages = seen.withLock { $0.mapValues(\.storage) }
        #expect(storages[2] == storages[0])
        #expect(Set(storages.values).count == 3)
        let keptContext = kept.withLock { $0 }
        #expect(keptContext?.operationID == handles[1].id)
        #expect(keptContext?.attempt == 1)
    }

    @Test("The details log keeps timestamped messages on the clock's timeline")
    func detailsLog() async throws {
        let origin = Date(timeIntervalSince1970: 1_700_000_000)
        let harness = try Harness(configuration: DocketConfiguration(wallClockOrigin: origin))
        let handle = try await harness.submit("x", delay: .seconds(90))
        harness.clock.advance(by: .seconds(90))
        await harness.idle()
        let status = try handle.status()
        #expect(status.details.map(\.message) == ["ran x"])
        #expect(status.details.first?.date == origin.addingTimeInterval(90))
        #expect(status.createdAt == origin)
        #expect(status.dueAt == origin.addingTimeInterval(90))
    }

    @Test("Status dates keep a fractional offset, to the precision of a date")
    func fractionalDates() async throws {
        let origin = Date(timeIntervalSince1970: 1_700_000_000)
        let harness = try Harness(configuration: DocketConfiguration(wallClockOrigin: origin))
        let delay = Duration.milliseconds(1_500) + .nanoseconds(250)
        let handle = try await harness.submit("x", delay: delay)
        #expect(try handle.status().dueAt == origin.addingTimeInterval(1.500_000_25))
        #expect(try handle.status().createdAt == origin)
    }
}

import Foundation
