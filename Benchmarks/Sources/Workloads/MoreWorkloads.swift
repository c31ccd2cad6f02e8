import Docket
import DocketTesting
import Foundation
import Synchronization

/// What workload 2 measured.
public struct PollingRun: Sendable {
    /// Workload 1's ns per operation with the pollers running.
    public var nsPerOperation: Double
    /// Lookups per second across both pollers.
    public var lookupsPerSecond: Double
    /// The pollers' time in their batches of lookups over the run's wall time, summed over
    /// both (0 to 2 on two cores): the share of the machine the pool gave them.
    public var pollerShare: Double
    /// Time in the batches per lookup: what a lookup cost under load.
    public var nsPerLookup: Double
    /// The process's CPU time over the run's wall time (0 to 2 on two cores): how busy the
    /// machine was, pollers included.
    public var processShare: Double
}

/// Workload 2: keyed throughput while two tasks poll the status of random live IDs.
/// With `progressOnly`, the pollers read state and progress (`Docket.progress(of:)`) instead
/// of the full status snapshot.
///
/// Each poller times its batches, so the run tells apart what a lookup costs under load
/// from how much of the machine the pollers were given.
public func throughputWhilePolling(
    operations: Int, keys: Int, progressOnly: Bool = false, workerPriority: TaskPriority? = nil,
    maxConcurrentOperations: Int? = nil
) async throws -> PollingRun {
    let log = OrderLog(keys: keys)
    let system = try DocketSystem(keys: keys, log: log, workerPriority: workerPriority, maxConcurrentOperations: maxConcurrentOperations)
    // Seed some IDs so the pollers have live targets from the start.
    for index in 0..<min(keys, 1000) { try await system.submit(key: index % keys, index: index) }
    let seeded = min(keys, 1000)
    let stop = Locked(false)
    let lookups = Locked(0)
    let polling = Locked(Duration.zero)
    let docket = system.docket
    let known = system.submittedIDs
    let pollers = (0..<2).map { seed in
        Task.detached {
            var generator = SeededGenerator(seed: UInt64(seed + 1))
            var count = 0
            var busy = Duration.zero
            while !stop.withLock({ $0 }) {
                let batchStart = ContinuousClock.now
                for _ in 0..<256 {
                    let id = known[Int(generator.next() % UInt64(known.count))]
                    if progressOnly { _ = try? docket.progress(of: id) } else { _ = try? docket.status(of: id) }
                    count += 1
                }
                busy += ContinuousClock.now - batchStart
                // A poller is a task on the shared cooperative pool, as a request handler is:
                // it gives the pool's threads back between batches, or on a 2-core machine two
                // spinning pollers would hold every thread and the operations could never run.
                await Task.yield()
            }
            lookups.withLock { $0 += count }
            polling.withLock { $0 += busy }
        }
    }
    let start = ContinuousClock.now
    let cpuStart = processCPUTime()
    for index in seeded..<operations { try await system.submit(key: index % keys, index: index) }
    try await system.finish()
    let elapsed = ContinuousClock.now - start
    let cpu = processCPUTime() - cpuStart
    stop.withLock { $0 = true }
    for poller in pollers { await poller.value }
    let (ran, violations) = log.verify()
    guard ran == operations, violations == 0 else { throw WorkloadError("polling run: ran \(ran), \(violations) order violations") }
    let total = lookups.withLock { $0 }
    let busy = polling.withLock { $0 }.nanoseconds
    return PollingRun(
        nsPerOperation: elapsed.nanoseconds / Double(operations - seeded),
        lookupsPerSecond: Double(total) / (elapsed.nanoseconds / 1e9),
        pollerShare: busy / elapsed.nanoseconds,
        nsPerLookup: total == 0 ? 0 : busy / Double(total),
        processShare: cpu.nanoseconds / elapsed.nanoseconds)
}

/// The cost of one status lookup on a quiet docket holding `live` finished operations over
/// `keys` objects: `pollers` threads at once, each looking up random IDs (ns per lookup, the
/// mean of the pollers' own times). With two, the pollers take the same shards' locks in turn.
public func statusLookupCost(live: Int, keys: Int, lookups: Int, progressOnly: Bool = false, pollers: Int = 1) async throws -> Double {
    let log = OrderLog(keys: keys)
    let system = try DocketSystem(keys: keys, log: log)
    for index in 0..<live { try await system.submit(key: index % keys, index: index) }
    await system.docket.waitForIdle()
    let known = system.submittedIDs
    let docket = system.docket
    // Threads of their own, not tasks: two pollers on a two-thread pool would otherwise run
    // one after the other whenever the pool gave a thread to anything else.
    let finished = Locked<(times: [Double], hits: Int)>(([], 0))
    let each = await withCheckedContinuation { (continuation: CheckedContinuation<[Double], Never>) in
        for poller in 0..<pollers {
            Thread {
                var generator = SeededGenerator(seed: UInt64(7 + poller))
                var hits = 0
                let start = ContinuousClock.now
                for _ in 0..<lookups {
                    let id = known[Int(generator.next() % UInt64(known.count))]
                    if progressOnly {
                        if (try? docket.progress(of: id)) != nil { hits += 1 }
                    } else if (try? docket.status(of: id)) != nil {
                        hits += 1
                    }
                }
                let time = (ContinuousClock.now - start).nanoseconds / Double(lookups)
                let all = finished.withLock { finished -> [Double]? in
                    finished.times.append(time)
                    finished.hits += hits
                    return finished.times.count == pollers ? finished.times : nil
                }
                if let all { continuation.resume(returning: all) }
            }.start()
        }
    }
    let hits = finished.withLock { $0.hits }
    guard hits == lookups * pollers else { throw WorkloadError("lookups: found \(hits) of \(lookups * pollers)") }
    try await system.finish()
    return each.reduce(0, +) / Double(each.count)
}

/// Workload 4 (manual clock): `count` delayed operations with random due times; the cost of
/// scheduling and firing them, in ns per operation.
/// With `delayed == false` every operation is due at once and the rest is the same, so the
/// difference of the two runs is what scheduling and firing the timers cost.
public func delayedWithManualClock(count: Int, keys: Int, delayed: Bool = true) async throws -> Double {
    try await delayedRun(count: count, keys: keys, delayed: delayed, execution: .automatic).total
}

/// Workload 4's phases, in ns per operation.
public struct DelayedPhases: Sendable {
    public var submit: Double
    public var fire: Double
    public var run: Double
    public var take: Double

    public init(submit: Double, fire: Double, run: Double, take: Double) {
        self.submit = submit
        self.fire = fire
        self.run = run
        self.take = take
    }

    /// From the first submission to the last result taken.
    public var total: Double { submit + fire + run + take }
}

/// Workload 4 (manual clock) taken apart, in batch mode: submitting `count` operations (each
/// delayed by a random time, or not at all), advancing the clock until the timer has fired
/// every due time, running them all, and taking every result (ns/op each).
///
/// Comparing a delayed run with an undelayed one is only fair when neither overlaps running
/// with submitting: the delayed run cannot, so an automatic undelayed run would charge the
/// timers for the second core's head start and for running lines gone cold in the meantime.
/// In batch mode both build every line first and run them all after, and the difference of
/// the two is what scheduling and firing the timers cost.
///
/// Results are taken in submission order, unless `takeInDueOrder`: then in the order of the
/// due times drawn, which at one operation per object is the order a delayed run finished
/// in, and for an undelayed run (finished in submission order) a random one. The order is
/// worked out before the take phase's clock starts.
public func delayedPhases(count: Int, keys: Int, delayed: Bool, takeInDueOrder: Bool = false) async throws -> DelayedPhases {
    try await delayedRun(count: count, keys: keys, delayed: delayed, execution: .batch, takeInDueOrder: takeInDueOrder)
}

/// Workload 4's run. In automatic mode operations run as they fall due, within the fire phase,
/// and the run phase is empty.
private func delayedRun(
    count: Int, keys: Int, delayed: Bool, execution: DocketConfiguration.Execution, takeInDueOrder: Bool = false
) async throws -> DelayedPhases {
    let clock = ManualClock()
    let ran = Atomic<Int>(0)
    let definition = OperationDefinition<Int, Int>("delayed") { value, _ in
        ran.add(1, ordering: .relaxed)
        return value
    }
    var registry = OperationRegistry()
    try registry.register(definition)
    let configuration = DocketConfiguration(maxQueuedOperations: 20_000_000, execution: execution)
    let docket = try Docket(registry: registry, configuration: configuration, clock: clock)
    var generator = SeededGenerator(seed: 42)
    let names = (0..<keys).map { "object-\($0)" }
    var ids: [OperationID] = []
    ids.reserveCapacity(count)
    var dueMilliseconds: [Int64] = []
    dueMilliseconds.reserveCapacity(takeInDueOrder ? count : 0)
    let start = ContinuousClock.now
    for index in 0..<count {
        let drawn = Int64(generator.next() % 3_600_000)
        if takeInDueOrder { dueMilliseconds.append(drawn) }
        let delay = delayed ? Duration.milliseconds(drawn) : .zero
        let handle = try await docket.submit(definition, input: index, options: SubmitOptions(objectKey: names[index % keys], delay: delay))
        ids.append(handle.id)
    }
    let submitted = ContinuousClock.now
    clock.advance(by: .seconds(3600))
    // In batch mode, idle means the timer has fired and every line waits for a worker.
    await docket.waitForIdle()
    let fired = ContinuousClock.now
    if execution == .batch { _ = try await docket.runDue() }
    let finished = ContinuousClock.now
    if takeInDueOrder {
        // Ties in submission order, as the timer fires them.
        ids = ids.indices.sorted { (dueMilliseconds[$0], $0) < (dueMilliseconds[$1], $1) }.map { ids[$0] }
    }
    let takeStart = ContinuousClock.now
    for id in ids {
        guard case .finished(.success) = docket.takeResult(of: id) else { throw WorkloadError("delayed: \(id) did not succeed") }
    }
    let taken = ContinuousClock.now
    guard ran.load(ordering: .relaxed) == count else { throw WorkloadError("delayed: ran \(ran.load(ordering: .relaxed)) of \(count)") }
    let perOperation = { (duration: Duration) in duration.nanoseconds / Double(count) }
    return DelayedPhases(
        submit: perOperation(submitted - start), fire: perOperation(fired - submitted),
        run: perOperation(finished - fired), take: perOperation(taken - takeStart))
}

/// Workload 4 (real clock): delayed operations due within `window`; how late they start
/// (p50, p99 in microseconds).
public func delayLateness(count: Int, window: Duration) async throws -> (p50: Double, p99: Double) {
    let lateness = Locked<[Double]>([])
    let origin = ContinuousClock.now
    let definition = OperationDefinition<Int64, Int>("late") { dueNanos, _ in
        let now = (ContinuousClock.now - origin).nanoseconds
        lateness.withLock { $0.append((now - Double(dueNanos)) / 1000) }
        return 0
    }
    var registry = OperationRegistry()
    try registry.register(definition)
    let docket = try Docket(registry: registry)
    var generator = SeededGenerator(seed: 7)
    var ids: [OperationID] = []
    let windowNanos = UInt64(window.nanoseconds)
    for _ in 0..<count {
        let delay = Duration.nanoseconds(Int64(generator.next() % windowNanos))
        let due = (ContinuousClock.now - origin) + delay
        ids.append(try await docket.submit(definition, input: Int64(due.nanoseconds), options: SubmitOptions(delay: delay)).id)
    }
    for id in ids { _ = await docket.outcome(of: id) }
    let sorted = lateness.withLock { $0 }.sorted()
    guard sorted.count == count else { throw WorkloadError("lateness: \(sorted.count) of \(count) ran") }
    return (sorted[count / 2], sorted[min(count - 1, count * 99 / 100)])
}

/// Workload 5: 10% of objects fail once (their first operation) and are retried as soon as
/// they fail. Returns ns per operation overall and the mean time from failure to the retried
/// operation's success, in microseconds.
public func failureHeavy(operations: Int, keys: Int) async throws -> (nsPerOperation: Double, unblockMicros: Double) {
    let failedOnce = Locked<Set<Int>>([])
    let definition = OperationDefinition<DocketSystem.Step, Int>("sometimes") { step, _ in
        if step.key % 10 == 0, failedOnce.withLock({ $0.insert(step.key).inserted }) {
            throw WorkloadError("first attempt on \(step.key) fails")
        }
        return step.index
    }
    var registry = OperationRegistry()
    try registry.register(definition)
    let docket = try Docket(registry: registry, configuration: DocketConfiguration(maxQueuedOperations: 20_000_000))
    let names = (0..<keys).map { "object-\($0)" }
    var handles: [OperationHandle<Int>] = []
    handles.reserveCapacity(operations)
    let start = ContinuousClock.now
    for index in 0..<operations {
        handles.append(try await docket.submit(definition, input: DocketSystem.Step(key: index % keys, index: index), options: SubmitOptions(objectKey: names[index % keys])))
    }
    var unblockTotal = 0.0
    var unblocked = 0
    for handle in handles {
        switch await handle.outcome() {
        case .finished(.success): continue
        case .finished(.failure):
            let failedAt = ContinuousClock.now
            try await docket.retry(handle.id)
            guard case .finished(.success) = await handle.outcome() else { throw WorkloadError("retry did not succeed") }
            unblockTotal += (ContinuousClock.now - failedAt).nanoseconds / 1000
            unblocked += 1
        default:
            throw WorkloadError("unexpected outcome")
        }
    }
    let elapsed = ContinuousClock.now - start
    guard unblocked == (keys + 9) / 10 || operations < keys else { throw WorkloadError("unblocked \(unblocked) objects") }
    return (elapsed.nanoseconds / Double(operations), unblockTotal / Double(max(1, unblocked)))
}

/// The cost of drawing one operation ID (ns), from `threads` threads at once.
public func idCost(count: Int, threads: Int) async -> Double {
    let start = ContinuousClock.now
    await withTaskGroup(of: UInt64.self) { group in
        for _ in 0..<threads {
            group.addTask {
                var mix: UInt64 = 0
                for _ in 0..<count { mix ^= withUnsafeBytes(of: OperationID.random()) { $0.load(as: UInt64.self) } }
                return mix
            }
        }
        for await _ in group {}
    }
    return (ContinuousClock.now - start).nanoseconds / Double(count * threads)
}
