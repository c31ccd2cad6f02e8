/// The tombstones of one ``Tracker`` shard: what is left of operations whose result was
/// taken, expired, or that were cancelled or deleted, for the tombstone window.
///
/// A tombstone is 32 bytes (its ID's two words, the low one with the ID's sequence number in
/// place of its code; one packed word; the expiry) with no entry in any expiry
/// heap. Tombstones all live for the same window, so they are kept in generations by burial
/// time: a generation covers at most 1/16 of the window (and at most ``generationCapacity``
/// tombstones) and is dropped whole once its last tombstone has expired. Within a
/// generation a tombstone sits where the sequence number its ID carries says
/// (``TombstoneGeneration``). A lookup checks the exact expiry, so an ID reads as unknown
/// exactly when its window ends; its memory goes at most 1/16 of a window later.
struct TombstoneTable: Sendable {
    private var generations: [TombstoneGeneration] = []
    private let lifetime: Int64
    private let span: Int64
    private let cipher: SequenceCipher

    /// - Parameters:
    ///   - lifetime: The tombstone window, in nanoseconds of the engine clock.
    ///   - cipher: How the shard's IDs carry their sequence numbers.
    init(lifetime: Int64, cipher: SequenceCipher) {
        self.lifetime = max(lifetime, 1)
        self.span = max(lifetime / 16, 1)
        self.cipher = cipher
    }

    /// How many generations (tables) are held.
    var generationCount: Int { generations.count }

    /// The slots of every generation's table (for memory checks).
    var slotCount: Int { generations.reduce(0) { $0 + $1.capacity } }

    /// How many tombstones are held, including expired ones whose generation is not yet dropped.
    var count: Int { generations.reduce(0) { $0 + $1.count } }

    /// How many tombstones sit behind their generation's direct slots.
    var countBehind: Int { generations.reduce(0) { $0 + $1.countBehind } }

    /// Buries an operation at `now` (nanoseconds); it reads as unknown from `now + lifetime`.
    mutating func bury(_ id: OperationID, _ tombstone: Tombstone, now: Int64) {
        bury(SequencedID(id, cipher: cipher), tombstone, now: now)
    }

    /// The burial of the `OperationID` overload, with the ID's sequence number known.
    mutating func bury(_ key: SequencedID, _ tombstone: Tombstone, now: Int64) {
        cipher.assertCarried(key)
        if generations.last.map({ now >= $0.opened + span }) ?? true {
            generations.append(TombstoneGeneration(opened: now))
        } else if generations[generations.count - 1].count >= Self.generationCapacity {
            // A burst filled a table within its span: the next will likely fill too, so it is
            // sized for that from the start.
            generations.append(TombstoneGeneration(opened: now, reservingFor: Self.generationCapacity))
        }
        generations[generations.count - 1].insert(key, word: tombstone.word, expires: now + lifetime)
    }

    /// The tombstone of `id`, or `nil` when there is none or it expired before `now`.
    func tombstone(_ id: OperationID, now: Int64) -> Tombstone? {
        guard !generations.isEmpty else { return nil }
        return tombstone(SequencedID(id, cipher: cipher), now: now)
    }

    /// The lookup of the `OperationID` overload, with the ID's sequence number known.
    func tombstone(_ key: SequencedID, now: Int64) -> Tombstone? {
        cipher.assertCarried(key)
        for generation in generations.reversed() {
            if let (word, expires) = generation.find(key) {
                return expires > now ? Tombstone(word: word) : nil
            }
        }
        return nil
    }

    /// Drops the generations whose every tombstone has expired.
    mutating func dropExpired(now: Int64) {
        var expired = 0
        while expired < generations.count, now >= generations[expired].opened + span + lifetime { expired += 1 }
        if expired > 0 { generations.removeFirst(expired) }
    }

    /// A generation also closes once it holds this many tombstones, so a burst of burials
    /// fills small tables that stay in cache instead of growing one that does not (and
    /// copying it as it grows); a lookup then probes a few more tables.
    static let generationCapacity = 1 << 15
}

/// What is left of an operation once its result was taken, it expired, or it was cancelled:
/// enough to answer "consumed", "cancelled" or its final state until the window ends.
///
/// Packed in one word: an occupied marker, the final state, whether the result was consumed,
/// the ordinal of the operation's definition (for its name), and a 42-bit tag of the owner
/// (IDs are unguessable, so the tag only has to tell owners of one known ID apart).
struct Tombstone: Sendable, Equatable {
    let word: UInt64

    private static let occupied: UInt64 = 1 << 63
    private static let ownerMask: UInt64 = (1 << 42) - 1

    init(word: UInt64) { self.word = word }

    init(definition: Int, owner: String?, state: OperationState, consumed: Bool) {
        word = Self.occupied | Self.tag(owner) << 21 | UInt64(definition & 0xFFFF) << 5 | (consumed ? 1 << 4 : 0) | Self.code(state)
    }

    var state: OperationState { Self.state(word & 0xF) }
    var consumed: Bool { word & (1 << 4) != 0 }
    var definition: Int { Int((word >> 5) & 0xFFFF) }

    func isOwned(by owner: String?) -> Bool { (word >> 21) & Self.ownerMask == Self.tag(owner) }

    private static func tag(_ owner: String?) -> UInt64 {
        guard let owner else { return 0 }
        return UInt64(UInt(bitPattern: owner.hashValue)) & ownerMask | 1
    }

    private static func code(_ state: OperationState) -> UInt64 {
        switch state {
        case .waiting: 0
        case .delayed: 1
        case .running: 2
        case .succeeded: 3
        case .failed: 4
        case .cancelled(.cancelled): 5
        case .cancelled(.deleted): 6
        case .cancelled(.cascade): 7
        case .cancelled(.dependencyDeleted): 8
        }
    }

    private static func state(_ code: UInt64) -> OperationState {
        switch code {
        case 0: .waiting
        case 1: .delayed
        case 2: .running
        case 3: .succeeded
        case 4: .failed
        case 5: .cancelled(.cancelled)
        case 6: .cancelled(.deleted)
        case 7: .cancelled(.cascade)
        default: .cancelled(.dependencyDeleted)
        }
    }
}
