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
    private let definition: OperationDefinition<Step, Int>
    private let keyNames: [String]
    private let ids = Mutex<[OperationID]>([])

    public init(keys: Int, log: OrderLog) throws {
        definition = Self.definition(log: log)
        var registry = OperationRegistry()
        try registry.register(definition)
        docket = try Docket(registry: registry, configuration: DocketConfiguration(maxQueuedOperations: 20_000_000))
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
