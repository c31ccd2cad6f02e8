import Benchmark
import Workloads

/// The keyed-throughput workload for Docket and every baseline, at each object count, plus
/// the delay, failure and polling workloads: package-benchmark measures wall time
/// percentiles, throughput, mallocs and memory. `compare` prints the same workloads as ratios.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        scalingFactor: .one,
        maxDuration: .seconds(5),
        maxIterations: 10
    )
    let operations = 100_000

    for keys in [1, 100, 10_000, 100_000] {
        Benchmark("keyed throughput Docket K=\(keys)") { _ in
            blackHole(try await keyedThroughput(DocketSystem.self, operations: operations, keys: keys))
        }
        Benchmark("keyed throughput DispatchQueue K=\(keys)") { _ in
            blackHole(try await keyedThroughput(DispatchQueuePerKey.self, operations: operations, keys: keys))
        }
        Benchmark("keyed throughput OperationQueue K=\(keys)") { _ in
            blackHole(try await keyedThroughput(OperationQueuePerKey.self, operations: operations, keys: keys))
        }
        Benchmark("keyed throughput Task per op K=\(keys)") { _ in
            blackHole(try await keyedThroughput(TaskPerOperation.self, operations: operations, keys: keys))
        }
        Benchmark("keyed throughput drain floor K=\(keys)") { _ in
            blackHole(try await keyedThroughput(DrainingMailbox.self, operations: operations, keys: keys))
        }
    }
    Benchmark("throughput while polling K=10000") { _ in
        blackHole(try await throughputWhilePolling(operations: operations, keys: 10_000))
    }
    Benchmark("delayed, manual clock, 100k") { _ in
        blackHole(try await delayedWithManualClock(count: 100_000, keys: 100_000))
    }
    Benchmark("failure-heavy K=10000") { _ in
        blackHole(try await failureHeavy(operations: operations, keys: 10_000))
    }
    Benchmark("latency 64 clients") { _ in
        blackHole(try await latency(clients: 64, perClient: 200, keys: 1_000))
    }
    for store in DurableStore.allCases {
        Benchmark("durable submit → complete, 64 clients, \(store.rawValue)") { _ in
            blackHole(try await durableThroughput(store: store, submitters: 64, duration: .seconds(1)))
        }
    }
    Benchmark("scale 10^6 in waves") { _ in
        blackHole(try await waves(operations: 1_000_000, objects: 100_000, wave: 1_000_000))
    }
}
