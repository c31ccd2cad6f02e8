import Docket

/// A client on an actor of its own, as a server's request handler often is: it submits
/// operations round-robin over its objects and then awaits each outcome, every call made
/// from the actor's executor. What Docket costs such a caller per operation, hops included.
public actor ActorClient {
    /// The docket, its operation and its object keys, set up as workload 1's Docket is.
    private let system: DocketSystem
    private let log: OrderLog

    public init(keys: Int) throws {
        log = OrderLog(keys: keys)
        system = try DocketSystem(keys: keys, log: log)
    }

    /// Submits `operations` operations and awaits every outcome; returns ns per operation.
    public func run(operations: Int) async throws -> Double {
        var ids: [OperationID] = []
        ids.reserveCapacity(operations)
        let start = ContinuousClock.now
        let (docket, definition, keyNames) = (system.docket, system.definition, system.keyNames)
        for index in 0..<operations {
            let key = index % keyNames.count
            let options = SubmitOptions(objectKey: keyNames[key])
            ids.append(try await docket.submit(definition, input: DocketSystem.Step(key: key, index: index), options: options).id)
        }
        for id in ids {
            guard case .finished(.success) = await docket.outcome(of: id) else { throw WorkloadError("operation \(id) did not succeed") }
        }
        let elapsed = ContinuousClock.now - start
        let (ran, violations) = log.verify()
        guard ran == operations, violations == 0 else {
            throw WorkloadError("from an actor: \(ran) of \(operations) operations ran, \(violations) out of order")
        }
        return elapsed.nanoseconds / Double(operations)
    }
}
