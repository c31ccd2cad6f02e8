/// The records of a ``RecordTable`` that do not sit in their direct slot: an open-addressing
/// hash table with linear probing and backward-shift deletion.
///
/// A record comes here when a newer one claims its direct slot, or when its ID was not drawn
/// by this process's shards (one restored from a journal collides only by chance). IDs carry
/// random bits apart from their sequence, so those bits place an entry here and nothing is
/// hashed. It grows at 3/4 full and gives its capacity back once it is mostly empty.
struct ProbingTable: Sendable {
    private var slots: [RecordTable.Slot] = []
    /// The number of records.
    private(set) var count = 0

    init() {}

    /// The number of slots.
    var capacity: Int { slots.count }

    /// The box in the slot at `index` (a position ``find(_:)`` gave).
    func box(at index: Int) -> RecordTable.Box? { slots[index].box }

    /// The result expiry and glance kept in the slot at `index`.
    func kept(at index: Int) -> (expires: Int64, glance: RecordTable.Glance) { (slots[index].expires, slots[index].glance) }

    /// Sets the result expiry and glance kept in the slot at `index`.
    mutating func keep(at index: Int, expires: Int64, glance: RecordTable.Glance) {
        slots[index].expires = expires
        slots[index].glance = glance
    }

    /// The ID and its number in the slot at `index` if it holds a record whose result expired by `now`.
    func expiredKey(at index: Int, now: Int64) -> SequencedID? {
        slots[index].expiredKey(now: now)
    }

    /// Where the record of `id` sits.
    func find(_ id: OperationID) -> Int? {
        guard !slots.isEmpty else { return nil }
        var index = home(id)
        while slots[index].box != nil {
            if slots[index].holds(id) { return index }
            index = next(index)
        }
        return nil
    }

    /// Adds a record that is not in the table, moved from `slot`, which is left empty.
    mutating func insert(_ slot: inout RecordTable.Slot) {
        if (count + 1) * 4 > slots.count * 3 { resize(to: Swift.max(16, slots.count * 2)) }
        var index = home(slot.id)
        while slots[index].box != nil { index = next(index) }
        // Swapped into the empty slot, not copied: a copy would retain the box and release it again.
        swap(&slots[index], &slot)
        count += 1
    }

    /// Empties the slot at `index` and returns its box, shrinking the table once it is mostly
    /// empty so a burst does not hold its peak memory after it drains.
    mutating func remove(at removed: Int) -> RecordTable.Box? {
        let box = slots[removed].box
        var hole = removed
        var index = next(hole)
        // Entries are swapped, not copied: a copy would retain and release each moved entry's
        // box, a cache miss apiece. The removed entry travels to the last hole and is dropped there.
        slots.withUnsafeMutableBufferPointer { slots in
            while slots[index].box != nil {
                let home = Self.home(slots[index].id, slots.count)
                // The entry may fill the hole when its home is not strictly between hole and index (cyclically).
                let homeBetween = hole <= index ? (hole < home && home <= index) : (hole < home || home <= index)
                if !homeBetween {
                    slots.swapAt(hole, index)
                    hole = index
                }
                index = Self.next(index, slots.count)
            }
        }
        slots[hole] = RecordTable.Slot()
        count -= 1
        if slots.count > 1024, count < slots.count / 8 { resize(to: Swift.max(16, count * 4)) }
        return box
    }

    /// Moves every record out, leaving the table empty.
    mutating func removeAll() -> [RecordTable.Slot] {
        var old: [RecordTable.Slot] = []
        swap(&old, &slots)
        var records: [RecordTable.Slot] = []
        records.reserveCapacity(count)
        count = 0
        // Swapped out of the old slots, not copied: no box is retained or released.
        for index in old.indices where old[index].box != nil {
            var slot = RecordTable.Slot()
            swap(&slot, &old[index])
            records.append(slot)
        }
        return records
    }

    /// Every record with its ID, in no particular order.
    var entries: some Sequence<(key: OperationID, value: TrackingRecord)> {
        slots.lazy.compactMap(\.entry)
    }

    // MARK: Probing

    /// The ID's random high bits mapped onto the slots (multiply-shift, any capacity).
    private func home(_ id: OperationID) -> Int { Self.home(id, slots.count) }

    private static func home(_ id: OperationID, _ capacity: Int) -> Int {
        Int(truncatingIfNeeded: id.low.multipliedFullWidth(by: UInt64(capacity)).high)
    }

    private func next(_ index: Int) -> Int { Self.next(index, slots.count) }

    private static func next(_ index: Int, _ capacity: Int) -> Int { index + 1 == capacity ? 0 : index + 1 }

    private mutating func resize(to capacity: Int) {
        var old = [RecordTable.Slot](count: capacity) { RecordTable.Slot() }
        swap(&old, &slots)
        // Entries are moved, not copied, so no box is retained or released (a cache miss apiece).
        count = slots.withUnsafeMutableBufferPointer { slots in
            var count = 0
            old.withUnsafeMutableBufferPointer { old in
                for position in old.indices where old[position].box != nil {
                    var index = Self.home(old[position].id, slots.count)
                    while slots[index].box != nil { index = Self.next(index, slots.count) }
                    swap(&slots[index], &old[position])
                    count += 1
                }
            }
            return count
        }
    }
}
