/// Per-key progress of a workload: each key's slot holds the index of the last operation
/// that ran on it, so every system can prove it ran everything, in per-key order.
public final class OrderLog: @unchecked Sendable {
    // Proof of safety: slot `k` is read and written only by the serial executor of key `k`
    // (its queue, actor or Docket line), and read by others only after all work completed.
    private let slots: UnsafeMutableBufferPointer<Int>
    private let violationCount: UnsafeMutableBufferPointer<Int>
    private let ranCount: UnsafeMutableBufferPointer<Int>

    public init(keys: Int) {
        slots = .allocate(capacity: keys)
        slots.initialize(repeating: -1)
        violationCount = .allocate(capacity: keys)
        violationCount.initialize(repeating: 0)
        ranCount = .allocate(capacity: keys)
        ranCount.initialize(repeating: 0)
    }

    deinit {
        slots.deallocate()
        violationCount.deallocate()
        ranCount.deallocate()
    }

    /// Records that operation `index` (the n-th submitted on its key, counting all keys) ran on `key`.
    @inline(__always)
    public func ran(key: Int, index: Int) {
        if index <= slots[key] { violationCount[key] += 1 }
        slots[key] = index
        ranCount[key] += 1
    }

    /// How many operations ran, and how many ran before an earlier one on their key.
    public func verify() -> (ran: Int, violations: Int) {
        (ranCount.reduce(0, +), violationCount.reduce(0, +))
    }
}
