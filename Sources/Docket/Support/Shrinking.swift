/// Giving back the memory of a collection that has drained.
///
/// Swift's arrays keep their peak capacity when elements are removed, so a burst of a million
/// operations would hold its peak memory for the life of the docket. This shrinks an array
/// once it is at most an eighth full; a shrink copies the elements left (at most an eighth of
/// the removals since the last one), so it costs O(1) amortised.
extension Array {
    mutating func shrinkIfSparse() {
        guard capacity > 1024, count < capacity / 8 else { return }
        var smaller: [Element] = []
        smaller.reserveCapacity(count * 2)
        smaller.append(contentsOf: self)
        self = smaller
    }
}
