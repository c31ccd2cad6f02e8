/// How many operations a worker runs on a lone busy line before it gives its thread back
/// to the cooperative pool, paced by how long the operations take.
///
/// Bodies that never suspend would keep the server's other tasks (request handlers, the
/// docket's own callers) off the pool's threads for as long as a backlog lasted, so a worker
/// yields its thread now and then (see ``WorkerPool``). What the other tasks wait for is
/// time, not a count of operations: on a lone line a worker yields after about ``slice`` of
/// running, and never after fewer than ``minimum`` operations (the budget it keeps to when
/// several lines are busy) or more than ``maximum``. Each yield costs the pool a thread
/// wake-up; with trivial bodies, yielding every 32 of them cost a lone line about a tenth
/// of its CPU time.
///
/// A worker starts at the minimum and measures each stretch between two yields: its pace
/// follows its latest stretch. Time a body spent suspended counts as running, which only
/// makes the worker yield sooner.
struct YieldPacing: Sendable {
    /// The fewest operations between two yields.
    static let minimum = 32
    /// The most operations between two yields.
    static let maximum = 1024
    /// About how long a worker runs before it yields, in nanoseconds.
    static let slice: Int64 = 200_000

    /// The operations to run before the next yield.
    private(set) var operations = Self.minimum

    /// A stretch between two yields ran `count` operations in `nanoseconds`: the next stretch
    /// runs as many as fit in ``slice`` at that pace, within the bounds.
    mutating func measured(_ count: Int, in nanoseconds: Int64) {
        guard count > 0 else { return }
        let perOperation = Swift.max(1, nanoseconds / Int64(count))
        operations = Int(Swift.min(Int64(Self.maximum), Swift.max(Int64(Self.minimum), Self.slice / perOperation)))
    }
}
