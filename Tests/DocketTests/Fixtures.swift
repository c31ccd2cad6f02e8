import Docket
import DocketTesting
import Foundation
import Synchronization

/// A log of events from operation bodies, in the order they happened.
/// An error retrying cannot fix.
struct Refusal: NonRetryableError, CustomStringConvertible {
    let message: String
    var description: String { message }
}

final class Journal: Sendable {
    private let entries = Locked<[String]>([])

    func append(_ entry: String) {
        entries.withLock { $0.append(entry) }
    }

    var all: [String] { entries.withLock { $0 } }
}

/// What the test operations take: a label to record, and how to behave.
struct Step: Codable, Sendable, Hashable {
    var label: String
    var fail: Bool = false
}

/// A registry of test operations that record into a journal, with a docket on a manual clock.
struct Harness {
    let clock = ManualClock()
    let journal = Journal()
    let docket: Docket
    let record: OperationDefinition<Step, String>
    let flaky: OperationDefinition<Step, String>
    let slow: OperationDefinition<Step, String>
    let immediate: OperationDefinition<Step, String>
    let kept: OperationDefinition<Step, String>
    let timed: OperationDefinition<Step, String>
    let gate: Gate

    init(configuration: DocketConfiguration = DocketConfiguration()) throws {
        let journal = journal
        let gate = Gate()
        self.gate = gate
        record = OperationDefinition<Step, String>("record") { step, context in
            journal.append(step.label)
            context.log("ran \(step.label)")
            if step.fail { throw TestFailure(message: "\(step.label) failed") }
            return "done \(step.label)"
        }
        flaky = OperationDefinition<Step, String>("flaky", retryPolicy: RetryPolicy(maxAttempts: 3, backoff: .fixed(.seconds(10)))) { step, context in
            journal.append("\(step.label)#\(context.attempt)")
            if step.fail { throw Refusal(message: "\(step.label) refused") }
            if context.attempt < 3 { throw TestFailure(message: "attempt \(context.attempt) failed") }
            return "done \(step.label)"
        }
        slow = OperationDefinition<Step, String>("slow") { step, context in
            journal.append("start \(step.label)")
            context.reportProgress(10)
            await gate.wait(step.label, context: context)
            try context.checkCancellation()
            context.reportProgress(90)
            journal.append("end \(step.label)")
            if step.fail { throw TestFailure(message: "\(step.label) failed") }
            return "done \(step.label)"
        }
        immediate = OperationDefinition<Step, String>("immediate", queueable: false) { step, _ in
            journal.append(step.label)
            return "done \(step.label)"
        }
        kept = OperationDefinition<Step, String>("kept", retention: .keep(for: .seconds(60))) { step, _ in
            journal.append(step.label)
            return "kept \(step.label)"
        }
        timed = OperationDefinition<Step, String>("timed", timeout: .seconds(5)) { step, context in
            journal.append("start \(step.label)")
            await context.cancellation()
            journal.append("stopped \(step.label)")
            return "late \(step.label)"
        }
        var registry = OperationRegistry()
        for definition in [record, flaky, slow, immediate, kept, timed] { try registry.register(definition) }
        docket = try Docket(registry: registry, configuration: configuration, clock: clock)
    }

    func submit(_ label: String, on key: String? = "deal-1", owner: String? = nil, delay: Duration = .zero, fail: Bool = false,
                _ definition: OperationDefinition<Step, String>? = nil, dependencies: [OperationID] = []) async throws -> OperationHandle<String> {
        try await docket.submit(definition ?? record, input: Step(label: label, fail: fail),
                                options: SubmitOptions(objectKey: key, delay: delay, owner: owner, dependencies: dependencies))
    }

    func idle() async { await docket.waitForIdle() }
}

struct TestFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Holds `slow` bodies until a test opens them, one label at a time.
final class Gate: Sendable {
    private struct State {
        var open: Set<String> = []
        var waiting: [String: [UnsafeContinuation<Void, Never>]] = [:]
    }
    private let state = Locked(State())

    /// Waits until `label` opens, or the attempt of `context` is asked to stop.
    func wait(_ label: String, context: OperationContext) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.wait(label) }
            group.addTask { await context.cancellation() }
            await group.next()
            self.open(label)
            group.cancelAll()
        }
    }

    /// Waits until `label` opens, whatever else happens: for a body that ignores cancellation.
    func wait(_ label: String) async {
        await withUnsafeContinuation { continuation in
            let open = state.withLock { state -> Bool in
                if state.open.contains(label) { return true }
                state.waiting[label, default: []].append(continuation)
                return false
            }
            if open { continuation.resume() }
        }
    }

    func open(_ label: String) {
        let waiters = state.withLock { state -> [UnsafeContinuation<Void, Never>] in
            state.open.insert(label)
            return state.waiting.removeValue(forKey: label) ?? []
        }
        for waiter in waiters { waiter.resume() }
    }
}

extension ResultTake {
    var value: Value? {
        if case .finished(.success(let value)) = self { return value }
        return nil
    }
    var isConsumed: Bool { if case .consumed = self { true } else { false } }
    var isNotFound: Bool { if case .notFound = self { true } else { false } }
    var failure: OperationFailure? {
        if case .finished(.failure(let failure)) = self { return failure }
        return nil
    }
    var pendingState: OperationState? {
        if case .notFinished(let state) = self { return state }
        return nil
    }
}

func expectError(_ code: DocketError.Code, _ body: () async throws -> Void) async -> DocketError? {
    do {
        try await body()
        return nil
    } catch let error as DocketError {
        return error.code == code ? error : nil
    } catch {
        return nil
    }
}

/// Waits, through an operation's event stream, until its state satisfies `reached` (or the
/// stream ends, at a finished state).
func waitUntil(_ events: AsyncStream<OperationEvent>, _ reached: (OperationState) -> Bool) async {
    for await event in events {
        switch event {
        case .snapshot(let status) where reached(status.state): return
        case .state(let state) where reached(state): return
        default: continue
        }
    }
}

/// Yields until `condition` holds, at most `limit` times, and returns whether it held. For a
/// step that must end without waiting on anything the test controls: a bounded number of
/// yields turns a hang into a failed expectation, which the test can then unblock.
func yield(until condition: () -> Bool, limit: Int = 100_000) async -> Bool {
    for _ in 0..<limit {
        // A task cancelled (a task group's child that lost) stops yielding.
        if condition() || Task.isCancelled { break }
        await Task.yield()
    }
    return condition()
}

/// ``yield(until:limit:)`` for a condition that must be awaited (an actor's state).
func yield(until condition: () async -> Bool, limit: Int = 100_000) async -> Bool {
    for _ in 0..<limit {
        if await condition() || Task.isCancelled { break }
        await Task.yield()
    }
    return await condition()
}

/// Runs `body` on a task of its own and reports whether it ended within a bounded number of
/// yields: a hang becomes a failed expectation rather than a test that never returns (the
/// task is left behind).
func finishes(_ body: @escaping @Sendable () async -> Void) async -> Bool {
    let done = Done()
    Task {
        await body()
        done.flag.store(true, ordering: .releasing)
    }
    return await yield { done.flag.load(ordering: .acquiring) }
}

/// Whether a task ``finishes(_:)`` watches has ended.
private final class Done: Sendable {
    let flag = Atomic<Bool>(false)
}

/// Waits, through the operation's event stream, until it reaches `state` (or finishes).
func waitUntil<Output>(_ handle: OperationHandle<Output>, is state: OperationState) async throws {
    await waitUntil(try handle.events()) { $0 == state }
}

/// Waits, through the event stream of `id` on `docket`, until its state satisfies `reached`.
func waitUntil(_ id: OperationID, in docket: Docket, _ reached: (OperationState) -> Bool) async throws {
    await waitUntil(try docket.events(of: id), reached)
}

/// The contexts a body was given, in order.
final class Contexts: Sendable {
    private let contexts = Mutex<[OperationContext]>([])

    func append(_ context: OperationContext) { contexts.withLock { $0.append(context) } }

    var all: [OperationContext] { contexts.withLock { $0 } }
}

/// A docket on a manual clock with one definition, "stubborn", with a timeout of 5 s: its
/// body records its context, then waits at the gate for its label whatever it is asked,
/// as a body that ignores its timeout and its cancellation does.
struct StubbornDocket {
    let clock = ManualClock()
    let gate = Gate()
    let contexts = Contexts()
    let definition: OperationDefinition<String, String>
    let docket: Docket

    init(configuration: DocketConfiguration = DocketConfiguration()) throws {
        let (gate, contexts) = (gate, contexts)
        definition = OperationDefinition<String, String>("stubborn", timeout: .seconds(5)) { label, context in
            contexts.append(context)
            await gate.wait(label)
            return label
        }
        var registry = OperationRegistry()
        try registry.register(definition)
        docket = try Docket(registry: registry, configuration: configuration, clock: clock)
    }

    func submit(_ label: String, on key: String? = nil) async throws -> OperationHandle<String> {
        try await docket.submit(definition, input: label, options: SubmitOptions(objectKey: key))
    }
}
