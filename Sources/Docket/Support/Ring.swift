/// A growable FIFO ring buffer: O(1) append, pop from the front and push to the front.
///
/// The standard library has no deque and the package takes no dependencies, so the
/// per-object line and the ready queue use this small one.
///
/// Elements live in one managed buffer, initialized only between the front and the back,
/// and are read and changed in place: reading a field of an element does not copy the
/// element out. A line's entries hold a reference and an existential, so each copy of one
/// is a call through value witnesses, and the line's decisions read several fields of its
/// head each. The header is reached through its pointer, never as a class property, which
/// would be checked for exclusive access at run time on every read. A ring has value
/// semantics: a copy shares the buffer until either side changes, as `Array` does.
struct Ring<Element> {
    private var buffer: RingBuffer<Element>?

    init() {}

    var count: Int { buffer?.count ?? 0 }

    /// The slots of its buffer, 0 without one.
    var capacity: Int { buffer?.slots ?? 0 }

    var isEmpty: Bool { count == 0 }

    var first: Element? {
        isEmpty ? nil : self[0]
    }

    /// The element `offset` places behind the front. Reading a field of it, or changing one
    /// in place, touches only that field: the element is neither copied out nor written back.
    subscript(offset: Int) -> Element {
        _read {
            precondition(offset >= 0 && offset < count, "Ring offset \(offset) out of 0..<\(count)")
            yield buffer.unsafelyUnwrapped.element(at: offset).pointee
        }
        _modify {
            precondition(offset >= 0 && offset < count, "Ring offset \(offset) out of 0..<\(count)")
            makeUnique()
            yield &buffer.unsafelyUnwrapped.element(at: offset).pointee
        }
    }

    /// Moves `element` in at the back (a closure capturing it would copy it, so the slot is
    /// found first and initialized after).
    mutating func append(_ element: consuming Element) {
        reserveOneMore()
        let slot = buffer.unsafelyUnwrapped.withHeader { header, elements in
            defer { header.count += 1 }
            return elements + ((header.head + header.count) & header.mask)
        }
        slot.initialize(to: element)
    }

    mutating func prepend(_ element: consuming Element) {
        reserveOneMore()
        let slot = buffer.unsafelyUnwrapped.withHeader { header, elements in
            header.head = (header.head - 1) & header.mask
            header.count += 1
            return elements + header.head
        }
        slot.initialize(to: element)
    }

    @discardableResult
    mutating func popFirst() -> Element? {
        guard !isEmpty else { return nil }
        makeUnique()
        let (element, drainedLarge) = buffer.unsafelyUnwrapped.withHeader { header, elements in
            let element = (elements + header.head).move()
            header.head = (header.head + 1) & header.mask
            header.count -= 1
            guard header.count == 0 else { return (element, false) }
            header.head = 0
            return (element, header.mask >= 1024)
        }
        // A drained ring gives back a large buffer (a burst's peak), keeping small ones for reuse.
        if drainedLarge { buffer = nil }
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

    /// The buffer's identity, for tests of when it is replaced.
    var bufferIdentity: ObjectIdentifier? { buffer.map(ObjectIdentifier.init) }

    /// Gives the ring a buffer of its own before a change, copying a shared one.
    private mutating func makeUnique() {
        guard !isKnownUniquelyReferenced(&buffer), let shared = buffer else { return }
        buffer = shared.copy(capacity: shared.slots, moving: false)
    }

    /// Makes room for one more element in a buffer of the ring's own.
    private mutating func reserveOneMore() {
        guard let capacity = buffer?.slots else {
            // Most lines hold one or two operations: start with room for one and double.
            buffer = RingBuffer.make(capacity: 1)
            return
        }
        if count < capacity { return makeUnique() }
        // No local holds the buffer while its uniqueness is checked: that would be a second reference.
        let unique = isKnownUniquelyReferenced(&buffer)
        buffer = buffer.unsafelyUnwrapped.copy(capacity: capacity * 2, moving: unique)
    }
}

/// The fields of a ring's buffer: where the front is and how many elements follow it.
private struct RingHeader {
    var head: Int
    var count: Int
    /// Capacity minus one; the capacity is a power of two, so an offset wraps with a mask.
    let mask: Int
}

/// A ring's storage: the header and `mask + 1` element slots, of which `count` from `head`
/// (wrapping) are initialized. It destroys those when it goes.
private final class RingBuffer<Element>: ManagedBuffer<RingHeader, Element> {
    static func make(capacity: Int) -> RingBuffer {
        let buffer = create(minimumCapacity: capacity) { _ in RingHeader(head: 0, count: 0, mask: capacity - 1) }
        return unsafeDowncast(buffer, to: RingBuffer.self)
    }

    // The header is reached through its pointer only: `header`, a class's stored property,
    // would be checked for exclusive access at run time on every read and write.

    var count: Int { withUnsafeMutablePointerToHeader { $0.pointee.count } }

    var slots: Int { withUnsafeMutablePointerToHeader { $0.pointee.mask + 1 } }

    func withHeader<R>(_ body: (inout RingHeader, UnsafeMutablePointer<Element>) -> R) -> R {
        withUnsafeMutablePointers { header, elements in body(&header.pointee, elements) }
    }

    /// The slot `offset` places behind the front (initialized or not). The pointer stays
    /// valid while the buffer lives, which the ring holding it ensures.
    func element(at offset: Int) -> UnsafeMutablePointer<Element> {
        withUnsafeMutablePointers { header, elements in elements + ((header.pointee.head + offset) & header.pointee.mask) }
    }

    /// A new buffer of `capacity` holding this one's elements from offset zero: moved out of
    /// this one, which is left empty, or copied, leaving this one as it was.
    func copy(capacity: Int, moving: Bool) -> RingBuffer {
        let copy = RingBuffer.make(capacity: capacity)
        let count = self.count
        for offset in 0..<count {
            let source = element(at: offset)
            if moving {
                copy.element(at: offset).moveInitialize(from: source, count: 1)
            } else {
                copy.element(at: offset).initialize(to: source.pointee)
            }
        }
        copy.withHeader { header, _ in header.count = count }
        if moving {
            withHeader { header, _ in
                header.count = 0
                header.head = 0
            }
        }
        return copy
    }

    deinit {
        withUnsafeMutablePointers { header, elements in
            for offset in 0..<header.pointee.count {
                (elements + ((header.pointee.head + offset) & header.pointee.mask)).deinitialize(count: 1)
            }
        }
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

extension Ring: @unchecked Sendable where Element: Sendable {} // Copy-on-write: a shared buffer is copied before any change, so it is only ever read.
