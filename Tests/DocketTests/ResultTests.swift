@testable import Docket
import DocketTesting
import Foundation
import Synchronization
import Testing

@Suite("Results, owners and waiting")
struct ResultTests {
    @Test("Read once: unknown, not finished, the result, and already consumed are four distinct answers")
    func readOnceFourAnswers() async throws {
        let harness = try Harness()
        let unknown = OperationID("0123456789abcdef0123456789abcdef")!
        #expect(harness.docket.takeResult(of: unknown).isNotFound)
        let handle = try await harness.submit("x", delay: .seconds(1))
        #expect(handle.takeResult().pendingState == .delayed)
        harness.clock.advance(by: .seconds(1))
        await harness.idle()
        #expect(handle.takeResult().value == "done x")
        #expect(handle.takeResult().isConsumed)
        #expect(harness.docket.takeResult(of: handle.id).isConsumed)
        let status = try handle.status()
        #expect(status.state == .succeeded)
        #expect(status.isResultConsumed)
        #expect(status.operationName == "record")
    }

    @Test("A tombstone still names its operation, whichever definition it ran")
    func tombstoneNamesItsOperation() async throws {
        let harness = try Harness()
        let handle = try await harness.submit("x", harness.slow)
        harness.gate.open("x")
        await harness.idle()
        #expect(handle.takeResult().value == "done x")
        let status = try handle.status()
        #expect(status.isResultConsumed)
        #expect(status.operationName == "slow")
        #expect(status.owner == nil)
    }

    @Test("The tombstone of a consumed result is forgotten after its window")
    func tombstoneWindow() async throws {
        let harness = try Harness(configuration: DocketConfiguration(tombstoneLifetime: .seconds(60)))
        let handle = try await harness.submit("x")
        await harness.idle()
        #expect(handle.takeResult().value == "done x")
        harness.clock.advance(by: .seconds(59))
        #expect(handle.takeResult().isConsumed)
        harness.clock.advance(by: .seconds(1))
        #expect(handle.takeResult().isNotFound)
        #expect(await expectError(.notFound) { _ = try handle.status() } != nil)
    }

    @Test("An unread result expires after the retention limit")
    func unreadResultExpires() async throws {
        let harness = try Harness(configuration: DocketConfiguration(unreadResultLifetime: .seconds(30)))
        let handle = try await harness.submit("x")
        await harness.idle()
        #expect(await harness.docket.metrics().succeeded == 1)
        harness.clock.advance(by: .seconds(30))
        #expect(handle.takeResult().isNotFound)
        let metrics = await harness.docket.metrics()
        #expect(metrics.succeeded == 0)
        #expect(metrics.tombstones == 1)
    }

    @Test("A poll of state and progress at the end of an unread result's window expires the result")
    func progressPollExpiresUnreadResult() async throws {
        let harness = try Harness(configuration: DocketConfiguration(unreadResultLifetime: .seconds(30)))
        let handle = try await harness.submit("x")
        await harness.idle()
        let tracker = harness.docket.engine.tracker
        harness.clock.advance(by: .seconds(29))
        // Answered from the record's slot: the window has a second left.
        #expect(try harness.docket.progress(of: handle.id) == OperationProgress(state: .succeeded, percent: 100))
        #expect(tracker.isLive(handle.id))
        harness.clock.advance(by: .seconds(1))
        // The slot still says succeeded, but its window has ended: the poll reads the record
        // again, which expires the result, and answers from the tombstone left in its place.
        #expect(try harness.docket.progress(of: handle.id) == OperationProgress(state: .succeeded, percent: 100))
        #expect(!tracker.isLive(handle.id))
        #expect(handle.takeResult().isNotFound)
        let metrics = await harness.docket.metrics()
        #expect(metrics.succeeded == 0)
        #expect(metrics.tombstones == 1)
    }

    @Test("An unread result past its retention is reclaimed by later submissions, with no one asking for it")
    func unreadResultSwept() async throws {
        let harness = try Harness(configuration: DocketConfiguration(unreadResultLifetime: .seconds(30)))
        let expired = try await harness.submit("x").id
        await harness.idle()
        harness.clock.advance(by: .seconds(30))
        let tracker = harness.docket.engine.tracker
        #expect(tracker.isLive(expired))
        // Records are sharded 64 ways by ID, and a shard sweeps at every 32nd submission it
        // takes: 6 144 submissions give the expired record's shard about 96 (at least 32 with
        // overwhelming odds). Their own results are taken, so the tables stay small and one
        // sweep covers a whole shard.
        for batch in 0..<12 {
            var handles: [OperationHandle<String>] = []
            for index in 0..<512 { handles.append(try await harness.submit("b\(batch)-\(index)", on: "k\(index % 8)")) }
            await harness.idle()
            for (index, handle) in handles.enumerated() { #expect(handle.takeResult().value == "done b\(batch)-\(index)") }
        }
        #expect(!tracker.isLive(expired))
    }

    @Test("Keep retention: the result is readable repeatedly and shown in status, until it expires")
    func keepRetention() async throws {
        let harness = try Harness()
        let handle = try await harness.submit("k", harness.kept)
        await harness.idle()
        #expect(handle.takeResult().value == "kept k")
        #expect(handle.takeResult().value == "kept k")
        #expect(try handle.status().result?.decode(as: String.self) == "kept k")
        #expect(try handle.status().contentType == "application/json; charset=utf-8")
        harness.clock.advance(by: .seconds(60))
        #expect(handle.takeResult().isNotFound)
    }

    @Test("Read-once status snapshots never carry the payload")
    func statusWithoutPayload() async throws {
        let harness = try Harness()
        let handle = try await harness.submit("x")
        await harness.idle()
        let status = try handle.status()
        #expect(status.result == nil)
        #expect(status.contentType == "application/json; charset=utf-8")
        #expect(status.progress == 100)
        #expect(status.details.map(\.message) == ["ran x"])
        #expect(status.operationName == "record")
        #expect(status.objectKey == "deal-1")
        #expect(status.startedAt != nil && status.finishedAt != nil && status.createdAt != nil)
    }

    @Test("Another owner sees not found for every read and write, never the data")
    func ownerIsolation() async throws {
        let harness = try Harness()
        let mine = try await harness.submit("secret", owner: "acme", fail: true)
        await harness.idle()
        let docket = harness.docket
        for foreign: String? in ["globex", nil] {
            #expect(docket.takeResult(of: mine.id, owner: foreign).isNotFound)
            #expect(await expectError(.notFound) { _ = try docket.status(of: mine.id, owner: foreign) } != nil)
            #expect(await expectError(.notFound) { _ = try docket.events(of: mine.id, owner: foreign) } != nil)
            #expect(await expectError(.notFound) { _ = try await docket.delete(mine.id, owner: foreign, followers: .keep) } != nil)
            #expect(await expectError(.notFound) { try await docket.retry(mine.id, owner: foreign) } != nil)
            #expect(await expectError(.notFound) { try await docket.cancel(mine.id, owner: foreign) } != nil)
        }
        #expect(try docket.status(of: mine.id, owner: "acme").state == .failed)
    }

    @Test("Object identity is (owner, key): one tenant's failure does not block another's object")
    func tenantsDoNotBlockEachOther() async throws {
        let harness = try Harness()
        _ = try await harness.submit("acme-bad", on: "deal-42", owner: "acme", fail: true)
        _ = try await harness.submit("acme-next", on: "deal-42", owner: "acme")
        _ = try await harness.submit("globex", on: "deal-42", owner: "globex")
        await harness.idle()
        #expect(harness.journal.all.sorted() == ["acme-bad", "globex"])
    }

    @Test("An idempotency key returns the first handle for the same owner, and is scoped per owner")
    func idempotency() async throws {
        let harness = try Harness(configuration: DocketConfiguration(idempotencyWindow: .seconds(100)))
        let docket = harness.docket
        let options = SubmitOptions(objectKey: "a", owner: "acme", idempotencyKey: "req-1")
        let first = try await docket.submit(harness.record, input: Step(label: "one"), options: options)
        let repeated = try await docket.submit(harness.record, input: Step(label: "two"), options: options)
        #expect(first.id == repeated.id)
        var other = options
        other.owner = "globex"
        let foreign = try await docket.submit(harness.record, input: Step(label: "three"), options: other)
        #expect(foreign.id != first.id)
        await harness.idle()
        #expect(harness.journal.all.sorted() == ["one", "three"])
        harness.clock.advance(by: .seconds(100))
        let afterWindow = try await docket.submit(harness.record, input: Step(label: "four"), options: options)
        #expect(afterWindow.id != first.id)
    }

    @Test("A repeat of an idempotency key answers with its original even when a dependency has gone since, and marks nothing")
    func idempotentRepeatAfterDependencyDeleted() async throws {
        let harness = try Harness()
        let docket = harness.docket
        let parent = try await harness.submit("parent", on: "p", delay: .seconds(60))
        let options = SubmitOptions(objectKey: "c", idempotencyKey: "k", dependencies: [parent.id])
        let child = try await docket.submit(harness.record, input: Step(label: "child"), options: options)
        _ = try await docket.delete(parent.id)
        #expect(try child.status().state == .cancelled(.dependencyDeleted))
        // The client sends its request again, with the same key.
        #expect(try await docket.submit(harness.record, input: Step(label: "child"), options: options).id == child.id)
        // A repeat naming a live operation as its dependency leaves it unmarked.
        let other = try await harness.submit("other", on: "q", delay: .seconds(60))
        var repeated = options
        repeated.dependencies = [other.id]
        #expect(try await docket.submit(harness.record, input: Step(label: "child"), options: repeated).id == child.id)
        guard case .record(let named) = docket.engine.tracker.lookup(other.id, owner: nil) else {
            Issue.record("the other operation is not tracked")
            return
        }
        #expect(!named.hasDependents)
        // A new key still has its dependencies checked, and its refusal frees the key.
        var fresh = options
        fresh.idempotencyKey = "k-2"
        #expect(await expectError(.unknownDependency) { _ = try await docket.submit(harness.record, input: Step(label: "new"), options: fresh) } != nil)
        fresh.dependencies = []
        let accepted = try await docket.submit(harness.record, input: Step(label: "new"), options: fresh)
        #expect(accepted.id != child.id)
        await harness.idle()
        #expect(harness.journal.all == ["new"])
    }

    @Test("An idempotency key reused for another operation is refused and changes nothing")
    func idempotencyKeyOtherOperation() async throws {
        let harness = try Harness()
        let docket = harness.docket
        let options = SubmitOptions(objectKey: "a", owner: "acme", idempotencyKey: "req-1")
        let first = try await docket.submit(harness.record, input: Step(label: "one"), options: options)
        let before = await docket.metrics().totals.submitted
        let error = await expectError(.invalidInput) { _ = try await docket.submit(harness.kept, input: Step(label: "two"), options: options) }
        #expect(error?.operationID == first.id)
        #expect(await docket.metrics().totals.submitted == before)
        await harness.idle()
        #expect(harness.journal.all == ["one"])
        // The key still names the first operation for its own definition.
        #expect(try await docket.submit(harness.record, input: Step(label: "three"), options: options).id == first.id)
    }

    @Test("A repeat of an idempotency key waits while the first submission is in flight, then answers with it or, if it was refused, reserves the key itself",
          .timeLimit(.minutes(1)))
    func idempotentRepeatWaitsForOriginal() async throws {
        let index = IdempotencyIndex(window: .seconds(60))
        let original = OperationID.random()
        let repeated = OperationID.random()
        #expect(try await index.reserve(owner: "acme", key: "k", operation: "op", for: original, clock: { .zero }) == nil)

        // Committed: the repeat answers with the original, once it exists.
        let firstReturned = Atomic<Bool>(false)
        let first = Task {
            defer { firstReturned.store(true, ordering: .releasing) }
            return try await index.reserve(owner: "acme", key: "k", operation: "op", for: repeated, clock: { .seconds(1) })
        }
        #expect(await yield { index.waitingRepeatCount == 1 || firstReturned.load(ordering: .acquiring) })
        let answeredEarly = firstReturned.load(ordering: .acquiring)
        #expect(!answeredEarly, "a repeat answered before the original was in its line")
        index.commit(owner: "acme", key: "k", for: original)
        #expect(try await first.value == original)

        // Refused: the repeat becomes the submission that holds the key.
        let other = OperationID.random()
        #expect(try await index.reserve(owner: "acme", key: "k2", operation: "op", for: other, clock: { .zero }) == nil)
        let second = Task { try await index.reserve(owner: "acme", key: "k2", operation: "op", for: repeated, clock: { .seconds(1) }) }
        #expect(await yield { index.waitingRepeatCount == 1 }, "the repeat did not wait")
        index.release(owner: "acme", key: "k2", for: other)
        #expect(try await second.value == nil)
        index.commit(owner: "acme", key: "k2", for: repeated)
        #expect(try await index.reserve(owner: "acme", key: "k2", operation: "op", for: other, clock: { .seconds(2) }) == repeated)
    }

    @Test("With a zero idempotency window, a pending reservation still answers repeats until committed, then expires")
    func zeroWindowPending() async throws {
        let index = IdempotencyIndex(window: .zero)
        let original = OperationID.random()
        #expect(try await index.reserve(owner: nil, key: "k", operation: "op", for: original, clock: { .zero }) == nil)
        index.commit(owner: nil, key: "k", for: original)
        let later = OperationID.random()
        #expect(try await index.reserve(owner: nil, key: "k", operation: "op", for: later, clock: { .seconds(1) }) == nil)
    }

    @Test("A waiter whose task was cancelled before it waits gives up at once, and consumes nothing",
          .timeLimit(.minutes(1)))
    func cancelledBeforeWaiting() async throws {
        let harness = try Harness()
        let later = try await harness.submit("later", delay: .seconds(60))
        let returned = Atomic<Bool>(false)
        let waiter = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            defer { returned.store(true, ordering: .releasing) }
            return await later.outcome()
        }
        // A waiter that does not give up waits for the operation, which the clock holds back
        // until the advance below; it returns, with the result, only then.
        let gaveUp = await yield { returned.load(ordering: .acquiring) }
        #expect(gaveUp, "the cancelled waiter is still waiting")
        if !gaveUp { harness.clock.advance(by: .seconds(60)) }
        #expect(await waiter.value.isNotFound)
        #expect(try later.status().state == .delayed)
        harness.clock.advance(by: .seconds(60))
        await harness.idle()
        guard case .finished(.success("done later")) = later.takeResult() else {
            Issue.record("the result was not kept for its reader")
            return
        }
    }

    @Test("A cancellation or timeout that reaches an attempt after its body returned changes nothing, and the end reports what it settled")
    func cancelAfterEnd() throws {
        let harness = try Harness()
        let tracker = harness.docket.engine.tracker
        let running = OperationContext(operationID: .random(), attempt: 1, tracker: tracker)
        #expect(running.requestCancellation())
        #expect(running.isCancelled)
        let cancelled = running.end()
        #expect(cancelled.isCancelled && !cancelled.isTimedOut)
        #expect(running.isCancelled && !running.isTimedOut)

        let timing = OperationContext(operationID: .random(), attempt: 1, tracker: tracker)
        #expect(timing.requestCancellation(timedOut: true))
        let timedOut = timing.end()
        #expect(timedOut.isCancelled && timedOut.isTimedOut)

        let ended = OperationContext(operationID: .random(), attempt: 1, tracker: tracker)
        let plain = ended.end()
        #expect(!plain.isCancelled && !plain.isTimedOut)
        #expect(!ended.requestCancellation(timedOut: true))
        #expect(!ended.requestCancellation())
        #expect(!ended.isCancelled && !ended.isTimedOut)
    }

    @Test("A body gets input of its exact type, of a subclass, and refuses any other with a failure naming both types")
    func bodyInputTypes() async throws {
        let harness = try Harness()
        let tracker = harness.docket.engine.tracker
        let animals = ErasedDefinition(OperationDefinition<Animal, String>("name") { animal, _ in animal.name }, ordinal: 0)
        func run(_ definition: ErasedDefinition, _ input: any Sendable) async throws -> String? {
            let context = OperationContext(operationID: .random(), attempt: 1, tracker: tracker)
            defer { context.end() }
            return try await definition.run(input, context, definition.contentType).decode(as: String.self)
        }
        #expect(try await run(animals, Animal(name: "any")) == "any")
        #expect(try await run(animals, Cat(name: "tom")) == "tom")
        do {
            _ = try await run(animals, 7)
            Issue.record("input of another type ran the body")
        } catch let failure as OperationFailure {
            #expect(failure.kind == .thrown)
            #expect(failure.message.contains("Int") && failure.message.contains("Animal"))
        }
        // An optional input, nil included, is of exactly its registered type.
        let optional = ErasedDefinition(OperationDefinition<String?, String>("optional") { name, _ in name ?? "none" }, ordinal: 1)
        #expect(try await run(optional, String?.none) == "none")
        #expect(try await run(optional, String?.some("some")) == "some")
    }

    @Test("A content type set on a definition after it is made labels its results")
    func contentTypeSetLater() async throws {
        var table = OperationDefinition<Int, String>("table") { rows, _ in "\(rows) rows" }
        table.contentType = "text/csv"
        var registry = OperationRegistry()
        try registry.register(table)
        let docket = try Docket(registry: registry, clock: ManualClock())
        let handle = try await docket.submit(table, input: 3)
        await docket.waitForIdle()
        #expect(try handle.status().contentType == "text/csv")
        guard case .finished(.success(let payload)) = docket.takeResult(of: handle.id) else {
            Issue.record("the result was not there to take")
            return
        }
        #expect(payload.contentType == "text/csv")
        #expect(payload.decode(as: String.self) == "3 rows")
    }

    @Test("A deadline that passed before its waiter registered releases the waiter at once",
          .timeLimit(.minutes(1)))
    func deadlineBeforeWaiter() async throws {
        let harness = try Harness()
        _ = try await harness.submit("blocker", on: "b", delay: .seconds(10))
        let late = try await harness.submit("late", on: "b")
        let tracker = harness.docket.engine.tracker
        // The timer fires first and finds no waiter to release; the waiter comes after.
        let token = tracker.nextToken()
        tracker.giveUp(late.id, token: token)
        let resolution = await tracker.wait(late.id, owner: nil, consumes: true, token: token, deadline: harness.docket.engine.clock.now())
        guard case .gaveUp = resolution else {
            Issue.record("expected the waiter to give up, got \(resolution)")
            return
        }
        // A zero wait through the public API answers with the handle, and consumes nothing.
        let submission = try await harness.docket.submit(harness.record, input: Step(label: "zero"), options: SubmitOptions(objectKey: "b"), waitingUpTo: .zero)
        guard case .accepted = submission else {
            Issue.record("expected a handle, got \(submission)")
            return
        }
        #expect(try late.status().state == .waiting)
        #expect(harness.journal.all.isEmpty)
    }

    @Test("Deadline-then-handle: the outcome when quick, the handle when not")
    func deadlineThenHandle() async throws {
        let harness = try Harness()
        let quick = try await harness.docket.submit(harness.record, input: Step(label: "quick"), options: SubmitOptions(objectKey: "a"), waitingUpTo: .seconds(2))
        guard case .finished(.success(let value)) = quick else {
            Issue.record("expected the outcome, got \(quick)")
            return
        }
        #expect(value == "done quick")

        // A delayed head holds object "b", so the submission cannot finish within its wait.
        let blocker = try await harness.submit("blocker", on: "b", delay: .seconds(10))
        let docket = harness.docket
        let record = harness.record
        async let submission = docket.submit(record, input: Step(label: "late"), options: SubmitOptions(objectKey: "b"), waitingUpTo: .seconds(2))
        // The wait's deadline is fixed when the call starts, before the submission is counted.
        while await docket.metrics().totals.submitted < 3 { await Task.yield() }
        harness.clock.advance(by: .seconds(2))
        guard case .accepted(let handle) = try await submission else {
            Issue.record("expected a handle")
            return
        }
        #expect(try handle.status().state == .waiting)
        harness.clock.advance(by: .seconds(8))
        await harness.idle()
        #expect(harness.journal.all == ["quick", "blocker", "late"])
        #expect(try blocker.status().state == .succeeded)
        // Giving up did not consume the result.
        #expect(handle.takeResult().value == "done late")
    }

    @Test("A waiting repeat of an idempotency key whose result was taken answers with the handle, which says so")
    func waitingRepeatAfterTake() async throws {
        let harness = try Harness(configuration: DocketConfiguration(idempotencyWindow: .seconds(100)))
        let options = SubmitOptions(objectKey: "a", idempotencyKey: "req-1")
        let first = try await harness.docket.submit(harness.record, input: Step(label: "one"), options: options, waitingUpTo: .seconds(2))
        guard case .finished(.success(let value)) = first else {
            Issue.record("expected the outcome, got \(first)")
            return
        }
        #expect(value == "done one")
        // The repeat's operation finished, but its result is gone: nothing to hand back but the handle.
        let repeated = try await harness.docket.submit(harness.record, input: Step(label: "two"), options: options, waitingUpTo: .seconds(2))
        guard case .accepted(let handle) = repeated else {
            Issue.record("expected the handle, got \(repeated)")
            return
        }
        #expect(try handle.status().state == .succeeded)
        guard case .consumed = handle.takeResult() else {
            Issue.record("expected the result to read as taken")
            return
        }
        #expect(harness.journal.all == ["one"])
    }

    @Test("Run now awaits the outcome in the object's order and takes the result")
    func performRespectsOrder() async throws {
        let harness = try Harness()
        _ = try await harness.submit("first", delay: .seconds(5))
        let docket = harness.docket
        let record = harness.record
        async let value = docket.perform(record, input: Step(label: "now"), options: SubmitOptions(objectKey: "deal-1"))
        while await docket.metrics().totals.submitted < 2 { await Task.yield() }
        await harness.idle()
        #expect(harness.journal.all == [])
        harness.clock.advance(by: .seconds(5))
        #expect(try await value == "done now")
        #expect(harness.journal.all == ["first", "now"])
    }

    @Test("Run now by name: the payload on success, the operation's failure on failure, a typed refusal for bad input")
    func performByName() async throws {
        let harness = try Harness()
        let docket = harness.docket
        let good = try await docket.perform(operationNamed: "immediate", input: Data(#"{"label":"now","fail":false}"#.utf8))
        #expect(good.decode(as: String.self) == "done now")
        #expect(harness.journal.all == ["now"])
        do {
            _ = try await docket.perform(operationNamed: "record", input: Data(#"{"label":"bad","fail":true}"#.utf8), options: SubmitOptions(objectKey: "deal-9"))
            Issue.record("a failing operation must throw")
        } catch let failure as OperationFailure {
            #expect(failure.message == "bad failed")
        }
        #expect(await expectError(.invalidInput) { _ = try await docket.perform(operationNamed: "record", input: Data("{}".utf8)) } != nil)
        #expect(await expectError(.unknownOperation) { _ = try await docket.perform(operationNamed: "nope", input: Data("{}".utf8)) } != nil)
        #expect(harness.journal.all == ["now", "bad"])
    }

    @Test("Run now by name with a wait: the outcome in time, the handle when its turn is later, the refusal when blocked")
    func performByNameWaiting() async throws {
        let harness = try Harness()
        let docket = harness.docket
        let quick = try await docket.perform(operationNamed: "record", input: Data(#"{"label":"quick","fail":false}"#.utf8), options: SubmitOptions(objectKey: "a"), waitingUpTo: .seconds(1))
        guard case .finished(.success(let payload)) = quick else {
            Issue.record("expected the outcome, got \(quick)")
            return
        }
        #expect(payload.decode(as: String.self) == "done quick")
        let failing = try await docket.perform(operationNamed: "record", input: Data(#"{"label":"bad","fail":true}"#.utf8), options: SubmitOptions(objectKey: "c"), waitingUpTo: .seconds(1))
        guard case .finished(.failure(let failure)) = failing else {
            Issue.record("expected the failure, got \(failing)")
            return
        }
        #expect(failure.message == "bad failed")
        #expect(await expectError(.objectBlocked) {
            _ = try await docket.perform(operationNamed: "record", input: Data(#"{"label":"after","fail":false}"#.utf8), options: SubmitOptions(objectKey: "c"), waitingUpTo: .seconds(1))
        } != nil)
        // Behind a delayed head the turn comes later than the wait: the handle.
        _ = try await harness.submit("head", on: "b", delay: .seconds(10))
        async let later = docket.perform(operationNamed: "record", input: Data(#"{"label":"later","fail":false}"#.utf8), options: SubmitOptions(objectKey: "b"), waitingUpTo: .seconds(2))
        while await docket.metrics().totals.submitted < 4 { await Task.yield() }
        harness.clock.advance(by: .seconds(2))
        guard case .accepted(let handle) = try await later else {
            Issue.record("expected the handle")
            return
        }
        harness.clock.advance(by: .seconds(8))
        await harness.idle()
        #expect(harness.journal.all == ["quick", "bad", "head", "later"])
        #expect(handle.takeResult().value?.decode(as: String.self) == "done later")
    }

    @Test("Run now on a blocked object is refused naming the failed operation; nothing is enqueued")
    func performOnBlockedObject() async throws {
        let harness = try Harness()
        let failed = try await harness.submit("bad", fail: true)
        await harness.idle()
        let before = await harness.docket.metrics()
        let error = await expectError(.objectBlocked) { _ = try await harness.docket.perform(harness.record, input: Step(label: "now"), options: SubmitOptions(objectKey: "deal-1")) }
        #expect(error?.operationID == failed.id)
        let after = await harness.docket.metrics()
        #expect(after.waiting == before.waiting)
        #expect(after.totals.submitted == before.totals.submitted)
    }

    @Test("Run now waiting its turn is removed with the blocked error when the object blocks first")
    func performRemovedWhenObjectBlocks() async throws {
        let harness = try Harness()
        let failing = try await harness.submit("bad", delay: .seconds(1), fail: true)
        let docket = harness.docket
        let record = harness.record
        async let value = docket.perform(record, input: Step(label: "now"), options: SubmitOptions(objectKey: "deal-1"))
        while await docket.metrics().totals.submitted < 2 { await Task.yield() }
        harness.clock.advance(by: .seconds(1))
        do {
            _ = try await value
            Issue.record("expected the blocked error")
        } catch let error as DocketError {
            #expect(error.code == .objectBlocked)
            #expect(error.operationID == failing.id)
        }
        await harness.idle()
        #expect(harness.journal.all == ["bad"])
        #expect(await harness.docket.metrics().waiting == 0)
    }

    @Test("Run now submitted while the head runs with a follower behind it is refused when the head fails; the follower stays")
    func performRefusedBehindFollowerWhenHeadFails() async throws {
        let harness = try Harness()
        let docket = harness.docket
        let record = harness.record
        // The head waits for its wake, so the follower joins the line in the wake's turn, behind it.
        let head = try await harness.submit("head", delay: .seconds(1), fail: true, harness.slow)
        let follower = try await harness.submit("follower")
        harness.clock.advance(by: .seconds(1))
        try await waitUntil(head, is: .running)
        // Submitted while the head runs: it waits in the inbox, since the line has a next head.
        let runNow = Task { try await docket.perform(record, input: Step(label: "now"), options: SubmitOptions(objectKey: "deal-1")) }
        while await docket.metrics().totals.submitted < 3 { await Task.yield() }
        harness.gate.open("head")
        let error = await expectError(.objectBlocked) { _ = try await runNow.value }
        #expect(error?.operationID == head.id)
        await harness.idle()
        #expect(try head.status().state == .failed)
        #expect(try follower.status().state == .waiting)
        #expect(await docket.metrics().waiting == 1)
        try await docket.retry(head.id, correctedInput: Step(label: "head"))
        await harness.idle()
        // The refused operation never ran; the follower ran once the head succeeded.
        #expect(harness.journal.all == ["start head", "end head", "start head", "end head", "follower"])
        #expect(follower.takeResult().value == "done follower")
    }

    @Test("A run-now operation refused before its caller waits leaves the refusal for its waits, only for its owner, until its window ends")
    func rejectionBeforeWaiting() async throws {
        let harness = try Harness()
        let tracker = harness.docket.engine.tracker
        let definition = try harness.docket.engine.definition(named: "record")
        let failed = OperationID.random()
        func runNow(owner: String?) -> OperationID {
            let id = OperationID.random()
            let now = harness.docket.engine.clock.now()
            tracker.insert(SequencedID(id, cipher: tracker.cipher), TrackingRecord(definition: definition, owner: owner, objectKey: "deal-1", created: now, runsNow: true, due: now), at: now)
            return id
        }
        let awaited = runNow(owner: "acme")
        tracker.reject(awaited, with: .blocked(by: failed, key: "deal-1"), awaited: true)
        // Another owner is answered as for an unknown ID, and takes nothing.
        guard case .outcome(.notFound) = tracker.resolveIfFinished(awaited, owner: "other", consumes: true) else {
            Issue.record("another owner saw the refusal")
            return
        }
        guard case .removed(let error) = await tracker.wait(awaited, owner: "acme", consumes: true, token: tracker.nextToken()) else {
            Issue.record("the caller did not get the refusal")
            return
        }
        #expect(error.code == .objectBlocked && error.operationID == failed)
        // An idempotent repeat waiting on the same ID gets it too.
        guard case .removed(let again) = tracker.resolveIfFinished(awaited, owner: "acme", consumes: true), again.code == .objectBlocked else {
            Issue.record("a second wait did not get the refusal")
            return
        }
        // Thrown to its submitter at once: nothing is kept.
        let thrown = runNow(owner: nil)
        tracker.reject(thrown, with: .blocked(by: failed, key: "deal-1"), awaited: false)
        guard case .outcome(.notFound) = tracker.resolveIfFinished(thrown, owner: nil, consumes: true) else {
            Issue.record("a refusal thrown to its submitter was kept")
            return
        }
        // Unclaimed, it goes after the tombstone window (24 hours by default).
        let unclaimed = runNow(owner: nil)
        tracker.reject(unclaimed, with: .blocked(by: failed, key: "deal-1"), awaited: true)
        harness.clock.advance(by: .seconds(24 * 3600 + 1))
        guard case .outcome(.notFound) = tracker.resolveIfFinished(unclaimed, owner: nil, consumes: true) else {
            Issue.record("an unclaimed refusal outlived its window")
            return
        }
    }

    @Test("An idempotency key of a run-now operation refused because its object blocked is released: the caller's retry runs",
          .timeLimit(.minutes(1)))
    func refusedRunNowReleasesKey() async throws {
        let harness = try Harness()
        let failing = try await harness.submit("bad", delay: .seconds(1), fail: true)
        let docket = harness.docket
        let options = SubmitOptions(objectKey: "deal-1", idempotencyKey: "k")
        let refused = Task { try await docket.perform(harness.record, input: Step(label: "now"), options: options) }
        #expect(await yield { await docket.metrics().totals.submitted == 2 })
        harness.clock.advance(by: .seconds(1))
        let error = await expectError(.objectBlocked) { _ = try await refused.value }
        #expect(error?.operationID == failing.id)
        _ = try await docket.delete(failing.id)
        #expect(try await docket.perform(harness.record, input: Step(label: "again"), options: options) == "done again")
        #expect(harness.journal.all == ["bad", "again"])
    }

    @Test("A run-now operation cancelled before it starts leaves nothing of its key's bookkeeping behind",
          .timeLimit(.minutes(1)))
    func cancelledRunNowForgotten() async throws {
        let harness = try Harness()
        _ = try await harness.submit("head", delay: .seconds(10))
        let docket = harness.docket
        let options = SubmitOptions(objectKey: "deal-1", idempotencyKey: "k")
        let waiting = Task { try await docket.perform(harness.record, input: Step(label: "now"), options: options) }
        #expect(await yield { await docket.metrics().totals.submitted == 2 })
        #expect(docket.engine.idempotency.unstartedRunNowCount == 1)
        // A deferred repeat of the key answers with the run-now operation.
        let id = try await docket.submit(operationNamed: "record", input: Data(#"{"label":"x","fail":false}"#.utf8), options: options)
        try await docket.cancel(id)
        #expect(docket.engine.idempotency.unstartedRunNowCount == 0)
        _ = try? await waiting.value
    }

    @Test("A refusal is kept for the caller when another wait on the ID registered first, such as an idempotent repeat's")
    func rejectionKeptWithWaiter() async throws {
        let harness = try Harness()
        let tracker = harness.docket.engine.tracker
        let now = harness.docket.engine.clock.now()
        let id = OperationID.random()
        tracker.insert(SequencedID(id, cipher: tracker.cipher), TrackingRecord(definition: try harness.docket.engine.definition(named: "record"), owner: nil, objectKey: "deal-1", created: now, runsNow: true, due: now), at: now)
        let repeatWait = Task { await tracker.wait(id, owner: nil, consumes: true, token: tracker.nextToken()) }
        #expect(await yield { harness.docket.engine.tracker.waiterCount(id) == 1 })
        tracker.reject(id, with: .blocked(by: .random(), key: "deal-1"), awaited: true)
        guard case .removed = await repeatWait.value, case .removed = tracker.resolveIfFinished(id, owner: nil, consumes: true) else {
            Issue.record("the refusal did not reach both the repeat and the caller")
            return
        }
    }

    @Test("A refusal is kept for its caller even with no tombstone window")
    func rejectionWithZeroWindow() async throws {
        let harness = try Harness(configuration: DocketConfiguration(tombstoneLifetime: .zero))
        let tracker = harness.docket.engine.tracker
        let now = harness.docket.engine.clock.now()
        let id = OperationID.random()
        tracker.insert(SequencedID(id, cipher: tracker.cipher), TrackingRecord(definition: try harness.docket.engine.definition(named: "record"), owner: nil, objectKey: "deal-1", created: now, runsNow: true, due: now), at: now)
        tracker.reject(id, with: .blocked(by: .random(), key: "deal-1"), awaited: true)
        guard case .removed(let error) = tracker.resolveIfFinished(id, owner: nil, consumes: true) else {
            Issue.record("the refusal expired at once")
            return
        }
        #expect(error.code == .objectBlocked)
    }

    @Test("Awaiting a handle takes the result; a second taker is told it was consumed")
    func awaitingConsumes() async throws {
        let harness = try Harness()
        let handle = try await harness.submit("x", delay: .seconds(1))
        async let first = handle.outcome()
        async let second = handle.outcome()
        harness.clock.advance(by: .seconds(1))
        let answers = await [first, second]
        #expect(answers.filter { $0.value == "done x" }.count == 1)
        #expect(answers.filter(\.isConsumed).count == 1)
    }

    @Test("A failure reaches in-process awaiters as the thrown OperationFailure")
    func awaitFailure() async throws {
        let harness = try Harness()
        let handle = try await harness.submit("bad", fail: true)
        do {
            _ = try await handle.value()
            Issue.record("expected a failure")
        } catch let failure as OperationFailure {
            #expect(failure.message == "bad failed")
        }
    }

    @Test("IDs are 128 random bits, print as 32 hex digits, parse back, and encode as strings")
    func ids() async throws {
        let harness = try Harness()
        var seen = Set<OperationID>()
        for index in 0..<300 {
            let handle = try await harness.submit("i\(index)", on: nil, delay: .seconds(1))
            #expect(seen.insert(handle.id).inserted)
            #expect(handle.id.description.count == 32)
            #expect(OperationID(handle.id.description) == handle.id)
        }
        let id = seen.first!
        let data = try JSONEncoder().encode([id])
        #expect(try JSONDecoder().decode([OperationID].self, from: data) == [id])
        #expect(OperationID("xyz") == nil)
        #expect(OperationID(String(repeating: "g", count: 32)) == nil)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([OperationID].self, from: Data("[\"nope\"]".utf8)) }
    }
}

/// A class with a subclass, for the casts of a body's input and of its output.
// Proof of safety: its only stored property is a constant String, so an instance never changes.
class Animal: Codable, @unchecked Sendable {
    let name: String
    init(name: String) { self.name = name }
}

// Proof of safety: it adds no stored property to Animal, whose one property is constant.
final class Cat: Animal, @unchecked Sendable {}
