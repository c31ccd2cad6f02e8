/// The tracking records of one ``Tracker`` shard, keyed by operation ID.
///
/// Each record lives in its own small box and the hash table holds only the ID and a
/// reference, so growing the table moves 24 bytes per entry instead of a whole record, and a
/// change to a record is made in place instead of copying it out and back.
struct RecordTable: Sendable {
    /// One record's storage.
    // Proof of safety: a box is reached only through its shard's table, whose every access
    // holds that shard's Mutex, and no box reference escapes a locked region.
    final class Box: @unchecked Sendable {
        var record: TrackingRecord
        init(_ record: TrackingRecord) { self.record = record }
    }

    private var storage: [OperationID: Box] = [:]

    /// The number of records.
    var count: Int { storage.count }

    /// A copy of the record of `id`; assigning replaces it in place, assigning `nil` removes it.
    subscript(id: OperationID) -> TrackingRecord? {
        get { storage[id]?.record }
        set {
            if let newValue {
                if let box = storage[id] { box.record = newValue } else { storage[id] = Box(newValue) }
            } else {
                removeValue(forKey: id)
            }
        }
    }

    /// Adds the record of a new operation (its ID is fresh, so nothing is replaced).
    mutating func insert(_ record: TrackingRecord, for id: OperationID) {
        storage[id] = Box(record)
    }

    /// The box of `id`'s record, to change the record in place while the shard is locked.
    func box(_ id: OperationID) -> Box? { storage[id] }

    /// Removes and returns the record of `id`, shrinking the table once it is mostly empty so
    /// a burst of operations does not hold its peak memory after it drains.
    @discardableResult
    mutating func removeValue(forKey id: OperationID) -> TrackingRecord? {
        guard let box = storage.removeValue(forKey: id) else { return nil }
        storage.shrinkIfSparse()
        return box.record
    }

    /// Every record with its ID, in no particular order.
    var entries: some Sequence<(key: OperationID, value: TrackingRecord)> {
        storage.lazy.map { (key: $0.key, value: $0.value.record) }
    }
}
