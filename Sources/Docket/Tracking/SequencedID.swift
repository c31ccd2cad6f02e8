/// An operation ID with the sequence number it carries, deciphered once.
///
/// The record and tombstone tables place an ID by that number (``RecordTable``,
/// ``TombstoneGeneration``), and deciphering it is a chain of eight multiplications, about
/// 14 ns here. One call on the tracker reaches a shard's tables several times (a result
/// taken is found, removed and buried), and a submission knows the number it was drawn
/// with, so the number travels with the ID instead of being deciphered at each step.
struct SequencedID: Sendable, Hashable {
    let id: OperationID
    /// The sequence number `id` carries: below ``SequenceCipher/count``.
    let sequence: UInt32

    /// An ID whose number the caller already has (the one it was drawn with).
    init(_ id: OperationID, sequence: UInt32) {
        self.id = id
        self.sequence = sequence
    }

    /// An ID with its number deciphered by `cipher`.
    init(_ id: OperationID, cipher: SequenceCipher) {
        self.init(id, sequence: cipher.sequence(of: id))
    }
}
