/// The tracking records of one ``Tracker`` shard, keyed by operation ID.
///
/// An open-addressing hash table with linear probing. IDs are uniformly random, so an ID's
/// own bits place it (no hashing), and each slot carries the record's result expiry, so the
/// table itself is the expiry index: ``expired(limit:now:)`` walks slots round-robin and
/// reports expired results without any heap to keep in step. Each record lives in its own
/// box, so growing the table moves 40 bytes per entry and a change to a record is made in place.
///
/// A slot also keeps a ``Glance`` of its record, so that the commonest poll, state and
/// progress, reads the slot alone: in a large table the record is a cache miss of its own.
/// Whoever changes what a slot mirrors through its record's box calls ``refresh(at:from:)``
/// before unlocking; debug builds check on every read that no slot has gone stale.
struct RecordTable: Sendable {
    /// One record's storage.
    // Proof of safety: a box is reached only through its shard's table, whose every access
    // holds that shard's Mutex, and no box reference escapes a locked region.
    final class Box: @unchecked Sendable {
        #if DEBUG
        var record: TrackingRecord
        #else
        /// Release builds skip the run-time exclusivity bookkeeping on the record (a
        /// thread-local access set entered and left on every read and write, 5–8% of taking a
        /// result): other threads are kept out by the shard's lock, and overlapping accesses
        /// on one thread are still caught by the debug builds the tests run.
        @exclusivity(unchecked) var record: TrackingRecord
        #endif
        init(_ record: TrackingRecord) { self.record = record }
    }

    /// What a lookup of state and progress needs from a record, kept in its slot.
    struct Glance: Equatable, Sendable {
        /// The record's state, or `nil` when a lookup must read the record itself: the record
        /// has an owner to check, or it may read as delayed until a time only the record knows
        /// (``TrackingRecord/mayBeDelayed``).
        let state: OperationState?
        /// The record's progress, 0 to 100.
        let percent: UInt8

        init(_ record: TrackingRecord) {
            state = record.owner == nil && !record.mayBeDelayed ? record.state : nil
            percent = UInt8(clamping: record.progress)
        }

        private init(state: OperationState?, percent: UInt8) {
            self.state = state
            self.percent = percent
        }

        /// An empty slot's.
        static let empty = Glance(state: nil, percent: 0)
    }

    /// Where a record sits, valid until the table next inserts or removes.
    struct Position {
        fileprivate let index: Int
    }

    private struct Slot: Sendable {
        var high: UInt64 = 0
        var low: UInt64 = 0
        /// The record's result expiry in engine-clock nanoseconds, `Int64.max` for none.
        var expires: Int64 = .max
        /// `nil` marks an empty slot.
        var box: Box?
        var glance = Glance.empty
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
                if let (position, box) = locate(id) {
                    box.record = newValue
                    refresh(at: position, from: box)
                } else {
                    insert(newValue, for: id)
                }
            } else {
                remove(id)
            }
        }
    }

    /// Adds the record of a new operation (its ID is fresh, so nothing is replaced).
    mutating func insert(_ record: TrackingRecord, for id: OperationID) {
        if (count + 1) * 4 > slots.count * 3 { resize(to: Swift.max(16, slots.count * 2)) }
        var index = home(id)
        while slots[index].box != nil { index = next(index) }
        slots[index] = Slot(high: id.high, low: id.low, expires: record.expiresNanoseconds, box: Box(record), glance: record.glance)
        count += 1
    }

    /// The box of `id`'s record, to read the record in place while the shard is locked.
    func box(_ id: OperationID) -> Box? {
        locate(id)?.box
    }

    /// Where the record of `id` sits and its box, to change the record in place while the
    /// shard is locked and then ``refresh(at:from:)`` its slot.
    func locate(_ id: OperationID) -> (position: Position, box: Box)? {
        guard let index = find(id), let box = slots[index].box else { return nil }
        assertFresh(index)
        return (Position(index: index), box)
    }

    /// The box of `id`'s record with its result expiry (engine-clock nanoseconds,
    /// `Int64.max` for none), from one probe.
    func peek(_ id: OperationID) -> (box: Box, expires: Int64)? {
        locate(id).map { ($0.box, slots[$0.position.index].expires) }
    }

    /// The result expiry and glance of `id`'s record, from its slot alone: the box is not
    /// retained, so the record's memory is not touched.
    func glance(_ id: OperationID) -> (expires: Int64, glance: Glance)? {
        guard let index = find(id) else { return nil }
        assertFresh(index)
        return (slots[index].expires, slots[index].glance)
    }

    /// Copies what the slot keeps of its record (result expiry and glance) from the record,
    /// after the record changed through `box`, the box ``locate(_:)`` found there.
    mutating func refresh(at position: Position, from box: Box) {
        assert(slots[position.index].box === box, "A slot refreshed from another slot's box")
        // Member by member, in place: passing `box.record` whole would copy it, retaining each reference in it.
        slots[position.index].expires = box.record.expiresNanoseconds
        slots[position.index].glance = box.record.glance
    }

    /// Debug builds check that the slot agrees with its record: a change made through a box
    /// without a refresh would otherwise show up only as a wrong answer to a poll.
    private func assertFresh(_ index: Int) {
        assert(
            slots[index].box.map { slots[index].expires == $0.record.expiresNanoseconds && slots[index].glance == $0.record.glance } ?? true,
            "A record changed through its box without refreshing its slot")
    }

    /// Removes and returns the record of `id`, shrinking the table once it is mostly empty so
    /// a burst of operations does not hold its peak memory after it drains.
    mutating func removeValue(forKey id: OperationID) -> TrackingRecord? {
        removeBox(id)?.record
    }

    /// Removes the record of `id` without copying it out: a copy retains every reference in
    /// the record only to release them when the caller drops it.
    mutating func remove(_ id: OperationID) {
        _ = removeBox(id)
    }

    /// Removes the record of `id` and returns its box, shrinking the table once it is mostly empty.
    private mutating func removeBox(_ id: OperationID) -> Box? {
        guard let index = find(id), let box = slots[index].box else { return nil }
        remove(at: index)
        if slots.count > 1024, count < slots.count / 8 { resize(to: Swift.max(16, count * 4)) }
        return box
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

extension TrackingRecord {
    /// What the record's slot keeps for lookups of state and progress.
    var glance: RecordTable.Glance { RecordTable.Glance(self) }
}
