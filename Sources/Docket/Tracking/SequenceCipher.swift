/// A keyed permutation of the 26-bit sequence numbers that operation IDs carry, so that the
/// number in an ID says nothing about how many IDs its shard drew before it: two IDs of one
/// client, taken an hour apart, do not tell how busy the docket was in between.
///
/// A four-round Feistel network on two 13-bit halves, each round a keyed 64-bit mix: the
/// tracker writes a sequence number into an ID through ``id(_:carrying:)`` and reads it back
/// with ``sequence(of:)``, once per call (``SequencedID``), for the record and tombstone
/// tables to place the ID by: about 14 ns from ID to number here.
/// Keys are drawn from the secure random source for each docket.
struct SequenceCipher: Sendable {
    /// The width of a sequence number in bits.
    static let bits = 26
    /// The largest sequence number plus one.
    static let count: UInt64 = 1 << UInt64(bits)

    private static let halfBits: UInt64 = 13
    private static let halfMask: UInt64 = (1 << halfBits) - 1
    /// Where the number sits in an ID's low word: above the six bits that choose its shard.
    private static let shift: UInt64 = 6
    private static let fieldMask: UInt64 = (count - 1) << shift

    private let keys: (UInt64, UInt64, UInt64, UInt64)

    init(keys: (UInt64, UInt64, UInt64, UInt64)) {
        self.keys = keys
    }

    /// A cipher with keys from the secure random source.
    static func random() -> SequenceCipher {
        let first = OperationID.random()
        let second = OperationID.random()
        return SequenceCipher(keys: (first.high, first.low, second.high, second.low))
    }

    /// `drawn` with `sequence` (taken modulo ``count``) written into its sequence bits.
    func id(_ drawn: OperationID, carrying sequence: UInt64) -> OperationID {
        let code = encrypt(sequence & (Self.count - 1))
        return OperationID(high: drawn.high, low: drawn.low & ~Self.fieldMask | code << Self.shift)
    }

    /// The sequence number `id` carries.
    func sequence(of id: OperationID) -> UInt32 {
        UInt32(truncatingIfNeeded: decrypt((id.low & Self.fieldMask) >> Self.shift))
    }

    /// Debug builds check that a key's sequence number is the one its ID carries: a wrong
    /// one would place a record or tombstone where no lookup finds it.
    func assertCarried(_ key: SequencedID) {
        assert(key.sequence == sequence(of: key.id), "An ID with another ID's sequence number")
    }

    /// `low`, an ID's low word, with the sequence number in place of its code: a key that
    /// tells IDs apart as the ID does (the cipher is a permutation) and gives the number back
    /// through ``sequence(inPlainLow:)`` without deciphering.
    static func plainLow(_ low: UInt64, sequence: UInt32) -> UInt64 {
        low & ~fieldMask | UInt64(sequence) << shift
    }

    /// The sequence number in a ``plainLow(_:sequence:)`` key.
    static func sequence(inPlainLow low: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: (low & fieldMask) >> shift)
    }

    /// The code of a sequence number below ``count``.
    func encrypt(_ sequence: UInt64) -> UInt64 {
        var (left, right) = (sequence >> Self.halfBits, sequence & Self.halfMask)
        (left, right) = (right, left ^ Self.round(right, keys.0))
        (left, right) = (right, left ^ Self.round(right, keys.1))
        (left, right) = (right, left ^ Self.round(right, keys.2))
        (left, right) = (right, left ^ Self.round(right, keys.3))
        return left << Self.halfBits | right
    }

    /// The sequence number of a code below ``count``: the inverse of ``encrypt(_:)``.
    func decrypt(_ code: UInt64) -> UInt64 {
        var (left, right) = (code >> Self.halfBits, code & Self.halfMask)
        (left, right) = (right ^ Self.round(left, keys.3), left)
        (left, right) = (right ^ Self.round(left, keys.2), left)
        (left, right) = (right ^ Self.round(left, keys.1), left)
        (left, right) = (right ^ Self.round(left, keys.0), left)
        return left << Self.halfBits | right
    }

    /// One round's function: the half mixed with the round's key (SplitMix64's finalizer).
    private static func round(_ half: UInt64, _ key: UInt64) -> UInt64 {
        var x = half ^ key
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        return (x ^ (x >> 31)) & halfMask
    }
}
