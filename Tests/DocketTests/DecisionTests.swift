@testable import Docket
import DocketTesting
import Testing

/// Rows of DESIGN.md's Decisions table not covered by a suite of their own.
@Suite("Decisions")
struct DecisionTests {
    @Test("Failures never expire while they block their object")
    func failuresDoNotExpire() async throws {
        let harness = try Harness(configuration: DocketConfiguration(unreadResultLifetime: .seconds(30), tombstoneLifetime: .seconds(30)))
        let failed = try await harness.submit("bad", fail: true)
        let follower = try await harness.submit("next")
        await harness.idle()
        harness.clock.advance(by: .seconds(3600))
        await harness.idle()
        #expect(try failed.status().state == .failed)
        #expect(failed.takeResult().failure?.message == "bad failed")
        #expect(try follower.status().state == .waiting)
        #expect(await harness.docket.metrics().blockedObjects.map(\.failedOperation) == [failed.id])
        try await harness.docket.retry(failed.id, correctedInput: Step(label: "good"))
        await harness.idle()
        #expect(harness.journal.all == ["bad", "good", "next"])
    }

    @Test("A delay counts from submission: an operation reaching the head after its due time runs at once")
    func delayCountsFromSubmission() async throws {
        let harness = try Harness()
        let head = try await harness.submit("s", harness.slow)
        let delayed = try await harness.submit("d", delay: .seconds(5))
        try await waitUntil(head, is: .running)
        #expect(try delayed.status().state == .delayed)
        harness.clock.advance(by: .seconds(10))
        // Due now, but behind the running head: it shows as waiting, not delayed.
        #expect(try delayed.status().state == .waiting)
        harness.gate.open("s")
        await harness.idle()
        #expect(harness.journal.all == ["start s", "end s", "d"])
        #expect(try delayed.status().state == .succeeded)
    }

    @Test("An operation that succeeds without dependents never touches the supervisor")
    func supervisorOffTheHotPath() async throws {
        let harness = try Harness()
        for index in 0..<200 { _ = try await harness.submit("op\(index)", on: "k\(index % 7)") }
        _ = try await harness.submit("bad", on: "z", fail: true)
        await harness.idle()
        #expect(harness.journal.all.count == 201)
        #expect(await harness.docket.engine.supervisor.noticesHandled == 0)
        // A success that others wait for does notify it, once.
        let base = try await harness.submit("base", on: "a", delay: .seconds(1))
        _ = try await harness.submit("dependent", on: "b", dependencies: [base.id])
        harness.clock.advance(by: .seconds(1))
        await harness.idle()
        #expect(harness.journal.all.suffix(2) == ["base", "dependent"])
        #expect(await harness.docket.engine.supervisor.noticesHandled == 1)
    }

    @Test("Ownerless operations form their own namespace, apart from every owner")
    func ownerlessNamespace() async throws {
        let harness = try Harness()
        let ownerless = try await harness.submit("x", owner: nil, delay: .seconds(1))
        let owned = try await harness.submit("y", owner: "acme", delay: .seconds(1))
        #expect(try harness.docket.status(of: ownerless.id).state == .delayed)
        #expect(await expectError(.notFound) { _ = try harness.docket.status(of: ownerless.id, owner: "acme") } != nil)
        #expect(await expectError(.notFound) { _ = try harness.docket.status(of: owned.id) } != nil)
        // The administrative view counts both.
        #expect(await harness.docket.metrics().delayed == 2)
    }

    @Test("A cancelled dependency cancels its dependents, with reason dependency deleted")
    func cancelledDependency() async throws {
        let harness = try Harness()
        let base = try await harness.submit("base", on: "a", delay: .seconds(5))
        let dependent = try await harness.submit("dependent", on: "b", dependencies: [base.id])
        try await base.cancel()
        await harness.idle()
        #expect(try dependent.status().state == .cancelled(.dependencyDeleted))
        // Depending on an operation that is already cancelled is refused.
        #expect(await expectError(.unknownDependency) { _ = try await harness.submit("late", on: "c", dependencies: [base.id]) } != nil)
        harness.clock.advance(by: .seconds(5))
        await harness.idle()
        #expect(harness.journal.all == [])
    }

    @Test("IDs come from the secure source in batches and do not repeat")
    func idSource() {
        var seen = Set<OperationID>()
        for _ in 0..<10_000 { seen.insert(OperationID.random()) }
        #expect(seen.count == 10_000)
        // Every hex digit position varies: no fixed or sequential part.
        let sample = Array(seen.prefix(256)).map(\.description)
        for position in 0..<32 {
            let digits = Set(sample.map { Array($0)[position] })
            #expect(digits.count > 4)
        }
    }
}
