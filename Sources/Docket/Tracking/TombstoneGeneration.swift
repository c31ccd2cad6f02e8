/// The tombstones one ``TombstoneTable`` buried within one span of its window, insert-only,
/// direct-mapped by the sequence number their IDs carry.
///
/// Results are mostly taken in about the order their operations were submitted, so the
/// tombstones of one generation carry nearly consecutive numbers of their shard
/// (``Tracker/mintID()``). Each sits in the slot its number selects modulo the capacity, so
/// burials made in turn fill adjacent slots, two to a cache line, instead of a random slot
/// each, and a lookup reads one slot. A tombstone whose slot is taken goes behind, to an
/// open-addressing table hashed by the ID's random bits: one from another run of numbers
/// that meets a run already here modulo the capacity, or one whose ID this process did not
/// draw (restored from a journal), whose number reads as random here. A tombstone is behind
/// only while another holds its slot, and slots are never vacated, so a lookup that finds
/// its slot empty is done.
///
/// The direct slots grow by half when the tombstones, direct and behind, come to 7/8 of them
/// (counting only the direct ones, numbers missing at a period that divides the capacity
/// would keep it from ever growing), and the table behind grows by half when 7/8 full. With
/// numbers in turn and sparse gaps, nearly every tombstone is direct: 37 to 55 bytes each.
/// Once a generation holds 64 tombstones, it gives up its direct slots for good as soon as
/// more than an eighth of them are behind (numbers that read as random, periodic or dense
/// gaps, runs that keep meeting) and keeps every tombstone in the table behind, which holds
/// any numbers in 37 to 55 bytes each. Short of that, the direct slots (at most 12/7 of the
/// count) and at most an eighth behind come to under 64 bytes per tombstone.
struct TombstoneGeneration: Sendable {
    /// When the generation was opened, in engine-clock nanoseconds.
    let opened: Int64

    private var slots: [Slot] = []
    /// How many direct slots are taken.
    private var direct = 0
    /// Lemire's multiplier for reducing a sequence number modulo `slots.count`.
    private var reducer: UInt64 = 0
    private var behind = Probing()
    /// Whether tombstones go to their direct slots; once not, all are behind.
    private var isDirect = true

    /// An empty generation, opened at `opened`.
    init(opened: Int64) {
        self.opened = opened
    }

    /// A generation that holds `count` tombstones without growing, 7/8 full then when their
    /// numbers are consecutive.
    init(opened: Int64, reservingFor count: Int) {
        self.init(opened: opened)
        resize(to: count * 8 / 7 + 1)
    }

    /// How many tombstones are held.
    var count: Int { direct + behind.count }

    /// The slots, direct and behind (for memory checks).
    var capacity: Int { slots.count + behind.capacity }

    /// How many tombstones are behind, not in their direct slot.
    var countBehind: Int { behind.count }

    /// The packed word and expiry buried for `key`.
    func find(_ key: SequencedID) -> (word: UInt64, expires: Int64)? {
        let probe = Slot(key)
        guard !slots.isEmpty else { return behind.find(probe) }
        let slot = slots[index(key.sequence)]
        if slot.word == 0 { return nil }
        if slot.holds(probe) { return (slot.word, slot.expires) }
        return behind.find(probe)
    }

    /// Buries `key`; buried again, its tombstone is replaced.
    mutating func insert(_ key: SequencedID, word: UInt64, expires: Int64) {
        let slot = Slot(key, word: word, expires: expires)
        if isDirect, (count + 1) * 8 > slots.count * 7 { resize(to: Swift.max(16, slots.count + slots.count / 2)) }
        // A resize may have given up the direct slots.
        guard isDirect else { return behind.insert(slot) }
        place(slot, at: index(key.sequence))
        if tooManyBehind { giveUpDirectSlots() }
    }

    private mutating func place(_ slot: Slot, at index: Int) {
        if slots[index].word == 0 {
            slots[index] = slot
            direct += 1
        } else if slots[index].holds(slot) {
            slots[index] = slot
        } else {
            behind.insert(slot)
        }
    }

    /// Once 64 are held, more than an eighth of them are behind.
    private var tooManyBehind: Bool { count >= 64 && behind.count * 8 > count }

    /// Moves every direct tombstone behind, for good.
    private mutating func giveUpDirectSlots() {
        for slot in slots where slot.word != 0 { behind.insert(slot) }
        slots = []
        direct = 0
        isDirect = false
    }

    /// The slot of a sequence number: the number modulo the capacity, with two multiplications
    /// (Lemire, Kaser and Kurz, "Faster remainder by direct computation", 2019; exact for
    /// 32-bit numbers and capacities).
    private func index(_ sequence: UInt32) -> Int {
        Int(truncatingIfNeeded: (reducer &* UInt64(sequence)).multipliedFullWidth(by: UInt64(slots.count)).high)
    }

    /// Places every tombstone again in `capacity` direct slots; those that meet go behind.
    /// When too many do, all go behind, for good.
    private mutating func resize(to capacity: Int) {
        let old = slots
        let oldBehind = behind
        slots = Array(repeating: Slot(), count: capacity)
        reducer = UInt64.max / UInt64(capacity) &+ 1
        direct = 0
        behind = Probing()
        for slot in old where slot.word != 0 { place(slot, at: index(slot.sequence)) }
        oldBehind.forEach { place($0, at: index($0.sequence)) }
        if tooManyBehind { giveUpDirectSlots() }
    }

    /// A tombstone's place: its ID, its packed word, its expiry. The ID's low word is kept
    /// with its sequence number in place of the number's code
    /// (``SequenceCipher/plainLow(_:sequence:)``), which tells IDs apart as well and lets a
    /// resize place the tombstone again without deciphering.
    struct Slot: Sendable {
        var high: UInt64 = 0
        var low: UInt64 = 0
        /// ``Tombstone/word``; zero marks an empty slot (an occupied word has its top bit set).
        var word: UInt64 = 0
        var expires: Int64 = 0

        init() {}

        init(_ key: SequencedID, word: UInt64 = 0, expires: Int64 = 0) {
            high = key.id.high
            low = SequenceCipher.plainLow(key.id.low, sequence: key.sequence)
            self.word = word
            self.expires = expires
        }

        var sequence: UInt32 { SequenceCipher.sequence(inPlainLow: low) }

        /// Whether the two slots are for one ID.
        func holds(_ other: Slot) -> Bool { low == other.low && high == other.high }
    }

    /// The tombstones behind: an insert-only open-addressing table with linear probing,
    /// hashed by the ID's random top bits. Its capacity grows by half when 7/8 full.
    private struct Probing: Sendable {
        private var slots: [Slot] = []
        private(set) var count = 0

        var capacity: Int { slots.count }

        func find(_ probe: Slot) -> (word: UInt64, expires: Int64)? {
            guard !slots.isEmpty else { return nil }
            var index = home(probe)
            while slots[index].word != 0 {
                if slots[index].holds(probe) { return (slots[index].word, slots[index].expires) }
                index = index + 1 == slots.count ? 0 : index + 1
            }
            return nil
        }

        mutating func insert(_ slot: Slot) {
            if (count + 1) * 8 > slots.count * 7 { grow() }
            var index = home(slot)
            while slots[index].word != 0 {
                if slots[index].holds(slot) {
                    slots[index] = slot
                    return
                }
                index = index + 1 == slots.count ? 0 : index + 1
            }
            slots[index] = slot
            count += 1
        }

        func forEach(_ body: (Slot) -> Void) {
            for slot in slots where slot.word != 0 { body(slot) }
        }

        private mutating func grow() {
            let old = slots
            slots = Array(repeating: Slot(), count: Swift.max(16, old.count + old.count / 2))
            count = 0
            for slot in old where slot.word != 0 { insert(slot) }
        }

        /// Maps the slot's low word onto `0..<capacity` by its top bits, the ID's random ones
        /// (multiply-shift, any capacity): its sequence number and shard bits, below, are not
        /// random here.
        private func home(_ slot: Slot) -> Int {
            Int(truncatingIfNeeded: slot.low.multipliedFullWidth(by: UInt64(slots.count)).high)
        }
    }
}
