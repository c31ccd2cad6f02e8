import Docket
import DocketTesting
import Foundation
import Testing

/// Dockets opened on a store, "crashed" by copying the store's records at a moment, and
/// opened again on the copy: what a restart must restore, exactly.
@Suite("Recovery from a store", .timeLimit(.minutes(1)))
struct RecoveryTests {
    /// Test operations whose bodies record into a journal; one life of a process.
    struct Life {
        static let origin = Date(timeIntervalSince1970: 1_800_000_000)

        let clock = ManualClock()
        let journal = Journal()
        let gate = Gate()
        let docket: Docket
        let record: OperationDefinition<Step, String>
        let slow: OperationDefinition<Step, String>
        let rerunnable: OperationDefinition<Step, String>
        let kept: OperationDefinition<Step, String>
        /// Not queueable: it runs only now.
        let immediate: OperationDefinition<Step, String>

        /// Opens a docket on `store` at `elapsed` after the first life's origin.
        init(store: any DocketStore, elapsed: Duration = .zero, without excluded: String? = nil) async throws {
            let journal = journal
            let gate = gate
            record = OperationDefinition<Step, String>("record") { step, _ in
                journal.append(step.label)
                if step.fail { throw TestFailure(message: "\(step.label) failed") }
                return "done \(step.label)"
            }
            slow = OperationDefinition<Step, String>("slow") { step, context in
                journal.append("start \(step.label)")
                await gate.wait(step.label, context: context)
                journal.append("end \(step.label)")
                return "done \(step.label)"
            }
            rerunnable = OperationDefinition<Step, String>("rerunnable", idempotent: true) { step, context in
                journal.append("start \(step.label)")
                await gate.wait(step.label, context: context)
                return "done \(step.label)"
            }
            kept = OperationDefinition<Step, String>("kept", retention: .keep(for: .seconds(60))) { step, _ in
                "kept \(step.label)"
            }
            immediate = OperationDefinition<Step, String>("immediate", queueable: false) { step, _ in
                journal.append(step.label)
                return "done \(step.label)"
            }
            var registry = OperationRegistry()
            try registry.register(record)
            try registry.register(slow)
            try registry.register(rerunnable)
            if excluded != "kept" { try registry.register(kept) }
            try registry.register(immediate)
            let configuration = DocketConfiguration(wallClockOrigin: Self.origin.addingTimeInterval(TimeInterval(elapsed.components.seconds)))
            docket = try await Docket(registry: registry, configuration: configuration, clock: clock, store: store)
        }

        func submit(_ label: String, on key: String? = "deal-1", delay: Duration = .zero, fail: Bool = false,
                    _ definition: OperationDefinition<Step, String>? = nil, idempotencyKey: String? = nil,
                    dependencies: [OperationID] = []) async throws -> OperationID {
            try await docket.submit(definition ?? record, input: Step(label: label, fail: fail),
                                    options: SubmitOptions(objectKey: key, delay: delay, idempotencyKey: idempotencyKey, dependencies: dependencies)).id
        }

        /// Submits `label` to a body that holds at the gate, and returns once it is running.
        @discardableResult
        func submitRunning(_ label: String, _ definition: OperationDefinition<Step, String>) async throws -> OperationID {
            let id = try await submit(label, definition)
            try await waitUntil(id, in: docket) { $0 == .running }
            return id
        }
    }

    /// The records a crash now would leave.
    static func crash(_ store: InMemoryStore) -> InMemoryStore {
        InMemoryStore(records: store.records)
    }

    @Test("Waiting and delayed operations come back in their order, with what is left of their delays")
    func queuedOrderAndDelays() async throws {
        let store = InMemoryStore()
        let first = try await Life(store: store)
        let hold = try await first.submit("hold", first.slow)
        _ = try await first.submit("a")
        _ = try await first.submit("b")
        let later = try await first.submit("later", on: "deal-2", delay: .seconds(60))
        try await waitUntil(hold, in: first.docket) { $0 == .running }
        first.clock.advance(by: .seconds(20))
        #expect(first.journal.all == ["start hold"])

        let second = try await Life(store: Self.crash(store), elapsed: .seconds(20))
        #expect(second.docket.recovery.interrupted == 1)
        #expect(second.docket.recovery.queued == 3)
        await second.docket.waitForIdle()
        #expect(try second.docket.status(of: later).state == .delayed)
        second.clock.advance(by: .seconds(39))
        await second.docket.waitForIdle()
        #expect(second.journal.all == [])
        second.clock.advance(by: .seconds(1))
        await second.docket.waitForIdle()
        #expect(second.journal.all == ["later"])
    }

    @Test("A restored operation created after the new life's origin reads as delayed until then, from its status and its progress alike")
    func restoredAheadOfTheClock() async throws {
        let store = InMemoryStore()
        let first = try await Life(store: store)
        try await first.submitRunning("hold", first.slow)
        first.clock.advance(by: .seconds(30))
        // Due at once, 30 s into the first life, behind the running head.
        let behind = try await first.submit("behind")

        // The second life starts at the first one's origin, as after a wall clock stepped back.
        let second = try await Life(store: Self.crash(store))
        await second.docket.waitForIdle()
        #expect(try second.docket.status(of: behind).state == .delayed)
        #expect(try second.docket.progress(of: behind) == OperationProgress(state: .delayed, percent: 0))
        second.clock.advance(by: .seconds(30))
        #expect(try second.docket.status(of: behind).state == .waiting)
        #expect(try second.docket.progress(of: behind) == OperationProgress(state: .waiting, percent: 0))
    }

    @Test("A non-idempotent operation running at the crash fails as interrupted and blocks its object until retried")
    func interruptedBlocks() async throws {
        let store = InMemoryStore()
        let first = try await Life(store: store)
        let held = try await first.submit("hold", first.slow)
        _ = try await first.submit("a")
        try await waitUntil(held, in: first.docket) { $0 == .running }

        let second = try await Life(store: Self.crash(store))
        await second.docket.waitForIdle()
        let status = try second.docket.status(of: held)
        #expect(status.state == .failed)
        #expect(status.errorText?.contains("restart interrupted attempt 1") == true)
        #expect(second.docket.takeResult(of: held).failure?.kind == .interrupted)
        #expect(second.journal.all == [], "the body did not run again, and its follower waits")
        second.gate.open("hold")
        try await second.docket.retry(held)
        await second.docket.waitForIdle()
        #expect(second.journal.all == ["start hold", "end hold", "a"])
        #expect(try second.docket.status(of: held).attempt == 2)
    }

    @Test("An idempotent operation running at the crash runs again")
    func idempotentRerun() async throws {
        let store = InMemoryStore()
        let first = try await Life(store: store)
        let id = try await first.submitRunning("again", first.rerunnable)

        let second = try await Life(store: Self.crash(store))
        #expect(second.docket.recovery.rerun == 1)
        second.gate.open("again")
        await second.docket.waitForIdle()
        #expect(second.journal.all == ["start again"])
        #expect(second.docket.takeResult(of: id).value?.decode(as: String.self) == "done again")
    }

    @Test("Read-once holds across the restart; unread results and kept results are readable again")
    func resultsAndConsumption() async throws {
        let store = InMemoryStore()
        let first = try await Life(store: store)
        let taken = try await first.submit("taken")
        let unread = try await first.submit("unread", on: "deal-2")
        let kept = try await first.submit("kept", on: "deal-3", first.kept)
        await first.docket.waitForIdle()
        #expect(first.docket.takeResult(of: taken).value?.decode(as: String.self) == "done taken")
        #expect(first.docket.takeResult(of: kept).value?.decode(as: String.self) == "kept kept")

        let second = try await Life(store: Self.crash(store), elapsed: .seconds(30))
        #expect(second.docket.recovery.results == 2)
        #expect(second.docket.recovery.tombstones == 1)
        #expect(second.docket.takeResult(of: taken).isConsumed)
        #expect(second.docket.takeResult(of: unread).value?.decode(as: String.self) == "done unread")
        #expect(second.docket.takeResult(of: unread).isConsumed)
        #expect(second.docket.takeResult(of: kept).value?.decode(as: String.self) == "kept kept")
        #expect(try second.docket.status(of: unread).state == .succeeded)

        // The kept result's minute ran out while the process was down.
        let third = try await Life(store: Self.crash(store), elapsed: .seconds(61))
        #expect(third.docket.takeResult(of: kept).isNotFound)
    }

    @Test("A failed operation blocks its object again, with its error text; retry with corrected input resumes it")
    func failedBlocks() async throws {
        let store = InMemoryStore()
        let first = try await Life(store: store)
        let failed = try await first.submit("bad", fail: true)
        _ = try await first.submit("next")
        await first.docket.waitForIdle()
        #expect(first.journal.all == ["bad"])

        let copy = Self.crash(store)
        let second = try await Life(store: copy)
        #expect(second.docket.recovery.failed == 1)
        #expect(second.docket.recovery.queued == 1)
        await second.docket.waitForIdle()
        let status = try second.docket.status(of: failed)
        #expect(status.state == .failed)
        #expect(status.errorText == "bad failed")
        #expect(second.journal.all == [])
        try await second.docket.retry(failed, correctedInput: Step(label: "fixed"))
        await second.docket.waitForIdle()
        #expect(second.journal.all == ["fixed", "next"])

        // And the retry itself is on record: a third life finds both done.
        let third = try await Life(store: Self.crash(copy))
        #expect(third.docket.recovery.results == 2)
        #expect(third.docket.takeResult(of: failed).value?.decode(as: String.self) == "done fixed")
    }

    @Test("An operation retried after a failure keeps its last error text across a restart, as it shows it before")
    func retriedKeepsErrorText() async throws {
        let id = OperationID.random()
        let origin = Life.origin
        let store = InMemoryStore(records: [
            .submitted(JournalSubmission(
                id: id, operation: "rerunnable", input: try JSONEncoder().encode(Step(label: "again")), owner: nil,
                objectKey: "deal-1", created: origin, due: origin)),
            .started(id, attempt: 1),
            .failed(id, OperationFailure(.thrown, "attempt 1 failed"), at: origin),
            .retried(id, correctedInput: nil, at: origin),
            .started(id, attempt: 2),
        ])
        let life = try await Life(store: store)
        try await waitUntil(id, in: life.docket) { $0 == .running }
        let status = try life.docket.status(of: id)
        #expect(status.attempt == 3)
        #expect(status.errorText == "attempt 1 failed")
        life.gate.open("again")
        await life.docket.waitForIdle()
        #expect(try life.docket.status(of: id).errorText == nil)
    }

    @Test("Deleted and cancelled operations stay cancelled; idempotency keys return the same operation")
    func deletionsAndKeys() async throws {
        let store = InMemoryStore()
        let first = try await Life(store: store)
        let hold = try await first.submit("hold", first.slow)
        let deleted = try await first.submit("deleted")
        let keyed = try await first.submit("keyed", on: "deal-2", delay: .seconds(5), idempotencyKey: "k-1")
        try await waitUntil(hold, in: first.docket) { $0 == .running }
        _ = try await first.docket.delete(deleted)

        let second = try await Life(store: Self.crash(store))
        #expect(try second.docket.status(of: deleted).state == .cancelled(.deleted))
        #expect(try await second.submit("keyed", on: "deal-2", idempotencyKey: "k-1") == keyed)
        second.clock.advance(by: .seconds(5))
        await second.docket.waitForIdle()
        #expect(second.journal.all == ["keyed"])
    }

    @Test("A dependency whose tombstone's window ended while the process was down counts as succeeded")
    func agedOutDependency() async throws {
        let store = InMemoryStore()
        let first = try await Life(store: store)
        let parent = try await first.submit("parent")
        await first.docket.waitForIdle()
        #expect(first.docket.takeResult(of: parent).value != nil)
        let child = try await first.submit("child", on: "deal-2", delay: .seconds(48 * 3600), dependencies: [parent])

        let second = try await Life(store: Self.crash(store), elapsed: .seconds(25 * 3600))
        #expect(second.docket.recovery.cancelled == 0)
        #expect(try second.docket.status(of: child).state == .delayed)
        second.clock.advance(by: .seconds(23 * 3600))
        await second.docket.waitForIdle()
        #expect(second.journal.all == ["child"])
    }

    @Test("A run-now submission that had not started is dropped at restart, with its idempotency key: its caller is gone")
    func abandonedRunNow() async throws {
        let store = InMemoryStore()
        let first = try await Life(store: store)
        try await first.submitRunning("hold", first.slow)
        let docket = first.docket
        let record = first.record
        let waiting = Task { try await docket.perform(record, input: Step(label: "now"), options: SubmitOptions(objectKey: "deal-1", idempotencyKey: "k-now")) }
        var runNow: OperationID?
        while runNow == nil {
            await Task.yield()
            for case .submitted(let submission) in store.records where submission.runsNow { runNow = submission.id }
        }
        let id = try #require(runNow)

        let second = try await Life(store: Self.crash(store))
        #expect(second.docket.recovery.abandoned == 1)
        #expect(second.docket.recovery.interrupted == 1)
        #expect((try? second.docket.status(of: id)) == nil)
        // Its key was not restored: the caller asking again is a new submission.
        #expect(try await second.docket.perform(second.record, input: Step(label: "again"), options: SubmitOptions(objectKey: "deal-9", idempotencyKey: "k-now")) == "done again")
        first.gate.open("hold")
        #expect(try await waiting.value == "done now")
    }

    @Test("A dependent of a run-now operation a restart drops is cancelled, not run: the dropped one never runs")
    func dependentOfAbandonedRunNow() async throws {
        let store = InMemoryStore()
        let first = try await Life(store: store)
        // A delayed head keeps the run-now operation queued behind it.
        _ = try await first.submit("head", delay: .seconds(60))
        // Not queueable, it is dropped by a restart even with its handle handed out.
        let submission = try await first.docket.perform(
            operationNamed: "immediate", input: Data(#"{"label":"now","fail":false}"#.utf8), options: SubmitOptions(objectKey: "deal-1"),
            waitingUpTo: .zero)
        guard case .accepted(let handle) = submission else {
            Issue.record("expected the handle, got \(submission)")
            return
        }
        let dependent = try await first.submit("dependent", on: "deal-2", dependencies: [handle.id])
        await first.docket.waitForIdle()
        #expect(try first.docket.status(of: dependent).state == .waiting)

        let second = try await Life(store: Self.crash(store))
        await second.docket.waitForIdle()
        #expect(second.docket.recovery.abandoned == 1)
        #expect(try second.docket.status(of: dependent).state == .cancelled(.dependencyDeleted))
        #expect(!second.journal.all.contains("dependent"))
        second.clock.advance(by: .seconds(60))
        await second.docket.waitForIdle()
        #expect(second.journal.all == ["head"])
    }

    @Test("A run-now operation whose ID was handed out to track it, by a wait that gave up or a deferred repeat of its key, survives a restart as deferred")
    func handedOutRunNowSurvives() async throws {
        let store = InMemoryStore()
        let first = try await Life(store: store)
        // A delayed head keeps the run-now operations queued behind it.
        _ = try await first.submit("head", delay: .seconds(60))
        let submission = try await first.docket.perform(
            operationNamed: "record", input: Data(#"{"label":"gave up","fail":false}"#.utf8), options: SubmitOptions(objectKey: "deal-1"),
            waitingUpTo: .zero)
        guard case .accepted(let handle) = submission else {
            Issue.record("expected the handle, got \(submission)")
            return
        }
        let docket = first.docket
        let record = first.record
        let options = SubmitOptions(objectKey: "deal-1", idempotencyKey: "k")
        let waiting = Task { try await docket.perform(record, input: Step(label: "now"), options: options) }
        #expect(await yield { await docket.metrics().totals.submitted == 3 })
        // Acknowledged with the waiting run-now operation's ID, and durable.
        let repeated = try await docket.submit(record, input: Step(label: "later"), options: options).id
        // One not handed out is still dropped.
        let dropped = Task { try await docket.perform(record, input: Step(label: "dropped"), options: SubmitOptions(objectKey: "deal-1")) }
        #expect(await yield { await docket.metrics().totals.submitted == 4 })

        let second = try await Life(store: Self.crash(store))
        #expect(second.docket.recovery.abandoned == 1)
        #expect(try second.docket.status(of: handle.id).state == .waiting)
        #expect(try second.docket.status(of: repeated).state == .waiting)
        // The key still names the operation it was handed out for.
        #expect(try await second.submit("again", idempotencyKey: "k") == repeated)
        second.clock.advance(by: .seconds(60))
        await second.docket.waitForIdle()
        #expect(second.journal.all == ["head", "gave up", "now"])
        #expect(second.docket.takeResult(of: repeated).value?.decode(as: String.self) == "done now")
        #expect(second.docket.takeResult(of: handle.id).value?.decode(as: String.self) == "done gave up")
        waiting.cancel()
        dropped.cancel()
        _ = try? await waiting.value
        _ = try? await dropped.value
    }

    @Test("A store naming an unregistered operation refuses the open and restores nothing")
    func unknownDefinition() async throws {
        let store = InMemoryStore()
        let first = try await Life(store: store)
        _ = try await first.submit("k", first.kept)
        let error = await expectError(.unknownOperation) { _ = try await Life(store: Self.crash(store), without: "kept") }
        #expect(error?.message.contains("\"kept\", which is not registered") == true)
    }

    @Test("Compacted records rebuild the same state, in fewer records")
    func compaction() async throws {
        let store = InMemoryStore()
        let first = try await Life(store: store)
        let taken = try await first.submit("taken")
        let unread = try await first.submit("unread")
        let waiting = try await first.submit("waiting", delay: .seconds(10))
        await first.docket.waitForIdle()
        _ = first.docket.takeResult(of: taken)
        let before = store.records.count
        let copy = Self.crash(store)
        copy.compact(now: Life.origin, tombstoneLifetime: .seconds(3600))
        #expect(copy.records.count < before)

        let second = try await Life(store: copy)
        #expect(second.docket.takeResult(of: taken).isConsumed)
        #expect(second.docket.takeResult(of: unread).value?.decode(as: String.self) == "done unread")
        #expect(try second.docket.status(of: waiting).state == .delayed)
        second.clock.advance(by: .seconds(10))
        await second.docket.waitForIdle()
        #expect(second.journal.all == ["waiting"])
    }

    /// An output whose encoding always throws: a store cannot record it.
    struct Unencodable: Codable, Sendable {
        init() {}
        init(from decoder: any Decoder) throws { self.init() }
        func encode(to encoder: any Encoder) throws {
            throw EncodingError.invalidValue(0, EncodingError.Context(codingPath: [], debugDescription: "never encodes"))
        }
    }

    @Test("With a store, an output that cannot be encoded fails its operation, in memory and after a restart, and blocks its object")
    func unencodableOutputFails() async throws {
        let ran = Journal()
        let unencodable = OperationDefinition<Step, Unencodable>("unencodable") { _, _ in Unencodable() }
        let follower = OperationDefinition<Step, String>("follower") { step, _ in
            ran.append(step.label)
            return step.label
        }
        func open(_ store: any DocketStore) async throws -> Docket {
            var registry = OperationRegistry()
            try registry.register(unencodable)
            try registry.register(follower)
            return try await Docket(registry: registry, configuration: DocketConfiguration(), clock: ManualClock(), store: store)
        }
        let store = InMemoryStore()
        let docket = try await open(store)
        let failing = try await docket.submit(unencodable, input: Step(label: "output"), options: SubmitOptions(objectKey: "deal-1")).id
        let behind = try await docket.submit(follower, input: Step(label: "behind"), options: SubmitOptions(objectKey: "deal-1")).id
        await docket.waitForIdle()
        let crashed = Self.crash(store)
        #expect(try docket.status(of: failing).state == .failed)
        #expect(try docket.status(of: behind).state == .waiting)
        guard case .finished(.failure(let failure)) = docket.takeResult(of: failing) else {
            Issue.record("the operation did not fail")
            return
        }
        #expect(failure.kind == .thrown)
        #expect(failure.message.contains("could not be encoded for the journal"))

        let restarted = try await open(crashed)
        await restarted.waitForIdle()
        #expect(try restarted.status(of: failing).state == .failed)
        #expect(try restarted.status(of: behind).state == .waiting)
        #expect(ran.all == [])
    }
}
