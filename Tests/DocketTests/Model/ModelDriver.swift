import Docket
import DocketTesting
import Foundation
import Synchronization

/// Holds every operation body until the test releases it with an outcome, so "succeed" and
/// "fail" are steps of the test, not races. Counts body starts, to catch a body run twice.
final class BodyController: Sendable {
    enum Outcome: Sendable {
        case succeed
        case fail
    }

    private struct State {
        var held: [OperationID: UnsafeContinuation<Outcome, Never>] = [:]
        /// Released before the body got to wait: it takes the outcome at once.
        var released: [OperationID: Outcome] = [:]
        var starts: [OperationID: Int] = [:]
        /// The life was abandoned: every body fails at once.
        var abandoned = false
    }

    private let state = Locked(State())

    /// Called by a body: waits for the test's verdict.
    func hold(_ id: OperationID) async -> Outcome {
        await withUnsafeContinuation { continuation in
            let now = state.withLock { state -> Outcome? in
                state.starts[id, default: 0] += 1
                if state.abandoned { return .fail }
                if let outcome = state.released.removeValue(forKey: id) { return outcome }
                state.held[id] = continuation
                return nil
            }
            if let now { continuation.resume(returning: now) }
        }
    }

    func release(_ id: OperationID, _ outcome: Outcome) {
        let waiter = state.withLock { state -> UnsafeContinuation<Outcome, Never>? in
            if let waiter = state.held.removeValue(forKey: id) { return waiter }
            state.released[id] = outcome
            return nil
        }
        waiter?.resume(returning: outcome)
    }

    /// How many times the body of `id` started in this life.
    func starts(_ id: OperationID) -> Int {
        state.withLock { $0.starts[id] ?? 0 }
    }

    /// Fails every held body and every later one, so an abandoned docket leaves nothing suspended.
    func abandon() {
        let waiters = state.withLock { state -> [UnsafeContinuation<Outcome, Never>] in
            state.abandoned = true
            defer { state.held = [:] }
            return Array(state.held.values)
        }
        for waiter in waiters { waiter.resume(returning: .fail) }
    }
}

/// One life of the docket under test: a manual clock, a store, and bodies held by a controller.
struct ModelLife {
    static let origin = Date(timeIntervalSince1970: 1_800_000_000)

    let clock = ManualClock()
    let store: InMemoryStore
    let controller = BodyController()
    let docket: Docket
    let plain: OperationDefinition<Step, String>
    let idempotent: OperationDefinition<Step, String>

    /// Opens a docket on `store`, `elapsed` seconds after the first life's start.
    init(store: InMemoryStore, elapsed: Int) async throws {
        self.store = store
        let controller = controller
        let body: nonisolated(nonsending) @Sendable (Step, OperationContext) async throws -> String = { _, context in
            switch await controller.hold(context.operationID) {
            case .succeed: return "ok \(context.attempt)"
            case .fail: throw TestFailure(message: "attempt \(context.attempt) failed")
            }
        }
        plain = OperationDefinition<Step, String>(ReferenceModel.Kind.plain.rawValue, body: body)
        idempotent = OperationDefinition<Step, String>(ReferenceModel.Kind.idempotent.rawValue, idempotent: true, body: body)
        var registry = OperationRegistry()
        try registry.register(plain)
        try registry.register(idempotent)
        let configuration = DocketConfiguration(
            maxConcurrentOperations: 1_000, wallClockOrigin: Self.origin.addingTimeInterval(TimeInterval(elapsed)))
        docket = try await Docket(registry: registry, configuration: configuration, clock: clock, store: store)
    }

    func definition(_ kind: ReferenceModel.Kind) -> OperationDefinition<Step, String> {
        kind == .plain ? plain : idempotent
    }

    /// Lets go of this life: held bodies fail, and the clock runs far ahead so no timer sleeps on.
    func abandon() {
        controller.abandon()
        clock.advance(by: .seconds(1_000_000))
    }
}

/// Runs one seeded sequence against a docket and the reference model, checking after every
/// step that every operation's status, the metrics and each answer agree.
struct ModelRun {
    let seed: UInt64
    let length: Int
    /// How long the docket may take to reach the state the model predicts before it is a failure.
    var patience: Duration = .seconds(10)

    /// A disagreement between the docket and the model, described for the report.
    private struct Mismatch: Error {
        let message: String
    }

    /// What one sequence found.
    struct Report: Sendable {
        /// The seed, the step and the steps so far on the first disagreement; `nil` when none.
        var failure: String?
        /// How many steps of each kind ran, by outcome (such as `delete/cascade`, `retry/notRetryable`).
        var tally: [String: Int] = [:]
    }

    /// Runs the sequence, stopping at the first disagreement.
    func run() async -> Report {
        var report = Report()
        var rng = SplitMix64(seed: seed)
        var model = ReferenceModel()
        var ids: [OperationID] = []
        var steps: [ModelStep] = []
        var life: ModelLife
        do {
            life = try await ModelLife(store: InMemoryStore(), elapsed: 0)
        } catch {
            report.failure = "seed \(seed): the first docket did not open: \(error)"
            return report
        }
        defer { life.abandon() }
        for index in 0..<length {
            let step = StepChooser.next(model, &rng)
            steps.append(step)
            do {
                let outcome = try await apply(step, at: index, to: &model, ids: &ids, life: &life)
                report.tally[outcome, default: 0] += 1
                try await verify(model, ids: ids, life: life, probe: index)
            } catch {
                let message = (error as? Mismatch)?.message ?? "unexpected error \(error)"
                let listing = steps.enumerated().map { "  \($0.offset): \($0.element)" }.joined(separator: "\n")
                report.failure = """
                    Model and docket disagree: seed \(seed), step \(index) (\(step)): \(message)
                    Replay with DOCKET_MODEL_SEED=\(seed) swift test --filter ModelTests
                    Steps:
                    \(listing)
                    """
                return report
            }
        }
        return report
    }

    private func expect<T: Equatable>(_ actual: T, _ expected: T, _ what: @autoclosure () -> String) throws {
        guard actual == expected else { throw Mismatch(message: "\(what()): docket \(actual), model \(expected)") }
    }

    /// The code of the typed error a request was refused with, `nil` when it was done.
    private static func code(_ body: () async throws -> Void) async throws -> DocketError.Code? {
        do {
            try await body()
            return nil
        } catch let error as DocketError {
            return error.code
        } catch {
            throw Mismatch(message: "refused with \(error), which is not a DocketError")
        }
    }

    private func apply(_ step: ModelStep, at index: Int, to model: inout ReferenceModel, ids: inout [OperationID], life: inout ModelLife) async throws -> String {
        let docket = life.docket
        func label(_ code: DocketError.Code?, done: String = "done") -> String {
            "\(step.kind)/\(code.map(\.description) ?? done)"
        }
        switch step {
        case let .submit(owner, object, delay, key, kind):
            let expected = model.submit(owner: owner, object: object, delay: delay, key: key, kind: kind)
            let options = SubmitOptions(objectKey: object, delay: .seconds(delay), owner: owner, idempotencyKey: key)
            let actual: ReferenceModel.Answer<OperationID>
            do {
                actual = .done(try await docket.submit(life.definition(kind), input: Step(label: "s\(index)"), options: options).id)
            } catch let error as DocketError {
                actual = .refused(error.code)
            }
            switch (expected, actual) {
            case let (.done(op), .done(id)) where op.isNew:
                guard !ids.contains(id) else { throw Mismatch(message: "a new submission returned the existing ID \(id)") }
                ids.append(id)
                return label(nil, done: delay > 0 ? "delayed" : "new")
            case let (.done(op), .done(id)):
                try expect(id, ids[op.index], "the idempotent repeat's ID")
                return label(nil, done: "repeat")
            case let (.refused(expected), .refused(actual)):
                try expect(actual, expected, "the refusal")
                return label(actual)
            default:
                throw Mismatch(message: "submit: docket \(actual), model \(expected)")
            }
        case .succeed(let op):
            model.release(op, succeeds: true)
            life.controller.release(ids[op], .succeed)
            return label(nil)
        case .fail(let op):
            let cancelling = model.ops[op].cancelRequested
            model.release(op, succeeds: false)
            life.controller.release(ids[op], .fail)
            return label(nil, done: cancelling ? "cancelled" : "failed")
        case let .retry(op, owner):
            let expected = model.retry(op, owner: owner)
            let actual = try await Self.code { try await docket.retry(ids[op], owner: owner) }
            try expect(actual, expected, "retry's refusal")
            return label(actual)
        case let .cancel(op, owner):
            let expected = model.cancel(op, owner: owner)
            let actual = try await Self.code { try await docket.cancel(ids[op], owner: owner) }
            try expect(actual, expected, "cancel's refusal")
            return label(actual, done: model.ops[op].cancelRequested ? "running" : "queued")
        case let .delete(ops, owner, followers):
            let keepsFollowers = ops.contains { op in
                model.ops[op].phase == .failed && model.line(of: op).contains { !ops.contains($0) }
            }
            let expected = model.delete(ops, owner: owner, followers: followers)
            let actual: ReferenceModel.Answer<[Int: CancellationReason]>
            do {
                let report = try await docket.delete(ops.map { ids[$0] }, owner: owner, followers: followers)
                var removed: [Int: CancellationReason] = [:]
                for entry in report.removed {
                    guard let op = ids.firstIndex(of: entry.id) else { throw Mismatch(message: "deleted an unknown ID \(entry.id)") }
                    guard removed.updateValue(entry.reason, forKey: op) == nil else { throw Mismatch(message: "op\(op) reported deleted twice") }
                }
                actual = .done(removed)
            } catch let error as DocketError {
                actual = .refused(error.code)
            }
            guard actual == expected else {
                throw Mismatch(message: "delete: docket \(actual), model \(expected)")
            }
            switch expected {
            case .refused(let code): return label(code)
            case .done(let removed): return label(nil, done: removed.values.contains(.cascade) ? "cascade" : followers == .keep && keepsFollowers ? "keep" : removed.count > 1 ? "several" : "one")
            }
        case .advance(let seconds):
            model.advance(by: seconds)
            life.clock.advance(by: .seconds(seconds))
            return label(nil)
        case let .take(op, owner):
            let expected = model.take(op, owner: owner)
            try expect(Self.answer(docket.takeResult(of: ids[op], owner: owner)), expected, "take op\(op)")
            return "take/\(expected)"
        case .takeUnknown:
            try expect(Self.answer(docket.takeResult(of: OperationID.random())), .notFound, "take of an unknown ID")
            return label(nil)
        case .restart:
            let running = model.ops.filter { $0.phase == .running }
            let copy = InMemoryStore(records: life.store.records)
            let old = life
            life = try await ModelLife(store: copy, elapsed: model.now)
            old.abandon()
            model.restart()
            try expect(life.docket.recovery.interrupted, running.filter { $0.kind == .plain }.count, "interrupted at restart")
            try expect(life.docket.recovery.rerun, running.filter { $0.kind == .idempotent }.count, "run again at restart")
            return label(nil, done: running.isEmpty ? "quiet" : "while running")
        }
    }

    private static func answer(_ take: ResultTake<OperationPayload>) -> ReferenceModel.Take {
        switch take {
        case .notFound: return .notFound
        case .notFinished(let state): return .notFinished(state)
        case .consumed: return .consumed
        case .finished(.failure(let failure)): return .failure(failure.kind)
        case .finished(.success(let payload)):
            let text = payload.decode(as: String.self) ?? ""
            guard text.hasPrefix("ok "), let attempt = Int(text.dropFirst(3)) else { return .failure(.thrown) }
            return .success(attempt: attempt)
        }
    }

    /// What a status read of `id` shows, in the model's terms.
    private static func observed(_ id: OperationID, owner: String?, in docket: Docket, live: Bool) -> ReferenceModel.Observed? {
        guard let status = try? docket.status(of: id, owner: owner) else { return nil }
        return ReferenceModel.Observed(
            state: status.state, attempt: live ? status.attempt : nil, hasError: status.errorText != nil,
            consumed: status.isResultConsumed)
    }

    /// Waits until the docket shows what the model predicts, or fails after `patience`.
    /// The bodies are held, so once a state is reached it stays until the next step: a
    /// premature or missing start shows up as a disagreement here or at the next step.
    private func verify(_ model: ReferenceModel, ids: [OperationID], life: ModelLife, probe: Int) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + patience
        let docket = life.docket
        for op in model.ops.indices {
            let expected = model.observed(op)
            while true {
                let actual = Self.observed(ids[op], owner: model.ops[op].owner, in: docket, live: expected.attempt != nil)
                if actual == expected { break }
                if clock.now > deadline {
                    throw Mismatch(message: "op\(op) shows \(actual.map(\.description) ?? "not found"), model \(expected)")
                }
                await Task.yield()
            }
            // The pollers' read answers from the record's slot where a status reads the record: they agree.
            while true {
                let status = try? docket.status(of: ids[op], owner: model.ops[op].owner)
                let polled = try? docket.progress(of: ids[op], owner: model.ops[op].owner)
                if polled == status.map({ OperationProgress(state: $0.state, percent: $0.progress) }) { break }
                if clock.now > deadline {
                    throw Mismatch(message: "op\(op): progress(of:) shows \(polled.map { "\($0.state) \($0.percent)%" } ?? "not found"), status(of:) \(status.map { "\($0.state) \($0.progress)%" } ?? "not found")")
                }
                await Task.yield()
            }
        }
        let expectedCounts = model.counts()
        let expectedTotals = model.totals
        while true {
            let metrics = await docket.metrics()
            let counts = ReferenceModel.Counts(
                waiting: metrics.waiting, delayed: metrics.delayed, running: metrics.running,
                succeeded: metrics.succeeded, failed: metrics.failed, tombstones: metrics.tombstones)
            let totals = ReferenceModel.Totals(
                submitted: metrics.totals.submitted, succeeded: metrics.totals.succeeded,
                failed: metrics.totals.failed, cancelled: metrics.totals.cancelled)
            if counts == expectedCounts && totals == expectedTotals && metrics.blockedObjects.count == expectedCounts.failed { break }
            if clock.now > deadline {
                throw Mismatch(message: "metrics \(counts) \(totals) blocked \(metrics.blockedObjects.count), model \(expectedCounts) \(expectedTotals)")
            }
            await Task.yield()
        }
        // A body starts just after its status turns running: wait for it as for a state.
        for op in model.ops.indices {
            while life.controller.starts(ids[op]) != model.ops[op].startsThisLife {
                if clock.now > deadline {
                    throw Mismatch(message: "body of op\(op) started \(life.controller.starts(ids[op])) time(s) in this life, model \(model.ops[op].startsThisLife)")
                }
                await Task.yield()
            }
        }
        // Another owner sees nothing of one operation.
        if !ids.isEmpty {
            let op = probe % ids.count
            let stranger: String? = model.ops[op].owner == nil ? "acme" : nil
            if Self.observed(ids[op], owner: stranger, in: docket, live: false) != nil {
                throw Mismatch(message: "op\(op) is visible to another owner")
            }
        }
    }
}
