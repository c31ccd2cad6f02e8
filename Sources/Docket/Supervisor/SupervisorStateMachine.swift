/// The supervisor's decisions, free of concurrency: which objects are blocked by which
/// failed operation, and which operations wait on which dependencies.
struct SupervisorStateMachine: Sendable {
    struct Dependent: Hashable, Sendable {
        let id: OperationID
        let key: ObjectKey
    }

    private(set) var blocked: [ObjectKey: OperationID] = [:]
    private var dependents: [OperationID: [Dependent]] = [:]

    init() {}

    mutating func objectBlocked(_ key: ObjectKey, by id: OperationID) {
        blocked[key] = id
    }

    /// The object's failed operation was retried or deleted.
    mutating func objectUnblocked(_ key: ObjectKey, by id: OperationID) {
        if blocked[key] == id { blocked[key] = nil }
    }

    /// `dependent` (on object `key`) waits until every one of `dependencies` succeeds.
    mutating func register(_ dependent: OperationID, on key: ObjectKey, dependencies: [OperationID]) {
        for dependency in dependencies {
            dependents[dependency, default: []].append(Dependent(id: dependent, key: key))
        }
    }

    /// A dependency succeeded: the objects whose heads may now run.
    mutating func dependencySucceeded(_ id: OperationID) -> [ObjectKey] {
        guard let waiting = dependents.removeValue(forKey: id) else { return [] }
        var seen = Set<ObjectKey>()
        return waiting.map(\.key).filter { seen.insert($0).inserted }
    }

    /// Operations were deleted or cancelled: the dependents to cancel with them.
    mutating func operationsRemoved(_ ids: [OperationID]) -> [Dependent] {
        var victims: [Dependent] = []
        for id in ids {
            victims += dependents.removeValue(forKey: id) ?? []
            for (key, failed) in blocked where failed == id { blocked[key] = nil }
        }
        return victims
    }
}
