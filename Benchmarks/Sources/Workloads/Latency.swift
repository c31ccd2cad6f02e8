import Docket
import DocketTesting
import Synchronization

/// Latency percentiles in microseconds.
public struct Percentiles: Sendable, CustomStringConvertible {
    public let p50: Double
    public let p99: Double
    public let p999: Double

    init(_ samples: [Double]) {
        let sorted = samples.sorted()
        func at(_ fraction: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))] }
        p50 = at(0.5)
        p99 = at(0.99)
        p999 = at(0.999)
    }

    public var description: String {
        "p50 \(Int(p50)) µs, p99 \(Int(p99)) µs, p999 \(Int(p999)) µs"
    }
}

/// Workload 3: `clients` concurrent callers each submit an operation on a random object and
/// await its result, `perClient` times (a closed loop: a steady, moderate load). Returns the
/// submit → start and submit → result latencies.
public func latency(clients: Int, perClient: Int, keys: Int) async throws -> (toStart: Percentiles, toResult: Percentiles) {
    let origin = ContinuousClock.now
    let starts = Locked<[Double]>([])
    let results = Locked<[Double]>([])
    let definition = OperationDefinition<Double, Int>("timed") { submittedAt, _ in
        let started = (ContinuousClock.now - origin).nanoseconds
        starts.withLock { $0.append((started - submittedAt) / 1000) }
        return 0
    }
    var registry = OperationRegistry()
    try registry.register(definition)
    let docket = try Docket(registry: registry)
    let names = (0..<keys).map { "object-\($0)" }
    try await withThrowingTaskGroup(of: Void.self) { group in
        for client in 0..<clients {
            group.addTask {
                var generator = SeededGenerator(seed: UInt64(client + 1))
                var mine: [Double] = []
                for _ in 0..<perClient {
                    let submittedAt = (ContinuousClock.now - origin).nanoseconds
                    let key = names[Int(generator.next() % UInt64(names.count))]
                    let handle = try await docket.submit(definition, input: submittedAt, options: SubmitOptions(objectKey: key))
                    guard case .finished(.success) = await handle.outcome() else { throw WorkloadError("latency: failed") }
                    mine.append(((ContinuousClock.now - origin).nanoseconds - submittedAt) / 1000)
                }
                results.withLock { $0 += mine }
            }
        }
        try await group.waitForAll()
    }
    return (Percentiles(starts.withLock { $0 }), Percentiles(results.withLock { $0 }))
}

/// What a task sharing the cooperative pool with a docket waits while a backlog drains.
public struct BacklogSharing: Sendable {
    /// How long the backlog took to drain, in milliseconds.
    public let backlogMilliseconds: Double
    /// The gaps between the handler's turns, in microseconds.
    public let gaps: Percentiles
    /// The longest gap, in microseconds.
    public let longestGap: Double
    /// How many turns the handler had while the backlog drained.
    public let turns: Int
}

/// Workload 3's other half: `operations` trivial operations over `keys` objects, submitted in
/// batch mode and then run as one backlog, while a task that stands for a request handler
/// yields in a loop on the same cooperative pool. Each gap between two of its turns is how
/// long a request arriving then would have waited for a thread.
public func backlogSharing(operations: Int, keys: Int) async throws -> BacklogSharing {
    let definition = OperationDefinition<Int, Int>("busy") { value, _ in value }
    var registry = OperationRegistry()
    try registry.register(definition)
    let docket = try Docket(registry: registry, configuration: DocketConfiguration(maxQueuedOperations: 20_000_000, execution: .batch))
    let names = (0..<keys).map { "object-\($0)" }
    for index in 0..<operations {
        _ = try await docket.submit(definition, input: index, options: SubmitOptions(objectKey: names[index % keys]))
    }
    let done = Atomic<Bool>(false)
    let handler = Task {
        var gaps: [Double] = []
        var last = ContinuousClock.now
        while !done.load(ordering: .acquiring) {
            await Task.yield()
            let now = ContinuousClock.now
            gaps.append((now - last).nanoseconds / 1000)
            last = now
        }
        return gaps
    }
    let start = ContinuousClock.now
    let report = try await docket.runDue()
    let backlog = ContinuousClock.now - start
    done.store(true, ordering: .releasing)
    let gaps = await handler.value
    guard report.succeeded == operations else { throw WorkloadError("backlog sharing: ran \(report.succeeded) of \(operations)") }
    return BacklogSharing(
        backlogMilliseconds: backlog.nanoseconds / 1e6, gaps: Percentiles(gaps), longestGap: gaps.max() ?? 0, turns: gaps.count)
}
