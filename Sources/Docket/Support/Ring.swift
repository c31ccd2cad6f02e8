/// A growable FIFO ring buffer: O(1) append, pop from the front and push to the front.
///
/// The standard library has no deque and the package takes no dependencies, so the
/// per-object line and the ready queue use this small one.
struct Ring<Element> {
    private var storage: [Element?] = []
    private var head = 0
    private(set) var count = 0

    init() {}

    var isEmpty: Bool { count == 0 }

    var first: Element? {
        count == 0 ? nil : storage[head]
    }

    /// The element `offset` places behind the front. Reading a field of it, or changing one
    /// in place, touches only that field: the element is neither copied out nor written back.
    subscript(offset: Int) -> Element {
        _read { yield storage[physical(offset)]! }
        _modify { yield &storage[physical(offset)]! }
    }

    mutating func append(_ element: Element) {
        growIfFull()
        storage[physical(count)] = element
        count += 1
    }

    mutating func prepend(_ element: Element) {
        growIfFull()
        head = (head - 1 + storage.count) % storage.count
        storage[head] = element
        count += 1
    }

    @discardableResult
    mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let element = storage[head].take()
        head = (head + 1) % storage.count
        count -= 1
        if count == 0 {
            head = 0
            // A drained ring gives back a large buffer (a burst's peak), keeping small ones for reuse.
            if storage.count > 1024 { storage = [] }
        }
        return element
    }

    /// Removes every element matching `predicate`, keeping the order of the rest, and returns the removed ones in order.
    mutating func removeAll(where predicate: (Element) -> Bool) -> [Element] {
        var kept = Ring()
        var removed: [Element] = []
        while let element = popFirst() {
            if predicate(element) { removed.append(element) } else { kept.append(element) }
        }
        self = kept
        return removed
    }

    func firstIndex(where predicate: (Element) -> Bool) -> Int? {
        for offset in 0..<count where predicate(self[offset]) { return offset }
        return nil
    }

    private func physical(_ offset: Int) -> Int {
        (head + offset) % storage.count
    }

    private mutating func growIfFull() {
        guard count == storage.count else { return }
        // Most lines hold one or two operations: start with room for one and double.
        var grown = [Element?](repeating: nil, count: Swift.max(1, storage.count * 2))
        for offset in 0..<count { grown[offset] = storage[physical(offset)] }
        storage = grown
        head = 0
    }
}

extension Ring: Sequence {
    struct Iterator: IteratorProtocol {
        let ring: Ring
        var offset = 0
        mutating func next() -> Element? {
            guard offset < ring.count else { return nil }
            defer { offset += 1 }
            return ring[offset]
        }
    }

    func makeIterator() -> Iterator { Iterator(ring: self) }
}

extension Ring: Sendable where Element: Sendable {}
