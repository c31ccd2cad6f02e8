import Docket
import DocketTesting
import Foundation
import MallocStats

#if canImport(Glibc)
import Glibc
#endif

/// Bytes the allocator has handed out and not taken back.
public func heapInUse() -> Int {
    Int(docket_heap_in_use())
}

/// The process's peak resident set size in bytes.
public func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return usage.ru_maxrss * 1024
}

/// The process's CPU time so far, user and system, across its threads.
public func processCPUTime() -> Duration {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    let user = Duration.seconds(usage.ru_utime.tv_sec) + .microseconds(usage.ru_utime.tv_usec)
    let system = Duration.seconds(usage.ru_stime.tv_sec) + .microseconds(usage.ru_stime.tv_usec)
    return user + system
}

/// Workload 6: heap bytes per queued operation (tracking included), per consumed-result
/// tombstone, and per operation left once the tombstone window has passed (what an idle,
/// drained object retains), with the number of live mailboxes left.
public func memoryFootprint(count: Int) async throws -> (queued: Double, tombstone: Double, afterWindow: Double, liveObjects: Int) {
    let clock = ManualClock()
    let definition = OperationDefinition<Int, Int>("memory") { value, _ in value }
    var registry = OperationRegistry()
    try registry.register(definition)
    let docket = try Docket(
        registry: registry,
        configuration: DocketConfiguration(maxQueuedOperations: 20_000_000, tombstoneLifetime: .seconds(60)),
        clock: clock)
    let names = (0..<count).map { "object-\($0)" }
    var ids: [OperationID] = []
    ids.reserveCapacity(count)
    // Queued: every operation delayed, on its own object.
    let before = heapInUse()
    for index in 0..<count {
        ids.append(try await docket.submit(definition, input: index, options: SubmitOptions(objectKey: names[index], delay: .seconds(10))).id)
    }
    let queued = Double(heapInUse() - before) / Double(count)
    // Run them; results unread, then taken: tombstones.
    clock.advance(by: .seconds(10))
    await docket.waitForIdle()
    for id in ids {
        guard case .finished(.success) = docket.takeResult(of: id) else { throw WorkloadError("memory: \(id) did not succeed") }
    }
    _ = await docket.metrics()
    let afterTaking = heapInUse()
    let idleObjects = await docket.metrics().liveObjects
    // Tombstone cost: heap after taking versus an empty docket's baseline; tombstones replace records.
    let tombstone = Double(afterTaking - before) / Double(count)
    // Tombstones go a generation at a time: within a sixteenth of the window after it.
    clock.advance(by: .seconds(60) + .seconds(60) / 16)
    _ = await docket.metrics()
    let afterWindow = Double(heapInUse() - before) / Double(count)
    return (queued, tombstone, afterWindow, idleObjects)
}

/// Heap bytes per queued operation, tracking included, with `count` delayed operations
/// spread round-robin over `objects` objects (so each object's line costs its share).
public func queuedFootprint(count: Int, objects: Int) async throws -> Double {
    let clock = ManualClock()
    let definition = OperationDefinition<Int, Int>("memory") { value, _ in value }
    var registry = OperationRegistry()
    try registry.register(definition)
    let docket = try Docket(
        registry: registry, configuration: DocketConfiguration(maxQueuedOperations: 20_000_000), clock: clock)
    let names = (0..<objects).map { "object-\($0)" }
    var ids: [OperationID] = []
    ids.reserveCapacity(count)
    let before = heapInUse()
    for index in 0..<count {
        ids.append(try await docket.submit(definition, input: index, options: SubmitOptions(objectKey: names[index % objects], delay: .seconds(10))).id)
    }
    let queued = Double(heapInUse() - before) / Double(count)
    clock.advance(by: .seconds(10))
    await docket.waitForIdle()
    for id in ids {
        guard case .finished(.success) = docket.takeResult(of: id) else { throw WorkloadError("memory: \(id) did not succeed") }
    }
    return queued
}
