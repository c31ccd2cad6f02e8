/// The decisions of the timer, free of concurrency: one heap of due times, and at most
/// one armed sleep, for the earliest of them.
struct TimerStateMachine<Target: Sendable>: Sendable {
    struct Item: Sendable {
        let due: Duration
        let sequence: UInt64
        let target: Target
    }

    /// What one firing took from the heap. As a sequence it is in due order (ties in
    /// scheduling order); the timer instead moves each item out with ``popNext()``, which
    /// takes it from the end of storage kept in reverse: copying an item out would retain
    /// its target, a cache miss on a cold mailbox before the wake itself touches it.
    struct Fired: Sequence, Sendable {
        /// The items, the latest due first.
        private var stack: [Item]

        fileprivate init(latestFirst stack: [Item]) { self.stack = stack }

        var count: Int { stack.count }
        var isEmpty: Bool { stack.isEmpty }

        /// Moves out the earliest item left, as its due time and target.
        mutating func popNext() -> (due: Duration, target: Target)? {
            guard let item = stack.popLast() else { return nil }
            return (item.due, item.target)
        }

        func makeIterator() -> ReversedCollection<[Item]>.Iterator { stack.reversed().makeIterator() }
    }

    /// A heap entry: plain values only, so moving one while the heap is reordered touches no
    /// reference count (a target's mailbox, with a million of them, would be a cache miss per
    /// level). The target waits in `targets` at `slot`.
    private struct Key: Comparable, Sendable {
        /// The due time in attoseconds: exact, and compared inline where `Duration`'s
        /// operators are calls (a heap pop or a sort of a million keys makes many).
        let due: Int128
        let sequence: UInt64
        var slot: Int

        init(due: Duration, sequence: UInt64, slot: Int) {
            self.due = due.attoseconds
            self.sequence = sequence
            self.slot = slot
        }

        var dueTime: Duration { Duration(attoseconds: due) }

        static func < (lhs: Key, rhs: Key) -> Bool {
            lhs.due < rhs.due || (lhs.due == rhs.due && lhs.sequence < rhs.sequence)
        }

        static func == (lhs: Key, rhs: Key) -> Bool {
            lhs.due == rhs.due && lhs.sequence == rhs.sequence
        }
    }

    private var heap = BinaryHeap<Key>()
    /// The scheduled targets, by slot; `nil` marks a free slot, listed in `freeSlots`.
    private var targets: [Target?] = []
    private var freeSlots: [Int] = []
    private var nextSequence: UInt64 = 0
    /// The due time the single sleep is armed for, if any.
    private(set) var armed: Duration?

    init() {}

    var count: Int { heap.count }
    /// The slots held for targets, free ones included (for memory checks).
    var slotCount: Int { targets.count }
    var earliest: Duration? { heap.min?.dueTime }

    /// Adds a due time. Returns a due time to (re-)arm the sleep for exactly when the
    /// earliest due time moves; it is then the new earliest.
    mutating func schedule(_ target: Target, at due: Duration) -> Duration? {
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            targets[slot] = target
        } else {
            slot = targets.count
            targets.append(target)
        }
        heap.insert(Key(due: due, sequence: nextSequence, slot: slot))
        nextSequence += 1
        if let armed, armed <= due { return nil }
        armed = due
        return due
    }

    /// The armed sleep ended at `now`. Returns what is due, in due order (ties in scheduling
    /// order), and the due time to arm the next sleep for.
    mutating func fire(now: Duration) -> (due: Fired, rearm: Duration?) {
        let limit = now.attoseconds
        let keys = heap.popMin { $0.due <= limit }
        var due: [Item] = []
        due.reserveCapacity(keys.count)
        for key in keys.reversed() {
            // Moved out, not copied: no retain of a target that is likely cold in memory.
            guard let target = targets[key.slot].take() else { preconditionFailure("a scheduled slot holds its target") }
            freeSlots.append(key.slot)
            due.append(Item(due: key.dueTime, sequence: key.sequence, target: target))
        }
        if heap.isEmpty {
            // Nothing is scheduled: a burst's slots are given back.
            targets = []
            freeSlots = []
        } else if targets.count > 1024, heap.count < targets.count / 8 {
            compactSlots()
        }
        armed = heap.min?.dueTime
        return (Fired(latestFirst: due), armed)
    }

    /// Renumbers the slots of what is still scheduled from zero and gives the rest back, so a
    /// burst's slots do not stay held behind a few long-lived entries. O(n), at most once per
    /// seven-eighths of the slots freed: amortised O(1). Slots do not take part in the heap's
    /// order, so the heap is rewritten in place.
    private mutating func compactSlots() {
        var compacted: [Target?] = []
        compacted.reserveCapacity(heap.count * 2)
        let targets = targets
        heap.updateEach { key in
            compacted.append(targets[key.slot])
            key.slot = compacted.count - 1
        }
        self.targets = compacted
        freeSlots = []
    }
}
