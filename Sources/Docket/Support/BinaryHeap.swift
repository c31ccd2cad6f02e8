/// A binary min-heap ordered by the elements' `<`.
struct BinaryHeap<Element: Comparable> {
    private(set) var elements: [Element] = []

    init() {}

    var isEmpty: Bool { elements.isEmpty }
    var count: Int { elements.count }
    var min: Element? { elements.first }

    mutating func insert(_ element: Element) {
        elements.append(element)
        // Through the buffer, comparisons borrow and swaps move: no reference counting per level.
        elements.withUnsafeMutableBufferPointer { buffer in
            var child = buffer.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard buffer[child] < buffer[parent] else { break }
                buffer.swapAt(child, parent)
                child = parent
            }
        }
    }

    @discardableResult
    mutating func popMin() -> Element? {
        guard !elements.isEmpty else { return nil }
        elements.swapAt(0, elements.count - 1)
        let minimum = elements.removeLast()
        elements.shrinkIfSparse()
        siftDown(from: 0)
        return minimum
    }

    /// Removes the minimum elements while `predicate` holds for the minimum, and returns them
    /// in order. `predicate` must hold for a prefix of the elements in order (a threshold,
    /// such as "due by now"). The minimum is inspected in place: a copy would retain the
    /// references it holds, touching memory the caller may never need.
    ///
    /// Each pop walks the heap's depth, a cache miss per level once the heap outgrows the
    /// cache. When the prefix is long, the rest is taken in one sweep instead: partitioned
    /// out, sorted, and the remainder rebuilt as a heap, in sequential passes over the whole
    /// heap. The sweep is chosen once the pops so far (checked at `bulkThreshold` and each
    /// doubling) cost as much as it would, so a short prefix never pays for the whole heap
    /// and a long one pays at most twice.
    mutating func popMin(while predicate: (Element) -> Bool, bulkThreshold: Int = 1024) -> [Element] {
        var popped: [Element] = []
        var checkpoint = bulkThreshold
        while !elements.isEmpty, elements.withUnsafeBufferPointer({ predicate($0[0]) }) {
            if popped.count == checkpoint {
                let depth = Int.bitWidth - elements.count.leadingZeroBitCount
                if popped.count * depth >= elements.count {
                    popped.append(contentsOf: removeAllSorted(where: predicate))
                    break
                }
                checkpoint *= 2
            }
            elements.swapAt(0, elements.count - 1)
            popped.append(elements.removeLast())
            siftDown(from: 0)
        }
        elements.shrinkIfSparse()
        return popped
    }

    /// Removes every element matching `predicate` and returns them in order: O(n + k log k)
    /// for k matches, in sequential passes.
    private mutating func removeAllSorted(where predicate: (Element) -> Bool) -> [Element] {
        let firstKept = elements.partition { !predicate($0) }
        var matched = Array(elements[..<firstKept])
        elements.removeSubrange(..<firstKept)
        matched.sort()
        heapify()
        return matched
    }

    /// Changes every element in place, in no particular order. `body` must not change how
    /// elements compare: the heap is not reordered.
    mutating func updateEach(_ body: (inout Element) -> Void) {
        elements.withUnsafeMutableBufferPointer { buffer in
            for index in buffer.indices { body(&buffer[index]) }
        }
    }

    /// Removes every element matching `predicate` and restores heap order, in O(n).
    mutating func removeAll(where predicate: (Element) -> Bool) {
        elements.removeAll(where: predicate)
        elements.shrinkIfSparse()
        heapify()
    }

    /// Restores heap order over all elements, bottom up, in O(n).
    private mutating func heapify() {
        for index in stride(from: elements.count / 2 - 1, through: 0, by: -1) { siftDown(from: index) }
    }

    private mutating func siftDown(from index: Int) {
        elements.withUnsafeMutableBufferPointer { buffer in
            var parent = index
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < buffer.count, buffer[left] < buffer[smallest] { smallest = left }
                if right < buffer.count, buffer[right] < buffer[smallest] { smallest = right }
                guard smallest != parent else { break }
                buffer.swapAt(parent, smallest)
                parent = smallest
            }
        }
    }
}

extension BinaryHeap: Sendable where Element: Sendable {}
