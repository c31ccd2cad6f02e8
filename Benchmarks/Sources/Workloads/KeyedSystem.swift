/// A way to run trivial operations per key: Docket or one of the baselines.
public protocol KeyedSystem: Sendable {
    /// The name in result tables.
    static var name: String { get }
    /// Whether it keeps per-key order (the Task-per-operation actor does not).
    static var keepsOrder: Bool { get }
    init(keys: Int, log: OrderLog) async throws
    /// Submits operation `index` on `key`.
    func submit(key: Int, index: Int) async throws
    /// Waits until every submitted operation has run (and, for Docket, reads every result once).
    func finish() async throws
}

/// Runs `operations` trivial operations round-robin over `keys` keys; returns nanoseconds per
/// operation from the first submit to the last completion, after checking every one ran in order.
public func keyedThroughput<System: KeyedSystem>(_ system: System.Type, operations: Int, keys: Int) async throws -> Double {
    let log = OrderLog(keys: keys)
    let instance = try await System(keys: keys, log: log)
    let start = ContinuousClock.now
    for index in 0..<operations {
        try await instance.submit(key: index % keys, index: index)
    }
    try await instance.finish()
    let elapsed = ContinuousClock.now - start
    let (ran, violations) = log.verify()
    guard ran == operations else { throw WorkloadError("\(System.name) ran \(ran) of \(operations) operations") }
    if System.keepsOrder && violations > 0 { throw WorkloadError("\(System.name) broke per-key order \(violations) times") }
    return elapsed.nanoseconds / Double(operations)
}

/// A workload that could not verify what it measured.
public struct WorkloadError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension Duration {
    /// The duration in nanoseconds.
    public var nanoseconds: Double {
        Double(components.seconds) * 1e9 + Double(components.attoseconds) / 1e9
    }
}
