/// The tracking records of one ``Tracker`` shard, keyed by operation ID.
///
/// An open-addressing hash table with linear probing. IDs are uniformly random, so an ID's
/// own bits place it (no hashing), and each slot carries the record's result expiry, so the
/// table itself is the expiry index: ``sweep(from:limit:now:)`` walks slots round-robin and
/// reports expired results without any heap to keep in step. Each record lives in its own
/// box, so growing the table moves 32 bytes per entry and a change to a record is made in place.
struct RecordTable: Sendable {
    /// One record's storage.
    // Proof of safety: a box is reached only through its shard's table, whose every access
    // holds that shard's Mutex, and no box reference escapes a locked region.
    final class Box: @unchecked Sendable {
        var record: TrackingRecord
        init(_ record: TrackingRecord) { self.record = record }
    }

    private struct Slot: Sendable {
        var high: UInt64 = 0
        var low: UInt64 = 0
        /// The record's result expiry in engine-clock nanoseconds, `Int64.max` for none.
        var expires: Int64 = .max
        /// `nil` marks an empty slot.
        var box: Box?
    }

    private var slots: [Slot] = []
    /// The number of records.
    private(set) var count = 0
    /// Where the next sweep starts.
    private var cursor = 0

    init() {}

    /// A copy of the record of `id`; assigning replaces it in place, assigning `nil` removes it.
    subscript(id: OperationID) -> TrackingRecord? {
        get { box(id)?.record }
        set {
            if let newValue {
                if let box = box(id) { box.record = newValue } else { insert(newValue, for: id) }
            } else {
                removeValue(forKey: id)
            }
        }
    }

    /// Adds the record of a new operation (its ID is fresh, so nothing is replaced).
    mutating func insert(_ record: TrackingRecord, for id: OperationID) {
        if (count + 1) * 4 > slots.count * 3 { resize(to: Swift.max(16, slots.count * 2)) }
        var index = home(id)
        while slots[index].box != nil { index = next(index) }
        slots[index] = Slot(high: id.high, low: id.low, expires: record.expires?.nanoseconds ?? .max, box: Box(record))
        count += 1
    }

    /// The box of `id`'s record, to change the record in place while the shard is locked.
    func box(_ id: OperationID) -> Box? {
        guard let index = find(id) else { return nil }
        return slots[index].box
    }

    /// Records when the result of `id` expires (after the record's `expires` changed).
    mutating func noteExpiry(of id: OperationID, _ expires: Duration?) {
        guard let index = find(id) else { return }
        slots[index].expires = expires?.nanoseconds ?? .max
    }

    /// Removes and returns the record of `id`, shrinking the table once it is mostly empty so
    /// a burst of operations does not hold its peak memory after it drains.
    @discardableResult
    mutating func removeValue(forKey id: OperationID) -> TrackingRecord? {
        guard let index = find(id), let box = slots[index].box else { return nil }
        remove(at: index)
        if slots.count > 1024, count < slots.count / 8 { resize(to: Swift.max(16, count * 4)) }
        return box.record
    }

    /// Every record with its ID, in no particular order.
    var entries: some Sequence<(key: OperationID, value: TrackingRecord)> {
        slots.lazy.compactMap { slot in slot.box.map { (key: OperationID(high: slot.high, low: slot.low), value: $0.record) } }
    }

    /// Walks up to `limit` slots from where the last sweep stopped and returns the IDs whose
    /// result expired by `now` (nanoseconds). A full pass takes `capacity / limit` sweeps.
    mutating func expired(limit: Int, now: Int64) -> [OperationID] {
        guard !slots.isEmpty else { return [] }
        var found: [OperationID] = []
        for _ in 0..<Swift.min(limit, slots.count) {
            if cursor >= slots.count { cursor = 0 }
            if slots[cursor].box != nil, slots[cursor].expires <= now {
                found.append(OperationID(high: slots[cursor].high, low: slots[cursor].low))
            }
            cursor += 1
        }
        return found
    }

    /// The number of slots (for sizing a full sweep).
    var capacity: Int { slots.count }

    // MARK: Probing

    /// The ID's random low word mapped onto the slots (multiply-shift, any capacity).
    private func home(_ id: OperationID) -> Int { Self.home(id, slots.count) }

    private static func home(_ id: OperationID, _ capacity: Int) -> Int {
        Int(truncatingIfNeeded: id.low.multipliedFullWidth(by: UInt64(capacity)).high)
    }

    private func next(_ index: Int) -> Int { Self.next(index, slots.count) }

    private static func next(_ index: Int, _ capacity: Int) -> Int { index + 1 == capacity ? 0 : index + 1 }

    private func find(_ id: OperationID) -> Int? {
        guard !slots.isEmpty else { return nil }
        var index = home(id)
        while slots[index].box != nil {
            if slots[index].low == id.low && slots[index].high == id.high { return index }
            index = next(index)
        }
        return nil
    }

    /// Empties a slot and shifts later entries of its probe run back, so every entry stays
    /// reachable from its home without tombstone markers.
    private mutating func remove(at removed: Int) {
        var hole = removed
        var index = next(hole)
        // Entries are swapped, not copied: a copy would retain and release each moved entry's
        // box, a cache miss apiece. The removed entry travels to the last hole and is dropped there.
        slots.withUnsafeMutableBufferPointer { slots in
            while slots[index].box != nil {
                let home = Self.home(OperationID(high: slots[index].high, low: slots[index].low), slots.count)
                // The entry may fill the hole when its home is not strictly between hole and index (cyclically).
                let homeBetween = hole <= index ? (hole < home && home <= index) : (hole < home || home <= index)
                if !homeBetween {
                    slots.swapAt(hole, index)
                    hole = index
                }
                index = Self.next(index, slots.count)
            }
        }
        slots[hole] = Slot()
        count -= 1
    }

    private mutating func resize(to capacity: Int) {
        var old = Array(repeating: Slot(), count: capacity)
        swap(&old, &slots)
        cursor = 0
        // Entries are moved, not copied, so no box is retained or released (a cache miss apiece).
        count = slots.withUnsafeMutableBufferPointer { slots in
            var count = 0
            old.withUnsafeMutableBufferPointer { old in
                for position in old.indices where old[position].box != nil {
                    var index = Self.home(OperationID(high: old[position].high, low: old[position].low), slots.count)
                    while slots[index].box != nil { index = Self.next(index, slots.count) }
                    swap(&slots[index], &old[position])
                    count += 1
                }
            }
            return count
        }
    }
}
