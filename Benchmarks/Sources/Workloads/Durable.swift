import Docket
import Foundation
import Synchronization

/// Where a durable-mode run keeps its operations.
public enum DurableStore: String, CaseIterable, Hashable, Sendable {
    /// No store: the in-memory docket, the reference.
    case memory
    /// The file journal with group commit: one `fsync` shared by concurrent records.
    case groupCommit
    /// The file journal with one `fsync` per record: the baseline group commit must beat.
    case perRecord
}

/// Durable submit → complete: `submitters` concurrent clients, each on its own object, each
/// running operations one after another with `perform` (submit, run, take the result) for
/// `duration`. Returns operations per second and the `fsync`s per operation.
///
/// Every operation writes four records (submitted, started, succeeded, consumed) and waits
/// twice for durability: before its non-idempotent body runs (which covers its submission)
/// and before its result is handed out. An idempotent body skips the first wait.
public func durableThroughput(
    store kind: DurableStore, submitters: Int, duration: Duration, idempotent: Bool = false
) async throws -> (perSecond: Double, syncsPerOperation: Double) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("docket-bench-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    let definition = OperationDefinition<Int, Int>("echo", idempotent: idempotent) { value, _ in value }
    var registry = OperationRegistry()
    try registry.register(definition)
    let configuration = DocketConfiguration(maxConcurrentOperations: submitters)
    let journal: FileJournal?
    let docket: Docket
    switch kind {
    case .memory:
        journal = nil
        docket = try Docket(registry: registry, configuration: configuration)
    case .groupCommit, .perRecord:
        let opened = try FileJournal(directory: directory, durability: kind == .groupCommit ? .groupCommit : .perRecord)
        journal = opened
        docket = try await Docket(registry: registry, configuration: configuration, store: opened)
    }
    let clock = ContinuousClock()
    let deadline = clock.now + duration
    let start = clock.now
    let completed = try await withThrowingTaskGroup(of: Int.self) { group in
        for submitter in 0..<submitters {
            group.addTask {
                let options = SubmitOptions(objectKey: "client-\(submitter)")
                var count = 0
                while clock.now < deadline {
                    let output = try await docket.perform(definition, input: count, options: options)
                    guard output == count else { throw WorkloadError("client \(submitter) got \(output) for \(count)") }
                    count += 1
                }
                return count
            }
        }
        return try await group.reduce(0, +)
    }
    let elapsed = start.duration(to: clock.now)
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let syncs = journal?.syncCount ?? 0
    _ = await docket.shutdown(gracePeriod: .seconds(1))
    return (Double(completed) / seconds, Double(syncs) / Double(max(completed, 1)))
}

/// Journal bytes per queued operation and the time to reopen a docket on a journal holding
/// `count` live (delayed) operations over `count / 10` objects: the records are written
/// without `fsync` (the files are the same), then the docket is closed and opened again.
public func durableRecovery(count: Int) async throws -> (bytesPerOperation: Double, recovery: Duration, restored: Int) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("docket-recovery-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    let definition = OperationDefinition<DocketSystem.Step, Int>("trivial") { step, _ in step.index }
    var registry = OperationRegistry()
    try registry.register(definition)
    let configuration = DocketConfiguration(maxQueuedOperations: count + 1)
    let journal = try FileJournal(directory: directory, durability: .none, compactionThreshold: Int.max / 4)
    let docket = try await Docket(registry: registry, configuration: configuration, store: journal)
    let keys = (0..<max(1, count / 10)).map { "object-\($0)" }
    for index in 0..<count {
        _ = try await docket.submit(
            definition, input: DocketSystem.Step(key: index % keys.count, index: index),
            options: SubmitOptions(objectKey: keys[index % keys.count], delay: .seconds(3600)))
    }
    try await journal.close()
    let bytes = journal.byteCount
    let clock = ContinuousClock()
    let start = clock.now
    let reopened = try FileJournal(directory: directory, durability: .none, compactionThreshold: Int.max / 4)
    let restored = try await Docket(registry: registry, configuration: configuration, store: reopened)
    let recovery = start.duration(to: clock.now)
    let queued = restored.recovery.queued
    _ = await restored.shutdown(gracePeriod: .zero)
    _ = await docket.shutdown(gracePeriod: .zero)
    return (Double(bytes) / Double(count), recovery, queued)
}
