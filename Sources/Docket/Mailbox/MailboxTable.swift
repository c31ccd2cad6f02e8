/// One ``MailboxDirectory`` shard's live mailboxes, found by the hash of their object key.
///
/// Open addressing with linear probing over slots of a hash and a reference (16 bytes),
/// indexed by the hash's top bits (the directory chose the shard by its low bits); a
/// removal shifts the probe run after it back, so no deleted markers pile up. The key's hash
/// is computed once per submission (``MailboxDirectory/Key``), so a lookup hashes nothing
/// and compares a key's strings only when two hashes are equal. The table doubles at 3/4
/// full and halves below 1/8, down to 16 slots.
struct MailboxTable<Value: AnyObject> {
    private struct Slot {
        var hash = 0
        /// `nil` marks an empty slot.
        var value: Value?
    }

    private var slots: [Slot] = []
    /// The hash's width minus the log2 of the capacity: the shift that takes its top bits.
    private var shift = UInt.bitWidth
    /// How many values are held.
    private(set) var count = 0

    init() {}

    /// The number of slots (for memory checks).
    var capacity: Int { slots.count }

    /// The value with `hash` for which `matches` holds.
    func find(hash: Int, where matches: (Value) -> Bool) -> Value? {
        guard !slots.isEmpty else { return nil }
        var index = home(hash)
        while let value = slots[index].value {
            if slots[index].hash == hash && matches(value) { return value }
            index = (index + 1) & (slots.count - 1)
        }
        return nil
    }

    /// Removes every value and returns them, leaving the table empty.
    mutating func removeAll() -> [Value] {
        let values = slots.compactMap(\.value)
        self = MailboxTable()
        return values
    }

    /// Adds `value` under `hash`; the caller knows no equal key is held.
    mutating func insert(_ value: Value, hash: Int) {
        if (count + 1) * 4 > slots.count * 3 { resize(to: Swift.max(16, slots.count * 2)) }
        place(Slot(hash: hash, value: value))
        count += 1
    }

    /// Removes this very `value`, held under `hash`; returns whether it was held.
    @discardableResult
    mutating func remove(_ value: Value, hash: Int) -> Bool {
        guard !slots.isEmpty else { return false }
        var index = home(hash)
        while let held = slots[index].value {
            if held === value {
                vacate(index)
                count -= 1
                if slots.count > 16, count * 8 < slots.count { resize(to: slots.count / 2) }
                return true
            }
            index = (index + 1) & (slots.count - 1)
        }
        return false
    }

    private func home(_ hash: Int) -> Int {
        // A shift of the whole width (no slots) is never asked: every caller checks for slots first.
        Int(bitPattern: UInt(bitPattern: hash) >> UInt(shift))
    }

    /// The mean distance of the values from their home slots (for tests).
    var meanDisplacement: Double {
        guard count > 0 else { return 0 }
        var total = 0
        for (index, slot) in slots.enumerated() where slot.value != nil { total += (index - home(slot.hash)) & (slots.count - 1) }
        return Double(total) / Double(count)
    }

    private mutating func place(_ slot: Slot) {
        var index = home(slot.hash)
        while slots[index].value != nil { index = (index + 1) & (slots.count - 1) }
        slots[index] = slot
    }

    /// Empties the slot at `index` and shifts back each later entry of its probe run whose
    /// home does not lie in the cyclic range after the hole up to the entry itself.
    private mutating func vacate(_ index: Int) {
        let mask = slots.count - 1
        slots[index] = Slot()
        var hole = index
        var next = (index + 1) & mask
        while slots[next].value != nil {
            let home = home(slots[next].hash)
            if (next - home) & mask >= (next - hole) & mask {
                slots.swapAt(hole, next)
                hole = next
            }
            next = (next + 1) & mask
        }
    }

    private mutating func resize(to capacity: Int) {
        let old = slots
        slots = [Slot](count: capacity) { Slot() }
        shift = UInt.bitWidth - capacity.trailingZeroBitCount
        for slot in old where slot.value != nil { place(slot) }
    }
}
