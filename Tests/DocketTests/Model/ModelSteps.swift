import Docket

extension SplitMix64 {
    /// `true` with probability `percent` / 100.
    mutating func chance(_ percent: Int) -> Bool {
        Int.random(in: 0..<100, using: &self) < percent
    }
}

/// One step of a model-based sequence. Operations are named by their submission index.
enum ModelStep: Hashable, Sendable, CustomStringConvertible {
    case submit(owner: String?, object: String?, delay: Int, key: String?, kind: ReferenceModel.Kind)
    /// The running body of the operation returns.
    case succeed(Int)
    /// The running body of the operation throws.
    case fail(Int)
    case retry(Int, owner: String?)
    case delete([Int], owner: String?, followers: FollowerPolicy?)
    case cancel(Int, owner: String?)
    case advance(seconds: Int)
    case take(Int, owner: String?)
    /// Takes the result of an ID nobody submitted.
    case takeUnknown
    /// Crash now and open a new docket on a copy of the store's records.
    case restart

    /// The step's kind, for tallies.
    var kind: String {
        switch self {
        case .submit: "submit"
        case .succeed: "succeed"
        case .fail: "fail"
        case .retry: "retry"
        case .delete: "delete"
        case .cancel: "cancel"
        case .advance: "advance"
        case .take: "take"
        case .takeUnknown: "takeUnknown"
        case .restart: "restart"
        }
    }

    var description: String {
        func who(_ owner: String?) -> String { owner.map { " as \($0)" } ?? "" }
        switch self {
        case let .submit(owner, object, delay, key, kind):
            return "submit #\(kind.rawValue) on \(object ?? "-")\(who(owner)) delay \(delay)s\(key.map { " key \($0)" } ?? "")"
        case .succeed(let index): return "succeed op\(index)"
        case .fail(let index): return "fail op\(index)"
        case let .retry(index, owner): return "retry op\(index)\(who(owner))"
        case let .delete(indices, owner, followers):
            return "delete \(indices.map { "op\($0)" }.joined(separator: ","))\(who(owner)) followers \(followers.map(\.rawValue) ?? "nil")"
        case let .cancel(index, owner): return "cancel op\(index)\(who(owner))"
        case .advance(let seconds): return "advance \(seconds)s"
        case let .take(index, owner): return "take op\(index)\(who(owner))"
        case .takeUnknown: return "take unknown id"
        case .restart: return "restart"
        }
    }
}

/// Chooses the next step from the model's state, so most steps act on an operation in the
/// state they need (a failed one to retry, a running one to release) and some do not, to
/// exercise the refusals.
enum StepChooser {
    static let owners: [String?] = [nil, "acme"]
    static let objects: [String?] = ["a", "b", "c", nil]

    static func next(_ model: ReferenceModel, _ rng: inout SplitMix64) -> ModelStep {
        let ops = model.ops
        let running = ops.indices.filter { ops[$0].phase == .running }
        let failed = ops.indices.filter { ops[$0].phase == .failed }
        let queued = ops.indices.filter { ops[$0].phase == .queued }
        let finished = ops.indices.filter { ops[$0].phase == .succeeded || ops[$0].phase == .failed }
        let roll = Int.random(in: 0..<100, using: &rng)
        switch roll {
        case 0..<28:
            break
        case 28..<42 where !running.isEmpty:
            return .succeed(running.randomElement(using: &rng)!)
        case 42..<52 where !running.isEmpty:
            return .fail(running.randomElement(using: &rng)!)
        case 52..<59 where !ops.isEmpty:
            let index = !failed.isEmpty && rng.chance(80) ? failed.randomElement(using: &rng)! : any(ops.count, &rng)
            return .retry(index, owner: owner(of: index, model, &rng))
        case 59..<70 where !ops.isEmpty:
            let deletable = failed + queued
            let first: Int
            if !failed.isEmpty && rng.chance(50) {
                first = failed.randomElement(using: &rng)!
            } else {
                first = !deletable.isEmpty && rng.chance(75) ? deletable.randomElement(using: &rng)! : any(ops.count, &rng)
            }
            var indices = [first]
            if rng.chance(30) {
                let sameLine = model.line(of: first).filter { $0 != first }
                for _ in 0..<Int.random(in: 1...2, using: &rng) {
                    if !sameLine.isEmpty && rng.chance(60) {
                        indices.append(sameLine.randomElement(using: &rng)!)
                    } else {
                        indices.append((deletable.isEmpty ? Array(ops.indices) : deletable).randomElement(using: &rng)!)
                    }
                }
            }
            let followers: FollowerPolicy? = [nil, .keep, .cascade].randomElement(using: &rng)!
            return .delete(indices, owner: owner(of: first, model, &rng), followers: followers)
        case 70..<77 where !ops.isEmpty:
            let targets = queued + running
            let index = !targets.isEmpty && rng.chance(80) ? targets.randomElement(using: &rng)! : any(ops.count, &rng)
            return .cancel(index, owner: owner(of: index, model, &rng))
        case 77..<86:
            return .advance(seconds: Int.random(in: 1...6, using: &rng))
        case 86..<95 where !ops.isEmpty:
            let index = !finished.isEmpty && rng.chance(70) ? finished.randomElement(using: &rng)! : any(ops.count, &rng)
            return .take(index, owner: owner(of: index, model, &rng))
        case 95..<96:
            return .takeUnknown
        case 96..<100:
            return .restart
        default:
            break
        }
        let delay = rng.chance(30) ? Int.random(in: 1...8, using: &rng) : 0
        let key = rng.chance(15) ? ["k1", "k2"].randomElement(using: &rng)! : nil
        let kind: ReferenceModel.Kind = rng.chance(25) ? .idempotent : .plain
        return .submit(
            owner: owners.randomElement(using: &rng)!, object: objects.randomElement(using: &rng)!,
            delay: delay, key: key, kind: kind)
    }

    private static func any(_ count: Int, _ rng: inout SplitMix64) -> Int {
        Int.random(in: 0..<count, using: &rng)
    }

    /// The operation's own owner, or now and then the other one (who must see "not found").
    private static func owner(of index: Int, _ model: ReferenceModel, _ rng: inout SplitMix64) -> String? {
        let own = model.ops[index].owner
        guard rng.chance(6) else { return own }
        return own == nil ? "acme" : nil
    }
}
