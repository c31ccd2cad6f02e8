/// The supervisor's decisions, free of concurrency: which operations wait on which
/// dependencies, and which dependents go when an operation is removed. (Which objects are
/// blocked is not kept here: each mailbox knows, and the failed records say so.)
struct SupervisorStateMachine: Sendable {
    struct Dependent: Hashable, Sendable {
        let id: OperationID
        let key: ObjectKey
    }

    private var dependents: [OperationID: [Dependent]] = [:]

    init() {}

    /// How many dependencies have dependents registered (for tests).
    var dependencyCount: Int { dependents.count }

    /// `dependent` (on object `key`) waits until every one of `dependencies` succeeds.
    mutating func register(_ dependent: OperationID, on key: ObjectKey, dependencies: [OperationID]) {
        for dependency in dependencies {
            dependents[dependency, default: []].append(Dependent(id: dependent, key: key))
        }
    }

    /// `dependent`, registered on `dependencies`, was refused after all: it waits on nothing.
    mutating func unregister(_ dependent: OperationID, dependencies: [OperationID]) {
        for dependency in dependencies {
            dependents[dependency]?.removeAll { $0.id == dependent }
            if dependents[dependency]?.isEmpty == true { dependents[dependency] = nil }
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
        }
        return victims
    }
}
