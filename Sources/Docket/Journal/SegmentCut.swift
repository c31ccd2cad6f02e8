/// A point in a ``SegmentLog`` made by ``SegmentLog/rotate()``: every record appended before the
/// cut is in segment ``segment`` or an earlier one, and every record appended after it is in a
/// later segment.
///
/// Hand it back to ``SegmentLog/replace(through:with:)`` to replace everything before the cut
/// with a snapshot.
struct SegmentCut: Sendable, Hashable {
    /// The last segment that holds records appended before the cut.
    let segment: UInt64
    /// The ticket the cut took in the log's sequence: once it is durable, the writer has finished
    /// with every segment up to ``segment`` and will not write to them again.
    let ticket: UInt64
}
