/// The tracking records of one ``Tracker`` shard, keyed by operation ID.
///
/// Direct-mapped by the sequence number an ID carries: the tracker draws each ID with the
/// next number of its shard (``Tracker/mintID()``, enciphered by ``SequenceCipher``), and a
/// record sits in the slot that number selects, so records submitted in turn sit side by
/// side and an object's line, run and taken in order, walks its shard's slots in order
/// instead of missing the cache at every step. A lookup reads one slot. A record whose slot
/// another one claims moves to a ``ProbingTable`` behind: an older record when a newer one
/// comes to its slot (a result left unread while the numbers came round), or either one
/// when an ID this process did not draw (one restored from a journal, whose number reads
/// as random here) meets another's slot.
///
/// Each slot carries the record's result expiry, so the table itself is the expiry index:
/// ``expired(limit:now:)`` walks slots round-robin and reports expired results without any
/// heap to keep in step. Each record lives in its own box, so growing the table moves 40
/// bytes per entry and a change to a record is made in place.
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
        /// A read-once success's output, kept here rather than in the record's side box: most
        /// operations succeed, and that box was an allocation by the worker that ran the
        /// operation, freed by whoever took its result. Not in the record itself either: an
        /// existential makes a structure address-only, and every read of a record through its
        /// box then copies it whole through its value witnesses. A kept result (read many
        /// times) keeps its whole payload in the side box instead (``keep(_:)``).
        #if DEBUG
        var output: (any Sendable)?
        #else
        @exclusivity(unchecked) var output: (any Sendable)?
        #endif

        /// A box for `record`, with its `success` when it has succeeded (one restored from a journal).
        init(_ record: TrackingRecord, success: OperationPayload? = nil) {
            self.record = record
            if let success { keep(success) }
        }

        /// Keeps a success: a read-once result's output here, to be rebuilt into its payload
        /// when it is read once; a kept result's whole payload in the record's side box, so
        /// that the status polls that read it again and again do not cast and rebuild it.
        func keep(_ success: OperationPayload) {
            if case .keep = record.retention {
                record.keptSuccess = success
            } else {
                output = success.value
            }
        }

        /// The outcome: the success's payload, or the record's failure.
        var outcome: TrackingRecord.Outcome? {
            if let output { return .success(record.definition.payload(output)) }
            if let kept = record.keptSuccess { return .success(kept) }
            return record.failure.map(TrackingRecord.Outcome.failure)
        }

        /// Moves a read-once success's output out, leaving none: for a record about to be
        /// removed, whose output would otherwise be copied and then destroyed with it. Any
        /// other outcome is read in place.
        func takeOutcome() -> TrackingRecord.Outcome? {
            if let output = output.take() { return .success(record.definition.payload(output)) }
            return outcome
        }
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
        /// In the probing table behind, rather than the direct slots.
        fileprivate let isBehind: Bool
    }

    /// One record's place: its ID, box, result expiry and glance, and the sequence number
    /// the ID carries (in what would be padding), so a resize places it without deciphering;
    /// an empty slot has no box.
    struct Slot: Sendable {
        var high: UInt64 = 0
        var low: UInt64 = 0
        /// The record's result expiry in engine-clock nanoseconds, `Int64.max` for none.
        var expires: Int64 = .max
        /// `nil` marks an empty slot.
        var box: Box?
        var glance = Glance.empty
        var sequence: UInt32 = 0

        var id: OperationID { OperationID(high: high, low: low) }

        func holds(_ id: OperationID) -> Bool { low == id.low && high == id.high }

        /// The slot's ID and its number if it holds a record whose result expired by `now` (nanoseconds).
        func expiredKey(now: Int64) -> SequencedID? { box != nil && expires <= now ? SequencedID(id, sequence: sequence) : nil }

        /// The slot's ID and a copy of its record, if it holds one.
        var entry: (key: OperationID, value: TrackingRecord)? { box.map { (key: id, value: $0.record) } }
    }

    /// The direct slots: none, or a power of two of them.
    private var slots: [Slot] = []
    /// The number of records in the direct slots.
    private var direct = 0
    /// The records that are not in their direct slot.
    private var behind = ProbingTable()
    /// Where the next sweep starts, counting the direct slots first, then the probing table's.
    private var cursor = 0

    /// How IDs carry their sequence numbers.
    private let cipher: SequenceCipher

    /// The most direct slots a shard keeps: the sequence numbers an ID carries go this far.
    static let maximumDirectCapacity = Int(SequenceCipher.count)

    init(cipher: SequenceCipher) {
        self.cipher = cipher
    }

    /// The number of records.
    var count: Int { direct + behind.count }

    /// The number of slots, direct and behind (for sizing a full sweep).
    var capacity: Int { slots.count + behind.capacity }

    /// The number of records kept behind, not in their direct slot.
    var countBehind: Int { behind.count }

    /// The direct slot of the sequence number an ID carries; the table has slots.
    private func directIndex(sequence: UInt32) -> Int {
        Int(truncatingIfNeeded: sequence) & (slots.count - 1)
    }

    /// `id` with the sequence number it carries, deciphered.
    private func sequenced(_ id: OperationID) -> SequencedID { SequencedID(id, cipher: cipher) }

    /// A copy of the record of `key`; assigning replaces it in place, assigning `nil` removes it.
    subscript(key: SequencedID) -> TrackingRecord? {
        get { box(key)?.record }
        set {
            if let newValue {
                if let (position, box) = locate(key) {
                    box.record = newValue
                    refresh(at: position, from: box)
                } else {
                    insert(newValue, for: key)
                }
            } else {
                remove(key)
            }
        }
    }

    /// A copy of the record of `id`; assigning replaces it in place, assigning `nil` removes it.
    subscript(id: OperationID) -> TrackingRecord? {
        get { box(id)?.record }
        set { self[sequenced(id)] = newValue }
    }

    /// Adds the record of a new operation (its ID is fresh, so nothing is replaced).
    mutating func insert(_ record: TrackingRecord, for id: OperationID, success: OperationPayload? = nil) {
        insert(record, for: sequenced(id), success: success)
    }

    /// The insert of the `OperationID` overload, with the ID's sequence number known.
    /// `success` is the payload of a record that has succeeded (one restored from a journal).
    mutating func insert(_ record: TrackingRecord, for key: SequencedID, success: OperationPayload? = nil) {
        cipher.assertCarried(key)
        if (count + 1) * 4 > slots.count * 3, slots.count < Self.maximumDirectCapacity {
            resize(to: Swift.max(16, slots.count * 2))
        }
        let id = key.id
        let index = directIndex(sequence: key.sequence)
        if slots[index].box != nil {
            // The older record goes behind: the newer is the one its line reaches next.
            var older = Slot()
            swap(&older, &slots[index])
            behind.insert(&older)
            direct -= 1
        }
        slots[index] = Slot(
            high: id.high, low: id.low, expires: record.expiresNanoseconds, box: Box(record, success: success), glance: record.glance, sequence: key.sequence)
        direct += 1
    }

    /// The box of `id`'s record, to read the record in place while the shard is locked.
    func box(_ id: OperationID) -> Box? {
        box(sequenced(id))
    }

    /// The box of `key`'s record, to read the record in place while the shard is locked; a
    /// change to what the slot mirrors (``Glance``, the result expiry) must
    /// ``refresh(at:from:)`` it, which needs ``locate(_:)``.
    func box(_ key: SequencedID) -> Box? {
        locate(key)?.box
    }

    /// Where the record of `key` sits and its box, to change the record in place while the
    /// shard is locked and then ``refresh(at:from:)`` its slot.
    func locate(_ key: SequencedID) -> (position: Position, box: Box)? {
        guard let position = find(key), let box = box(at: position) else { return nil }
        assertFresh(position)
        return (position, box)
    }

    /// The box of `key`'s record with its result expiry (engine-clock nanoseconds,
    /// `Int64.max` for none), from one probe.
    func peek(_ key: SequencedID) -> (box: Box, expires: Int64)? {
        locate(key).map { ($0.box, kept(at: $0.position).expires) }
    }

    /// The result expiry and glance of `id`'s record, from its slot alone: the box is not
    /// retained, so the record's memory is not touched.
    func glance(_ id: OperationID) -> (expires: Int64, glance: Glance)? {
        glance(sequenced(id))
    }

    /// The glance of the `OperationID` overload, with the sequence number the ID carries
    /// deciphered by the caller (before it locks the shard, so the lock is held for less time).
    func glance(_ key: SequencedID) -> (expires: Int64, glance: Glance)? {
        guard let position = find(key) else { return nil }
        assertFresh(position)
        return kept(at: position)
    }

    /// Copies what the slot keeps of its record (result expiry and glance) from the record,
    /// after the record changed through `box`, the box ``locate(_:)`` found there.
    mutating func refresh(at position: Position, from box: Box) {
        assert(self.box(at: position) === box, "A slot refreshed from another slot's box")
        // Member by member, in place: passing `box.record` whole would copy it, retaining each reference in it.
        let (expires, glance) = (box.record.expiresNanoseconds, box.record.glance)
        if position.isBehind {
            behind.keep(at: position.index, expires: expires, glance: glance)
        } else {
            slots[position.index].expires = expires
            slots[position.index].glance = glance
        }
    }

    /// Debug builds check that the slot agrees with its record: a change made through a box
    /// without a refresh would otherwise show up only as a wrong answer to a poll.
    private func assertFresh(_ position: Position) {
        assert(
            box(at: position).map { kept(at: position) == ($0.record.expiresNanoseconds, $0.record.glance) } ?? true,
            "A record changed through its box without refreshing its slot")
    }

    /// Removes and returns the record of `key`, shrinking the table once it is mostly empty
    /// so a burst of operations does not hold its peak memory after it drains.
    mutating func removeValue(forKey key: SequencedID) -> TrackingRecord? {
        removeBox(key)?.record
    }

    /// Removes the record of `key` without copying it out: a copy retains every reference in
    /// the record only to release them when the caller drops it.
    mutating func remove(_ key: SequencedID) {
        _ = removeBox(key)
    }

    /// Removes the record of `key` and returns its box, shrinking the table once it is mostly empty.
    private mutating func removeBox(_ key: SequencedID) -> Box? {
        guard let position = find(key) else { return nil }
        let box: Box?
        if position.isBehind {
            box = behind.remove(at: position.index)
        } else {
            // Swapped out, not copied: no retain of the box to release straight away.
            var removed = Slot()
            swap(&removed, &slots[position.index])
            direct -= 1
            box = removed.box
        }
        if slots.count > 1024, count < slots.count / 8 {
            resize(to: Swift.max(16, Self.powerOfTwo(atLeast: count * 4)))
        }
        return box
    }

    /// Every record with its ID, in no particular order.
    var entries: some Sequence<(key: OperationID, value: TrackingRecord)> {
        [AnySequence(slots.lazy.compactMap(\.entry)), AnySequence(behind.entries)].joined()
    }

    /// Walks up to `limit` slots from where the last sweep stopped and returns the IDs, with
    /// their numbers, whose result expired by `now` (nanoseconds). A full pass takes
    /// `capacity / limit` sweeps.
    mutating func expired(limit: Int, now: Int64) -> [SequencedID] {
        let capacity = capacity
        guard capacity > 0 else { return [] }
        var found: [SequencedID] = []
        for _ in 0..<Swift.min(limit, capacity) {
            if cursor >= capacity { cursor = 0 }
            if let id = cursor < slots.count ? slots[cursor].expiredKey(now: now) : behind.expiredKey(at: cursor - slots.count, now: now) {
                found.append(id)
            }
            cursor += 1
        }
        return found
    }

    // MARK: Slots

    private func box(at position: Position) -> Box? {
        position.isBehind ? behind.box(at: position.index) : slots[position.index].box
    }

    private func kept(at position: Position) -> (expires: Int64, glance: Glance) {
        position.isBehind ? behind.kept(at: position.index) : (slots[position.index].expires, slots[position.index].glance)
    }

    /// Where `key`'s record sits.
    private func find(_ key: SequencedID) -> Position? {
        cipher.assertCarried(key)
        if !slots.isEmpty {
            let index = directIndex(sequence: key.sequence)
            if slots[index].box != nil, slots[index].holds(key.id) { return Position(index: index, isBehind: false) }
        }
        if behind.count > 0, let index = behind.find(key.id) { return Position(index: index, isBehind: true) }
        return nil
    }

    private static func powerOfTwo(atLeast count: Int) -> Int {
        count <= 1 ? 1 : 1 << (Int.bitWidth - (count - 1).leadingZeroBitCount)
    }

    /// Moves the direct slots to a table of `capacity` (a power of two). Growing, the records
    /// behind whose direct slot is free come back to it; shrinking, a record whose slot another
    /// one took goes behind.
    private mutating func resize(to capacity: Int) {
        var old = [Slot](count: capacity) { Slot() }
        swap(&old, &slots)
        cursor = 0
        direct = 0
        var returning = capacity > old.count ? behind.removeAll() : []
        // Entries are moved, not copied, so no box is retained or released (a cache miss apiece).
        for position in old.indices where old[position].box != nil { place(&old[position]) }
        for position in returning.indices { place(&returning[position]) }
    }

    /// Puts a moved record in its direct slot if that is free, else behind.
    private mutating func place(_ slot: inout Slot) {
        let index = directIndex(sequence: slot.sequence)
        if slots[index].box == nil {
            swap(&slots[index], &slot)
            direct += 1
        } else {
            behind.insert(&slot)
        }
    }
}

extension TrackingRecord {
    /// What the record's slot keeps for lookups of state and progress.
    var glance: RecordTable.Glance { RecordTable.Glance(self) }
}
