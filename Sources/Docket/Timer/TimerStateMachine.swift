/// The decisions of the timer, free of concurrency: one heap of due times, and at most
/// one armed sleep, for the earliest of them.
struct TimerStateMachine<Target: Sendable>: Sendable {
    struct Item: Comparable, Sendable {
        let due: Duration
        let sequence: UInt64
        let target: Target

        static func < (lhs: Item, rhs: Item) -> Bool {
            (lhs.due, lhs.sequence) < (rhs.due, rhs.sequence)
        }

        static func == (lhs: Item, rhs: Item) -> Bool {
            lhs.due == rhs.due && lhs.sequence == rhs.sequence
        }
    }

    private var heap = BinaryHeap<Item>()
    private var nextSequence: UInt64 = 0
    /// The due time the single sleep is armed for, if any.
    private(set) var armed: Duration?

    init() {}

    var count: Int { heap.count }
    var earliest: Duration? { heap.min?.due }

    /// Adds a due time. Returns a due time to (re-)arm the sleep for, when it moves earlier.
    mutating func schedule(_ target: Target, at due: Duration) -> Duration? {
        heap.insert(Item(due: due, sequence: nextSequence, target: target))
        nextSequence += 1
        if let armed, armed <= due { return nil }
        armed = due
        return due
    }

    /// The armed sleep ended at `now`. Returns what is due, in due order (ties in scheduling
    /// order), and the due time to arm the next sleep for.
    mutating func fire(now: Duration) -> (due: [Item], rearm: Duration?) {
        let due = heap.popMin { $0.due <= now }
        armed = heap.min?.due
        return (due, armed)
    }
}
