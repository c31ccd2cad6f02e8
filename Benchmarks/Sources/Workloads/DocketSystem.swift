import Foundation
import Docket
import Synchronization

/// Docket with full tracking: every operation's status is queryable while it lives, and its
/// result is read once at the end.
public final class DocketSystem: KeyedSystem {
    public static let name = "Docket"
    public static let keepsOrder = true

    /// The input of the trivial operation: where to record that it ran.
    public struct Step: Codable, Sendable {
        public let key: Int
        public let index: Int
    }

    public let docket: Docket
    /// The trivial operation, registered with ``docket``.
    let definition: OperationDefinition<Step, Int>
    /// Each key's object key.
    let keyNames: [String]
    private let ids = Mutex<[OperationID]>([])

    public convenience init(keys: Int, log: OrderLog) throws {
        try self.init(keys: keys, log: log, workerPriority: nil)
    }

    /// With `workerPriority`, the docket's workers run at that priority (see
    /// ``DocketConfiguration/workerPriority``); with `maxConcurrentOperations`, at most that
    /// many run at once (the configuration's default otherwise).
    public init(keys: Int, log: OrderLog, workerPriority: TaskPriority?, maxConcurrentOperations: Int? = nil) throws {
        definition = Self.definition(log: log)
        var registry = OperationRegistry()
        try registry.register(definition)
        var configuration = DocketConfiguration(maxQueuedOperations: 20_000_000, workerPriority: workerPriority)
        if let maxConcurrentOperations { configuration.maxConcurrentOperations = maxConcurrentOperations }
        docket = try Docket(registry: registry, configuration: configuration)
        keyNames = (0..<keys).map { "object-\($0)" }
    }

    static func definition(log: OrderLog) -> OperationDefinition<Step, Int> {
        OperationDefinition<Step, Int>("trivial") { step, _ in
            log.ran(key: step.key, index: step.index)
            return step.index
        }
    }

    public func submit(key: Int, index: Int) async throws {
        let handle = try await docket.submit(definition, input: Step(key: key, index: index), options: SubmitOptions(objectKey: keyNames[key]))
        ids.withLock { $0.append(handle.id) }
    }

    /// The IDs submitted so far (for pollers).
    public var submittedIDs: [OperationID] { ids.withLock { $0 } }

    public func finish() async throws {
        for id in ids.withLock({ $0 }) {
            switch await docket.outcome(of: id) {
            case .finished(.success): continue
            default: throw WorkloadError("operation \(id) did not succeed")
            }
        }
    }
}

/// Docket's keyed throughput taken apart, in batch mode so the phases do not overlap:
/// submitting every operation, running them all, and taking every result (ns/op each).
public func keyedPhases(operations: Int, keys: Int) async throws -> (submit: Double, run: Double, take: Double) {
    let log = OrderLog(keys: keys)
    let definition = DocketSystem.definition(log: log)
    var registry = OperationRegistry()
    try registry.register(definition)
    let docket = try Docket(registry: registry, configuration: DocketConfiguration(maxQueuedOperations: 20_000_000, execution: .batch))
    let names = (0..<keys).map { "object-\($0)" }
    var ids: [OperationID] = []
    ids.reserveCapacity(operations)
    let start = ContinuousClock.now
    for index in 0..<operations {
        let key = index % keys
        ids.append(try await docket.submit(definition, input: DocketSystem.Step(key: key, index: index), options: SubmitOptions(objectKey: names[key])).id)
    }
    let submitted = ContinuousClock.now
    let report = try await docket.runDue()
    let ran = ContinuousClock.now
    for id in ids {
        guard case .finished(.success) = docket.takeResult(of: id) else { throw WorkloadError("phases: \(id) did not succeed") }
    }
    let taken = ContinuousClock.now
    guard report.succeeded == operations, log.verify() == (operations, 0) else { throw WorkloadError("phases: ran \(report.succeeded) of \(operations)") }
    let perOperation = { (duration: Duration) in duration.nanoseconds / Double(operations) }
    return (perOperation(submitted - start), perOperation(ran - submitted), perOperation(taken - ran))
}

/// Docket as ``DocketSystem`` runs it, with its workers at `.utility` priority: the setting
/// for a server whose request handlers share the cooperative pool with the docket.
public final class UtilityDocketSystem: KeyedSystem {
    public static let name = "Docket (workers at .utility)"
    public static let keepsOrder = true
    private let system: DocketSystem

    public init(keys: Int, log: OrderLog) throws {
        system = try DocketSystem(keys: keys, log: log, workerPriority: .utility)
    }

    public func submit(key: Int, index: Int) async throws { try await system.submit(key: key, index: index) }

    public func finish() async throws { try await system.finish() }
}

/// Docket as ``DocketSystem`` runs it, with at most as many operations running at once as
/// the machine has cores: the setting for bodies that compute rather than wait, where more
/// workers than cores only take turns on the same threads.
public final class CoreBoundDocketSystem: KeyedSystem {
    public static let name = "Docket (workers at the core count)"
    public static let keepsOrder = true
    private let system: DocketSystem

    public init(keys: Int, log: OrderLog) throws {
        system = try DocketSystem(keys: keys, log: log, workerPriority: nil, maxConcurrentOperations: ProcessInfo.processInfo.activeProcessorCount)
    }

    public func submit(key: Int, index: Int) async throws { try await system.submit(key: key, index: index) }

    public func finish() async throws { try await system.finish() }
}
