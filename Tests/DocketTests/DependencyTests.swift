@testable import Docket
import DocketTesting
import Foundation
import Testing

@Suite("Dependencies")
struct DependencyTests {
    @Test("A dependency cancelled while its dependent is being submitted cancels the dependent, even when the dependent is due only after the dependency's tombstone expired")
    func cancelRacingDependentSubmit() async throws {
        let harness = try Harness(configuration: DocketConfiguration(tombstoneLifetime: .seconds(10)))
        var dependents: [OperationHandle<String>] = []
        for index in 0..<TestScale.scaled(2_000, minimum: 500) {
            let dependency = try await harness.submit("a\(index)", on: "a\(index)", delay: .seconds(3_600))
            async let cancel: Void = dependency.cancel()
            async let dependent = try? harness.submit("b\(index)", on: "b\(index)", delay: .seconds(1_000), dependencies: [dependency.id])
            try await cancel
            if let accepted = await dependent { dependents.append(accepted) }
        }
        // Each accepted dependent was cancelled with its dependency, whichever came first.
        let waiting = try dependents.filter { try $0.status().state != .cancelled(.dependencyDeleted) }
        #expect(waiting.isEmpty)
        // Past every tombstone's window, then past every dependent's due time: none runs.
        harness.clock.advance(by: .seconds(2_000))
        await harness.idle()
        #expect(harness.journal.all.filter { $0.hasPrefix("b") }.isEmpty)
        // No registration outlives its dependency, whether the cascade or the check came first.
        #expect(await harness.docket.engine.supervisor.dependencyCount == 0)
    }

    @Test("A deletion reports the dependents it cancels on the same object, as the line's next head and after it")
    func deletionReportsSameObjectDependents() async throws {
        let harness = try Harness()
        let first = try await harness.submit("first", on: "a", delay: .seconds(5))
        let dependent = try await harness.submit("dependent", on: "a", dependencies: [first.id])
        let chained = try await harness.submit("chained", on: "a", dependencies: [dependent.id])
        let elsewhere = try await harness.submit("elsewhere", on: "b", dependencies: [chained.id])
        let report = try await harness.docket.delete(first.id)
        #expect(report.removed == [
            .init(id: first.id, reason: .deleted), .init(id: dependent.id, reason: .dependencyDeleted),
            .init(id: chained.id, reason: .dependencyDeleted), .init(id: elsewhere.id, reason: .dependencyDeleted),
        ])
        for handle in [dependent, chained, elsewhere] {
            #expect(try handle.status().state == .cancelled(.dependencyDeleted))
        }

        // A failed head deleted with .keep: its follower that depends on it goes too, reported.
        let bad = try await harness.submit("bad", on: "c", fail: true)
        let follower = try await harness.submit("follower", on: "c", dependencies: [bad.id])
        let independent = try await harness.submit("independent", on: "c")
        await harness.idle()
        let kept = try await harness.docket.delete(bad.id, followers: .keep)
        #expect(kept.removed == [.init(id: bad.id, reason: .deleted), .init(id: follower.id, reason: .dependencyDeleted)])
        await harness.idle()
        #expect(try independent.status().state == .succeeded)
        #expect(harness.journal.all == ["bad", "independent"])
        #expect(await harness.docket.engine.supervisor.dependencyCount == 0)
    }

    @Test("A dependent of one succeeded and one pending dependency leaves no registration behind")
    func noRegistrationOnSucceededDependency() async throws {
        let harness = try Harness()
        let done = try await harness.submit("done", on: "a")
        await harness.idle()
        let later = try await harness.submit("later", on: "b", delay: .seconds(5))
        let dependent = try await harness.submit("dependent", on: "c", dependencies: [done.id, later.id])
        harness.clock.advance(by: .seconds(5))
        await harness.idle()
        #expect(try dependent.status().state == .succeeded)
        #expect(await harness.docket.engine.supervisor.dependencyCount == 0)
    }

    @Test("A dependency succeeding while its dependent is submitted leaves no registration behind", .timeLimit(.minutes(1)))
    func successRacingRegistration() async throws {
        let harness = try Harness()
        for index in 0..<TestScale.scaled(500, minimum: 100) {
            let dependency = try await harness.submit("a\(index)", on: "a\(index)", harness.slow)
            try await waitUntil(dependency, is: .running)
            async let open: Void = harness.gate.open("a\(index)")
            async let dependent = harness.submit("b\(index)", on: "b\(index)", dependencies: [dependency.id])
            await open
            let submitted = try await dependent
            await harness.idle()
            let state = try submitted.status().state
            #expect(state == .succeeded, "round \(index): the dependent is \(state)")
            let left = await harness.docket.engine.supervisor.dependencyCount
            #expect(left == 0, "round \(index): a registration outlived its dependency")
            if left > 0 { break }
        }
    }

    @Test("A submission refused for one unknown dependency marks none of its others")
    func refusedSubmissionMarksNothing() async throws {
        let harness = try Harness()
        let base = try await harness.submit("base", on: "a", delay: .seconds(1))
        let unknown = try #require(OperationID("00000000000000000000000000000001"))
        #expect(await expectError(.unknownDependency) { _ = try await harness.submit("w", on: "b", dependencies: [base.id, unknown]) } != nil)
        harness.clock.advance(by: .seconds(1))
        await harness.idle()
        #expect(try base.status().state == .succeeded)
        // Marked, its success would have gone to the supervisor.
        #expect(await harness.docket.engine.supervisor.noticesHandled == 0)
    }

    @Test("A run-now operation refused because its object blocked leaves no registration on its own dependencies", .timeLimit(.minutes(1)))
    func refusedRunNowUnregisters() async throws {
        let harness = try Harness()
        let dependency = try await harness.submit("dependency", on: "a", delay: .seconds(60))
        _ = try await harness.submit("head", on: "x", delay: .seconds(1), fail: true)
        let docket = harness.docket
        let options = SubmitOptions(objectKey: "x", dependencies: [dependency.id])
        let refused = Task { try await docket.perform(harness.record, input: Step(label: "now"), options: options) }
        #expect(await yield { await docket.metrics().totals.submitted == 3 })
        #expect(await docket.engine.supervisor.dependencyCount == 1)
        harness.clock.advance(by: .seconds(1))
        #expect(await expectError(.objectBlocked) { _ = try await refused.value } != nil)
        await harness.idle()
        #expect(await docket.engine.supervisor.dependencyCount == 0)
        // The dependency, still to run, is unaffected.
        harness.clock.advance(by: .seconds(59))
        await harness.idle()
        #expect(try dependency.status().state == .succeeded)
        #expect(harness.journal.all == ["head", "dependency"])
    }

    @Test("A dependent waits at the head of its line until its dependency succeeds")
    func waitsForDependency() async throws {
        let harness = try Harness()
        let base = try await harness.submit("base", on: "a", delay: .seconds(5))
        _ = try await harness.submit("dependent", on: "b", dependencies: [base.id])
        _ = try await harness.submit("behind", on: "b")
        await harness.idle()
        #expect(harness.journal.all == [])
        harness.clock.advance(by: .seconds(5))
        await harness.idle()
        #expect(harness.journal.all == ["base", "dependent", "behind"])
    }

    @Test("A failed dependency keeps its dependent waiting until it is retried")
    func failedDependencyRetried() async throws {
        let harness = try Harness()
        let base = try await harness.submit("base", on: "a", fail: true)
        let dependent = try await harness.submit("dependent", on: "b", dependencies: [base.id])
        await harness.idle()
        #expect(harness.journal.all == ["base"])
        #expect(try dependent.status().state == .waiting)
        try await harness.docket.retry(base.id, correctedInput: Step(label: "base-fixed"))
        await harness.idle()
        #expect(harness.journal.all == ["base", "base-fixed", "dependent"])
    }

    @Test("A dependency that already succeeded does not hold the dependent")
    func satisfiedDependency() async throws {
        let harness = try Harness()
        let base = try await harness.submit("base", on: "a")
        await harness.idle()
        _ = try await harness.submit("dependent", on: "b", dependencies: [base.id])
        await harness.idle()
        #expect(harness.journal.all == ["base", "dependent"])
    }

    @Test("A dependency on an unknown or foreign operation is refused at submit")
    func unknownDependency() async throws {
        let harness = try Harness()
        let foreign = try await harness.submit("theirs", on: "a", owner: "globex", delay: .seconds(5))
        let unknown = OperationID("00000000000000000000000000000001")!
        for dependency in [unknown, foreign.id] {
            let error = await expectError(.unknownDependency) { _ = try await harness.submit("mine", on: "b", owner: "acme", dependencies: [dependency]) }
            #expect(error?.operationID == dependency)
        }
        #expect(await harness.docket.metrics().totals.submitted == 1)
    }

    /// A run-now operation accepted behind `harness`'s object `key`, whose ID its caller holds:
    /// `perform(…waitingUpTo: .zero)` answers with the handle.
    private static func acceptedRunNow(_ harness: Harness, label: String, on key: String) async throws -> OperationID {
        let submission = try await harness.docket.perform(
            operationNamed: "record", input: Data(#"{"label":"\#(label)","fail":false}"#.utf8),
            options: SubmitOptions(objectKey: key), waitingUpTo: .zero)
        guard case .accepted(let handle) = submission else {
            Issue.record("expected the handle, got \(submission)")
            throw CancellationError()
        }
        return handle.id
    }

    @Test("A dependent of a run-now operation refused because its object blocked is cancelled, not left waiting", .timeLimit(.minutes(1)))
    func dependentOfRefusedRunNow() async throws {
        let harness = try Harness()
        let failing = try await harness.submit("bad", on: "a", delay: .seconds(1), fail: true)
        let runNow = try await Self.acceptedRunNow(harness, label: "now", on: "a")
        let dependent = try await harness.submit("dependent", on: "b", dependencies: [runNow])
        harness.clock.advance(by: .seconds(1))
        await harness.idle()
        #expect(try harness.docket.status(of: failing.id).state == .failed)
        #expect(try dependent.status().state == .cancelled(.dependencyDeleted))
        #expect(await harness.docket.engine.supervisor.dependencyCount == 0)
        #expect(harness.journal.all == ["bad"])
        // Its status is not tracked, and reading it says why.
        for read in [{ _ = try harness.docket.status(of: runNow) }, { _ = try harness.docket.progress(of: runNow) }] {
            let error = await expectError(.notFound) { try read() }
            #expect(error?.message.contains("was refused before it ran") == true)
        }
    }

    @Test("A dependent of a refused run-now operation does not run when its other dependency succeeds", .timeLimit(.minutes(1)))
    func refusedRunNowDependencyNeverSatisfied() async throws {
        let harness = try Harness()
        _ = try await harness.submit("bad", on: "a", delay: .seconds(1), fail: true)
        let runNow = try await Self.acceptedRunNow(harness, label: "now", on: "a")
        let other = try await harness.submit("other", on: "c", delay: .seconds(2))
        let dependent = try await harness.submit("dependent", on: "b", dependencies: [runNow, other.id])
        harness.clock.advance(by: .seconds(1))
        await harness.idle()
        harness.clock.advance(by: .seconds(1))
        await harness.idle()
        #expect(!harness.journal.all.contains("dependent"))
        #expect(try dependent.status().state == .cancelled(.dependencyDeleted))
        // Depending on it later is refused, saying why.
        let error = await expectError(.unknownDependency) { _ = try await harness.submit("late", on: "d", dependencies: [runNow]) }
        #expect(error?.message.contains("was refused before it ran") == true)
    }
}
