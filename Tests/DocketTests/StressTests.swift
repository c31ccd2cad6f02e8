import Docket
import Foundation
import Synchronization
import Testing

/// Real concurrency, real clock: producers submit tens of thousands of operations over a few
/// hundred objects while bodies fail at random, a fixer retries or deletes the failures and a
/// canceller cancels and deletes queued ones. At the end nothing may be lost or run twice,
/// each object's operations ran one at a time in submission order, and the counts add up.
@Suite("Stress under real concurrency")
struct StressTests {
    /// What a stress operation takes: its place in its producer's stream, and how many of
    /// its attempts throw.
    struct Work: Codable, Sendable, Hashable {
        var object: Int
        var producer: Int
        var failingAttempts: Int
    }

    /// One body run, as the body saw it.
    struct Run: Sendable {
        let id: OperationID
        let attempt: Int
        let object: Int
        /// The global order in which runs started.
        let order: Int
        var threw = false
    }

    /// The body's log, and the per-object occupancy that proves one-at-a-time.
    final class RunLog: Sendable {
        private struct State {
            var runs: [Run] = []
            var busyObjects: Set<Int> = []
            var overlaps: [String] = []
        }

        private let state = Locked(State())

        /// Records a start; returns the run's index for ``end(_:threw:)``.
        func start(_ id: OperationID, attempt: Int, object: Int) -> Int {
            state.withLock { state in
                if !state.busyObjects.insert(object).inserted {
                    state.overlaps.append("object \(object) started \(id) attempt \(attempt) while another of its operations ran")
                }
                state.runs.append(Run(id: id, attempt: attempt, object: object, order: state.runs.count))
                return state.runs.count - 1
            }
        }

        func end(_ index: Int, threw: Bool) {
            state.withLock { state in
                state.runs[index].threw = threw
                state.busyObjects.remove(state.runs[index].object)
            }
        }

        var runs: [Run] { state.withLock { $0.runs } }
        var overlaps: [String] { state.withLock { $0.overlaps } }
    }

    /// A submitted operation, with the logical times its submission call began and returned.
    struct Submitted: Sendable {
        let id: OperationID
        let work: Work
        let began: Int
        let returned: Int
    }

    /// What the producers, the canceller and the fixer share.
    final class Shared: Sendable {
        /// A logical clock: submissions take a tick as they begin and as they return.
        let ticks = Atomic<Int>(0)
        let submitted = Locked<[Submitted]>([])
        let producing: Atomic<Int>
        /// What the canceller and the fixer did, and were refused, by kind.
        let actions = Locked<[String: Int]>([:])

        init(producers: Int) {
            producing = Atomic(producers)
        }

        func note(_ what: String) {
            actions.withLock { $0[what, default: 0] += 1 }
        }

        var isProducing: Bool { producing.load(ordering: .sequentiallyConsistent) > 0 }

        /// Set by the fixer once everything has finished; the canceller stops then.
        let settled = Atomic<Bool>(false)
    }

    static let operations = TestScale.scaled(20_000, minimum: 200)
    static let producers = 6
    static let objects = 200

    @Test("Producers, failures, fixes and cancels: nothing lost or run twice, order kept, counts add up", .timeLimit(.minutes(3)))
    func concurrentLoad() async throws {
        let log = RunLog()
        let definition = OperationDefinition<Work, Int>("stress") { work, context in
            let index = log.start(context.operationID, attempt: context.attempt, object: work.object)
            if (work.object + context.attempt) % 2 == 0 { await Task.yield() }
            let fails = context.attempt <= work.failingAttempts
            log.end(index, threw: fails)
            if fails { throw TestFailure(message: "attempt \(context.attempt) of object \(work.object) failed") }
            return context.attempt
        }
        var registry = OperationRegistry()
        try registry.register(definition)
        let docket = try await Docket(
            registry: registry, configuration: DocketConfiguration(maxConcurrentOperations: 16), store: InMemoryStore())

        let clock = ContinuousClock()
        let started = clock.now
        let shared = Shared(producers: Self.producers)
        let perProducer = Self.operations / Self.producers

        try await withThrowingTaskGroup(of: Void.self) { group in
            for producer in 0..<Self.producers {
                group.addTask {
                    var rng = SplitMix64(seed: UInt64(producer + 1))
                    for _ in 0..<perProducer {
                        let work = Work(
                            object: Int.random(in: 0..<Self.objects, using: &rng), producer: producer,
                            failingAttempts: rng.chance(6) ? Int.random(in: 1...2, using: &rng) : 0)
                        let delay: Duration = rng.chance(3) ? .milliseconds(Int.random(in: 1...5, using: &rng)) : .zero
                        let began = shared.ticks.add(1, ordering: .sequentiallyConsistent).newValue
                        let handle = try await docket.submit(
                            definition, input: work, options: SubmitOptions(objectKey: "o\(work.object)", delay: delay))
                        let returned = shared.ticks.add(1, ordering: .sequentiallyConsistent).newValue
                        shared.submitted.withLock { $0.append(Submitted(id: handle.id, work: work, began: began, returned: returned)) }
                    }
                    shared.producing.subtract(1, ordering: .sequentiallyConsistent)
                }
            }
            // The canceller: cancels or deletes random operations while producers run.
            group.addTask {
                var rng = SplitMix64(seed: 1_000)
                while !shared.settled.load(ordering: .sequentiallyConsistent) {
                    let target = shared.submitted.withLock { $0.isEmpty ? nil : $0[Int.random(in: 0..<$0.count, using: &rng)].id }
                    if let target {
                        do {
                            if rng.chance(60) {
                                try await docket.cancel(target)
                                shared.note("cancel")
                            } else {
                                _ = try await docket.delete(target, followers: rng.chance(50) ? .keep : .cascade)
                                shared.note("delete")
                            }
                        } catch let error as DocketError {
                            shared.note("refused \(error.code)")
                        }
                    }
                    try await Task.sleep(for: .microseconds(shared.isProducing ? 100 : 1_000))
                }
            }
            // The fixer: retries failed operations or deletes them (keeping or cascading their
            // followers) until every operation has finished.
            group.addTask {
                var rng = SplitMix64(seed: 2_000)
                while true {
                    let metrics = await docket.metrics()
                    if !shared.isProducing,
                       metrics.waiting + metrics.delayed + metrics.running + metrics.failed == 0 {
                        shared.settled.store(true, ordering: .sequentiallyConsistent)
                        return
                    }
                    for blocked in metrics.blockedObjects {
                        do {
                            switch Int.random(in: 0..<20, using: &rng) {
                            case 0..<16:
                                try await docket.retry(blocked.failedOperation)
                                shared.note("retry")
                            case 16..<18:
                                _ = try await docket.delete(blocked.failedOperation, followers: .keep)
                                shared.note("delete keep")
                            default:
                                _ = try await docket.delete(blocked.failedOperation, followers: .cascade)
                                shared.note("delete cascade")
                            }
                        } catch let error as DocketError {
                            shared.note("fixer refused \(error.code)")
                        }
                    }
                    try await Task.sleep(for: .milliseconds(1))
                }
            }
            try await group.waitForAll()
        }
        let settled = clock.now - started

        // Every submitted operation is accounted for, and finished.
        let all = shared.submitted.withLock { $0 }
        #expect(all.count == perProducer * Self.producers)
        #expect(Set(all.map(\.id)).count == all.count, "IDs are unique")
        var states: [OperationID: OperationState] = [:]
        var lost: [OperationID] = []
        for operation in all {
            guard let status = try? docket.status(of: operation.id) else {
                lost.append(operation.id)
                continue
            }
            states[operation.id] = status.state
        }
        #expect(lost.isEmpty, "operations without a status: \(lost.prefix(5))")
        let unfinished = states.filter { !$0.value.isFinished || $0.value == .failed }
        #expect(unfinished.isEmpty, "operations left unfinished or failed: \(unfinished.prefix(5))")

        // Each attempt ran once, attempts ran 1, 2, ... in order, and the outcome matches the runs.
        let runs = log.runs
        #expect(log.overlaps.isEmpty, "\(log.overlaps.prefix(5))")
        var runsByID: [OperationID: [Run]] = [:]
        for run in runs { runsByID[run.id, default: []].append(run) }
        let known = Set(all.map(\.id))
        #expect(runsByID.keys.allSatisfy(known.contains), "a body ran for an ID nobody submitted")
        var problems: [String] = []
        for operation in all {
            let ran = runsByID[operation.id] ?? []
            if ran.map(\.attempt) != ran.indices.map({ $0 + 1 }) {
                problems.append("\(operation.id) ran attempts \(ran.map(\.attempt))")
            }
            let successes = ran.filter { !$0.threw }.count
            switch states[operation.id] {
            case .succeeded?:
                if successes != 1 || ran.last?.threw == true { problems.append("\(operation.id) succeeded after runs \(ran.map { ($0.attempt, $0.threw) })") }
            case .cancelled?:
                if successes != 0 { problems.append("\(operation.id) is cancelled but a run succeeded") }
            default:
                break
            }
        }
        #expect(problems.isEmpty, "\(problems.count) problems: \(problems.prefix(5))")

        // Per object, an operation whose submission returned before another's began, started first.
        var firstStart: [OperationID: Int] = [:]
        for run in runs where firstStart[run.id] == nil { firstStart[run.id] = run.order }
        var byObject: [Int: [Submitted]] = [:]
        for operation in all where firstStart[operation.id] != nil { byObject[operation.work.object, default: []].append(operation) }
        var inversions: [String] = []
        for (object, operations) in byObject {
            let ranInOrder = operations.sorted { firstStart[$0.id]! < firstStart[$1.id]! }
            for (position, earlier) in ranInOrder.enumerated() {
                for later in ranInOrder[(position + 1)...] where later.returned < earlier.began {
                    inversions.append("object \(object): \(later.id) was submitted before \(earlier.id) but started after it")
                }
            }
        }
        #expect(inversions.isEmpty, "\(inversions.count) order inversions: \(inversions.prefix(5))")

        // The counts add up, against the states and against the docket's own metrics.
        let succeeded = states.values.filter { $0 == .succeeded }.count
        let cancelled = states.values.filter { if case .cancelled = $0 { true } else { false } }.count
        #expect(succeeded + cancelled == all.count)
        let metrics = await docket.metrics()
        #expect(metrics.totals.submitted == all.count)
        #expect(metrics.succeeded == succeeded)
        #expect(metrics.tombstones == cancelled)
        #expect(metrics.waiting + metrics.delayed + metrics.running + metrics.failed == 0)
        #expect(metrics.totals.succeeded == runs.filter { !$0.threw }.count)
        #expect(metrics.totals.failed + metrics.totals.cancelled == runs.filter(\.threw).count)
        var reasons: [String: Int] = [:]
        for case .cancelled(let reason) in states.values { reasons[reason.rawValue, default: 0] += 1 }
        let fixed = shared.actions.withLock { $0 }
        print("Stress: \(all.count) operations on \(Self.objects) objects by \(Self.producers) producers settled in \(settled); "
              + "\(runs.count) runs, \(succeeded) succeeded, \(cancelled) cancelled \(reasons.sorted { $0.key < $1.key }); "
              + fixed.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    }
}
