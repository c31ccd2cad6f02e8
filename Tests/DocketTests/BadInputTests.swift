import Docket
import DocketTesting
import Foundation
import Testing

@Suite("Bad input gets a typed error and changes nothing")
struct BadInputTests {
    @Test("Unknown operation name")
    func unknownName() async throws {
        let harness = try Harness()
        let error = await expectError(.unknownOperation) { _ = try await harness.docket.submit(operationNamed: "nope", input: Data("{}".utf8)) }
        #expect(error?.message.contains("nope") == true)
        let unregistered = OperationDefinition<Step, String>("unregistered") { _, _ in "" }
        #expect(await expectError(.unknownOperation) { _ = try await harness.docket.submit(unregistered, input: Step(label: "x")) } != nil)
        #expect(await harness.docket.metrics().totals.submitted == 0)
    }

    @Test("Submitting by name decodes the JSON input, and refuses input that does not decode")
    func byName() async throws {
        let harness = try Harness()
        let id = try await harness.docket.submit(operationNamed: "record", input: Data(#"{"label":"json","fail":false}"#.utf8))
        await harness.idle()
        #expect(harness.docket.takeResult(of: id).value?.decode(as: String.self) == "done json")
        #expect(await expectError(.invalidInput) { _ = try await harness.docket.submit(operationNamed: "record", input: Data("[1]".utf8)) } != nil)
    }

    @Test("Deferring a non-queueable operation is refused; running it now works")
    func notQueueable() async throws {
        let harness = try Harness()
        #expect(await expectError(.notQueueable) { _ = try await harness.submit("x", harness.immediate) } != nil)
        #expect(try await harness.docket.perform(harness.immediate, input: Step(label: "now")) == "done now")
        #expect(harness.journal.all == ["now"])
    }

    @Test("A negative delay or wait is refused")
    func negativeDelay() async throws {
        let harness = try Harness()
        #expect(await expectError(.invalidDelay) { _ = try await harness.submit("x", delay: .seconds(-1)) } != nil)
        #expect(await expectError(.invalidDelay) { _ = try await harness.docket.submit(harness.record, input: Step(label: "x"), waitingUpTo: .seconds(-1)) } != nil)
        #expect(await harness.docket.metrics().totals.submitted == 0)
    }

    @Test("An unknown ID reads as not found everywhere")
    func unknownID() async throws {
        let harness = try Harness()
        let id = OperationID("ffffffffffffffffffffffffffffffff")!
        let docket = harness.docket
        #expect(await expectError(.notFound) { _ = try docket.status(of: id) } != nil)
        #expect(await expectError(.notFound) { _ = try await docket.delete(id) } != nil)
        #expect(await expectError(.notFound) { try await docket.retry(id) } != nil)
        #expect(await expectError(.notFound) { try await docket.cancel(id) } != nil)
        #expect(docket.takeResult(of: id).isNotFound)
        #expect(await docket.outcome(of: id).isNotFound)
    }

    @Test("Registering two definitions with one name is refused")
    func duplicateName() throws {
        var registry = OperationRegistry()
        try registry.register(OperationDefinition<Int, Int>("same") { value, _ in value })
        #expect(throws: DocketError.self) { try registry.register(OperationDefinition<String, String>("same") { value, _ in value }) }
        #expect(registry.entries.map(\.name) == ["same"])
    }

    @Test("The registry lists definitions with their queueable flag")
    func listing() throws {
        let harness = try Harness()
        let entries = harness.docket.operations
        #expect(entries.first { $0.name == "immediate" }?.isQueueable == false)
        #expect(entries.first { $0.name == "record" }?.isQueueable == true)
        #expect(entries.map(\.name) == entries.map(\.name).sorted())
    }

    @Test("Out-of-range configuration is refused")
    func badConfiguration() {
        #expect(throws: DocketError.self) { try Docket(registry: OperationRegistry(), configuration: DocketConfiguration(maxConcurrentOperations: 0)) }
        #expect(throws: DocketError.self) { try Docket(registry: OperationRegistry(), configuration: DocketConfiguration(maxQueuedOperations: 0)) }
    }

    @Test("A retry with input of the wrong type is refused")
    func retryWrongType() async throws {
        let harness = try Harness()
        let failed = try await harness.submit("bad", fail: true)
        await harness.idle()
        #expect(await expectError(.invalidInput) { try await harness.docket.retry(failed.id, correctedInput: 42) } != nil)
        #expect(await expectError(.invalidInput) { try await harness.docket.retry(failed.id, correctedInput: Data("nope".utf8)) } != nil)
        #expect(try failed.status().state == .failed)
    }

    @Test("Error messages say what was wrong and what to do")
    func messages() async throws {
        let harness = try Harness()
        let failed = try await harness.submit("bad", fail: true)
        _ = try await harness.submit("next")
        await harness.idle()
        let error = await expectError(.followerChoiceRequired) { _ = try await harness.docket.delete(failed.id) }
        #expect(error?.message.contains(".keep") == true)
        #expect(error?.message.contains(".cascade") == true)
        #expect(error?.description.hasPrefix("followerChoiceRequired:") == true)
    }
}
