import Docket
import DocketTesting
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
