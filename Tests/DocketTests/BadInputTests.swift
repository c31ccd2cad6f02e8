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
        expectCode(.duplicateOperationName) { try registry.register(OperationDefinition<String, String>("same") { value, _ in value }) }
        #expect(registry.entries.map(\.name) == ["same"])
    }

    @Test("A delay or wait beyond the longest duration is refused, not trapped on")
    func tooLongDelay() async throws {
        let harness = try Harness()
        let tooLong = Docket.longestDuration + .seconds(1)
        #expect(await expectError(.invalidDelay) { _ = try await harness.submit("x", delay: tooLong) } != nil)
        #expect(await expectError(.invalidDelay) { _ = try await harness.submit("x", delay: .seconds(Int64.max)) } != nil)
        #expect(await expectError(.invalidDelay) { _ = try await harness.docket.submit(harness.record, input: Step(label: "x"), waitingUpTo: tooLong) } != nil)
        #expect(await harness.docket.metrics().totals.submitted == 0)
        // The longest itself is accepted, and reads as delayed.
        let longest = try await harness.submit("longest", delay: Docket.longestDuration)
        #expect(try longest.status().state == .delayed)
    }

    @Test("Registering a definition with an out-of-range timeout, backoff or retention is refused",
          arguments: [
            ("zero timeout", OperationDefinition<Int, Int>("t", timeout: .zero) { value, _ in value }),
            ("negative timeout", OperationDefinition<Int, Int>("t", timeout: .seconds(-1)) { value, _ in value }),
            ("long timeout", OperationDefinition<Int, Int>("t", timeout: .seconds(Int64.max)) { value, _ in value }),
            ("negative retention", OperationDefinition<Int, Int>("t", retention: .keep(for: .seconds(-1))) { value, _ in value }),
            ("negative fixed backoff", OperationDefinition<Int, Int>("t", retryPolicy: RetryPolicy(maxAttempts: 2, backoff: .fixed(.seconds(-1)))) { value, _ in value }),
            ("infinite multiplier", OperationDefinition<Int, Int>("t", retryPolicy: RetryPolicy(maxAttempts: 3, backoff: .exponential(initial: .seconds(1), multiplier: .infinity, maximum: .seconds(60)))) { value, _ in value }),
            ("NaN multiplier", OperationDefinition<Int, Int>("t", retryPolicy: RetryPolicy(maxAttempts: 3, backoff: .exponential(initial: .seconds(1), multiplier: .nan, maximum: .seconds(60)))) { value, _ in value }),
            ("shrinking multiplier", OperationDefinition<Int, Int>("t", retryPolicy: RetryPolicy(maxAttempts: 3, backoff: .exponential(initial: .seconds(1), multiplier: 0.5, maximum: .seconds(60)))) { value, _ in value }),
            ("long maximum backoff", OperationDefinition<Int, Int>("t", retryPolicy: RetryPolicy(maxAttempts: 3, backoff: .exponential(initial: .seconds(1), multiplier: 2, maximum: .seconds(Int64.max)))) { value, _ in value }),
          ])
    func badDefinitionDurations(_ label: String, _ definition: OperationDefinition<Int, Int>) {
        var registry = OperationRegistry()
        expectCode(.invalidConfiguration, "\(label)") { try registry.register(definition) }
        #expect(registry.entries.isEmpty)
    }

    @Test("Exponential backoff never overflows: a huge multiplier gives the maximum")
    func backoffSaturates() {
        let huge = RetryPolicy(maxAttempts: 100, backoff: .exponential(initial: .seconds(1), multiplier: 1e300, maximum: .seconds(60)))
        #expect(huge.delay(afterAttempt: 1) == .seconds(1))
        #expect(huge.delay(afterAttempt: 2) == .seconds(60))
        #expect(huge.delay(afterAttempt: 99) == .seconds(60))
        let infinite = RetryPolicy(maxAttempts: 3, backoff: .exponential(initial: .seconds(1), multiplier: .infinity, maximum: .seconds(60)))
        #expect(infinite.delay(afterAttempt: 2) == .seconds(60))
        // Policies registration refuses still give a delay when asked directly, never a trap.
        let negative = RetryPolicy(maxAttempts: 3, backoff: .exponential(initial: .seconds(1), multiplier: -1e300, maximum: .seconds(60)))
        #expect(negative.delay(afterAttempt: 2) == .zero)
        let nan = RetryPolicy(maxAttempts: 3, backoff: .exponential(initial: .seconds(1), multiplier: .nan, maximum: .seconds(60)))
        #expect(nan.delay(afterAttempt: 2) == .seconds(60))
        let fromZero = RetryPolicy(maxAttempts: 2_000, backoff: .exponential(initial: .zero, multiplier: 2, maximum: .seconds(60)))
        #expect(fromZero.delay(afterAttempt: 1_500) == .zero)
        let doubling = RetryPolicy(maxAttempts: 10, backoff: .exponential(initial: .seconds(1), multiplier: 2, maximum: .seconds(60)))
        #expect((1...8).map { doubling.delay(afterAttempt: $0) } == [1, 2, 4, 8, 16, 32, 60, 60].map { Duration.seconds($0) })
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
        for lifetime in [Duration.seconds(-1), Docket.longestDuration + .seconds(1)] {
            expectCode(.invalidConfiguration) { _ = try Docket(registry: OperationRegistry(), configuration: DocketConfiguration(unreadResultLifetime: lifetime)) }
            expectCode(.invalidConfiguration) { _ = try Docket(registry: OperationRegistry(), configuration: DocketConfiguration(tombstoneLifetime: lifetime)) }
            expectCode(.invalidConfiguration) { _ = try Docket(registry: OperationRegistry(), configuration: DocketConfiguration(idempotencyWindow: lifetime)) }
        }
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

/// Expects `body` to throw a ``DocketError`` with `code`.
func expectCode(_ code: DocketError.Code, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    let error = #expect(throws: DocketError.self, comment, sourceLocation: sourceLocation) { try body() }
    #expect(error?.code == code, comment, sourceLocation: sourceLocation)
}
