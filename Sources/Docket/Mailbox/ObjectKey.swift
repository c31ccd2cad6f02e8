/// The identity of a line: an owner's business object, or a single independent operation.
enum ObjectKey: Hashable, Sendable, CustomStringConvertible {
    /// Object identity is (owner, key): tenants never block each other.
    case keyed(owner: String?, key: String)
    /// An operation submitted without a key runs on a line of its own.
    case independent(OperationID)

    init(owner: String?, key: String?, id: OperationID) {
        if let key { self = .keyed(owner: owner, key: key) } else { self = .independent(id) }
    }

    var description: String {
        switch self {
        case .keyed(_, let key): key
        case .independent(let id): "operation \(id)"
        }
    }
}
