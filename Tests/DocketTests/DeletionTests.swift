@testable import Docket
import DocketTesting
import Foundation
import Synchronization
import Testing

@Suite("Deletion")
struct DeletionTests {
    @Test("Deleting a failed operation with followers requires a choice and changes nothing without one")
    func followerChoiceRequired() async throws {
        let harness = try Harness()
        let failed = try await harness.submit("bad", fail: true)
        let follower = try await harness.submit("next")
        await harness.idle()
        let error = await expectError(.followerChoiceRequired) { _ = try await harness.docket.delete(failed.id) }
        #expect(error?.operationID == failed.id)
        await harness.idle()
        #expect(try failed.status().state == .failed)
        #expect(try follower.status().state == .waiting)
        #expect(harness.journal.all == ["bad"])
    }

    @Test("A delete that arrives while another of the same object waits on a busy object waits its turn; one on another object does not",
          .enabled(if: ProcessInfo.processInfo.activeProcessorCount >= 2, "a body spins on one thread while the test runs on another"),
          .timeLimit(.minutes(1)))
    func concurrentDeletes() async throws {
        let journal = Journal()
        let gate = Gate()
        let released = Atomic<Bool>(false)
        let spinning = Atomic<Bool>(false)
        let work = OperationDefinition<Step, String>("work") { step, context in
            journal.append("start \(step.label)")
            if step.label == "spin" {
                // Holds its object's line without suspending: a body runs on its line's executor.
                spinning.store(true, ordering: .releasing)
                while !released.load(ordering: .acquiring) {}
            } else if step.label == "queued" {
                await gate.wait(step.label, context: context)
            }
            if step.fail { throw TestFailure(message: "\(step.label) failed") }
            return step.label
        }
        var registry = OperationRegistry()
        try registry.register(work)
        let docket = try Docket(registry: registry, clock: ManualClock())
        func submit(_ label: String, on key: String, fail: Bool = false, delay: Duration = .zero) async throws -> OperationHandle<String> {
            try await docket.submit(work, input: Step(label: label, fail: fail), options: SubmitOptions(objectKey: key, delay: delay))
        }
        let failed = try await submit("failed", on: "x", fail: true)
        let queued = try await submit("queued", on: "x")
        let elsewhere = try await submit("elsewhere", on: "z", delay: .seconds(10))
        await docket.waitForIdle()
        #expect(try failed.status().state == .failed)
        _ = try await submit("spin", on: "y")
        let delayed = try await submit("delayed", on: "y", delay: .seconds(10))
        #expect(await yield { spinning.load(ordering: .acquiring) })

        // The first delete reserves `queued` on x, then waits for y's line, busy in the spin.
        let first = Task { try await docket.delete([queued.id, delayed.id]) }
        let x = docket.engine.directory.existing(.keyed(owner: nil, key: "x"))
        #expect(await yield { await x?.heldEntries() == [queued.id] }, "the first delete did not reserve on x")
        // A delete on another object goes ahead meanwhile.
        #expect(try await docket.delete(elsewhere.id).removed == [.init(id: elsewhere.id, reason: .deleted)])
        // The second, on x, would clear the first's reservation as it commits and let `queued`
        // start, for the first to remove while it runs: it must wait for the first instead.
        let secondEnded = Atomic<Bool>(false)
        let second = Task {
            defer { secondEnded.store(true, ordering: .releasing) }
            return try await docket.delete(failed.id, followers: .keep)
        }
        #expect(await yield { await docket.engine.supervisor.waitingDeletionCount == 1 || secondEnded.load(ordering: .acquiring) })
        let endedEarly = secondEnded.load(ordering: .acquiring)
        #expect(!endedEarly, "the second delete did not wait for the first")
        released.store(true, ordering: .releasing)

        let firstRemoved = try await first.value.removed
        let secondRemoved = try await second.value.removed
        gate.open("queued")
        await docket.waitForIdle()
        #expect(Set(firstRemoved) == [.init(id: queued.id, reason: .deleted), .init(id: delayed.id, reason: .deleted)])
        #expect(secondRemoved == [.init(id: failed.id, reason: .deleted)])
        #expect(!journal.all.contains("start queued"), "a reserved operation started: \(journal.all)")
        #expect(try queued.status().state == .cancelled(.deleted))
        let after = try await submit("after", on: "x")
        await docket.waitForIdle()
        #expect(try after.status().state == .succeeded, "object x no longer runs anything")
        #expect(await docket.metrics().liveObjects == 0)
    }

    @Test("Keep: the failed operation goes, the object resumes with its followers")
    func deleteKeep() async throws {
        let harness = try Harness()
        let failed = try await harness.submit("bad", fail: true)
        let follower = try await harness.submit("next")
        await harness.idle()
        let report = try await harness.docket.delete(failed.id, followers: .keep)
        #expect(report.removed == [.init(id: failed.id, reason: .deleted)])
        await harness.idle()
        #expect(harness.journal.all == ["bad", "next"])
        #expect(try failed.status().state == .cancelled(.deleted))
        #expect(try follower.status().state == .succeeded)
    }

    @Test("Cascade: the followers are deleted with the failed operation")
    func deleteCascade() async throws {
        let harness = try Harness()
        let failed = try await harness.submit("bad", fail: true)
        let first = try await harness.submit("f1")
        let second = try await harness.submit("f2", delay: .seconds(3))
        await harness.idle()
        let report = try await harness.docket.delete(failed.id, followers: .cascade)
        #expect(report.removed == [.init(id: first.id, reason: .cascade), .init(id: second.id, reason: .cascade), .init(id: failed.id, reason: .deleted)])
        harness.clock.advance(by: .seconds(5))
        await harness.idle()
        #expect(harness.journal.all == ["bad"])
        #expect(try first.status().state == .cancelled(.cascade))
        // The object is free again: new work runs.
        _ = try await harness.submit("fresh")
        await harness.idle()
        #expect(harness.journal.all == ["bad", "fresh"])
    }

    @Test("A batch delete removes queued operations before the failed one, so no follower slips out")
    func atomicBatchDelete() async throws {
        let harness = try Harness()
        let failed = try await harness.submit("bad", fail: true)
        let unwanted = try await harness.submit("unwanted")
        let wanted = try await harness.submit("wanted")
        await harness.idle()
        // Listing the failed operation first must not let "unwanted" run before it is removed.
        let report = try await harness.docket.delete([failed.id, unwanted.id], followers: .keep)
        #expect(report.removed.map(\.id) == [unwanted.id, failed.id])
        await harness.idle()
        #expect(harness.journal.all == ["bad", "wanted"])
        #expect(try wanted.status().state == .succeeded)
        #expect(try unwanted.status().state == .cancelled(.deleted))
    }

    @Test("A batch with one refused ID deletes nothing")
    func batchAllOrNothing() async throws {
        let harness = try Harness()
        let queuedA = try await harness.submit("a", on: "a", delay: .seconds(9))
        let running = try await harness.submit("s", on: "b", harness.slow)
        try await waitUntil(running, is: .running)
        let error = await expectError(.notDeletable) { _ = try await harness.docket.delete([queuedA.id, running.id]) }
        #expect(error?.operationID == running.id)
        #expect(try queuedA.status().state == .delayed)
        harness.gate.open("s")
        harness.clock.advance(by: .seconds(9))
        await harness.idle()
        #expect(Set(harness.journal.all) == ["start s", "end s", "a"])
    }

    @Test("Operations that depend on a deleted operation are deleted with it, transitively")
    func dependentsDeleted() async throws {
        let harness = try Harness()
        let base = try await harness.submit("base", on: "a", delay: .seconds(10))
        let dependent = try await harness.submit("dep", on: "b", dependencies: [base.id])
        let transitive = try await harness.submit("dep2", on: "c", dependencies: [dependent.id])
        await harness.idle()
        #expect(harness.journal.all == [])
        let report = try await harness.docket.delete(base.id)
        #expect(Set(report.removed.map(\.id)) == [base.id, dependent.id, transitive.id])
        #expect(try dependent.status().state == .cancelled(.dependencyDeleted))
        #expect(try transitive.status().state == .cancelled(.dependencyDeleted))
        harness.clock.advance(by: .seconds(10))
        await harness.idle()
        #expect(harness.journal.all == [])
    }

    @Test("Deleting a running or finished operation is refused and changes nothing")
    func deleteRunningOrFinished() async throws {
        let harness = try Harness()
        let done = try await harness.submit("done", on: "a")
        await harness.idle()
        #expect(await expectError(.notDeletable) { _ = try await harness.docket.delete(done.id) } != nil)
        let running = try await harness.submit("s", on: "b", harness.slow)
        try await waitUntil(running, is: .running)
        #expect(await expectError(.notDeletable) { _ = try await harness.docket.delete(running.id) } != nil)
        harness.gate.open("s")
        await harness.idle()
        #expect(try running.status().state == .succeeded)
    }
}

extension DeletionReport.Removed: CustomTestStringConvertible {
    public var testDescription: String { "\(id.description.prefix(6)):\(reason)" }
}
