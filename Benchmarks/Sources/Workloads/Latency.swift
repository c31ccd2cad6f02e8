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
