@testable import Docket
import Testing

/// Unit tests of the small support collections: the FIFO ring and the min-heap.
@Suite("Collections")
struct CollectionsTests {
    /// Compares a ring with its reference array through every read accessor.
    func matches(_ ring: Ring<Int>, _ reference: [Int]) -> Bool {
        guard ring.count == reference.count, ring.isEmpty == reference.isEmpty, ring.first == reference.first else {
            return false
        }
        guard Array(ring) == reference else { return false }
        return reference.indices.allSatisfy { ring[$0] == reference[$0] }
    }

    /// Every parent is no greater than its children.
    func isHeap<T: Comparable>(_ elements: [T]) -> Bool {
        elements.indices.dropFirst().allSatisfy { !(elements[$0] < elements[($0 - 1) / 2]) }
    }

    // MARK: Ring

    @Test("An empty ring has no first element and pops nil")
    func emptyRing() {
        var ring = Ring<Int>()
        #expect(ring.isEmpty)
        #expect(ring.count == 0)
        #expect(ring.first == nil)
        #expect(ring.popFirst() == nil)
        #expect(Array(ring) == [])
        #expect(ring.firstIndex { _ in true } == nil)
        #expect(ring.removeAll { _ in true } == [])
        #expect(ring.isEmpty)
    }

    @Test("Append then popFirst is FIFO")
    func ringFIFO() {
        var ring = Ring<Int>()
        for value in 1...10 { ring.append(value) }
        #expect(ring.count == 10)
        #expect(ring.first == 1)
        #expect(Array(ring) == Array(1...10))
        var popped: [Int] = []
        while let value = ring.popFirst() { popped.append(value) }
        #expect(popped == Array(1...10))
        #expect(ring.isEmpty)
        #expect(ring.first == nil)
    }

    @Test("Prepend puts elements at the front, including into an empty ring")
    func ringPrepend() {
        var ring = Ring<Int>()
        ring.prepend(3)
        ring.prepend(2)
        ring.append(4)
        ring.prepend(1)
        ring.append(5)
        ring.prepend(0)
        #expect(Array(ring) == [0, 1, 2, 3, 4, 5])
        #expect(ring.first == 0)
        #expect(ring.count == 6)
        #expect(ring.popFirst() == 0)
        #expect(ring.popFirst() == 1)
        #expect(Array(ring) == [2, 3, 4, 5])
    }

    @Test("The subscript reads and writes by logical offset, also when wrapped")
    func ringSubscript() {
        var ring = Ring<Int>()
        for value in 0..<4 { ring.append(value) }
        // Move the head, then wrap the tail around the storage.
        #expect(ring.popFirst() == 0)
        #expect(ring.popFirst() == 1)
        ring.append(4)
        ring.append(5)
        #expect(Array(ring) == [2, 3, 4, 5])
        #expect(ring[0] == 2)
        #expect(ring[3] == 5)
        ring[0] = 20
        ring[3] = 50
        #expect(Array(ring) == [20, 3, 4, 50])
        #expect(ring.first == 20)
    }

    @Test("Growing a wrapped ring keeps the logical order")
    func ringGrowWhileWrapped() {
        var ring = Ring<Int>()
        for value in 0..<4 { ring.append(value) }
        _ = ring.popFirst()
        _ = ring.popFirst()
        ring.append(4)
        ring.append(5)
        // Full and wrapped: the next append grows.
        ring.append(6)
        ring.prepend(1)
        ring.append(7)
        #expect(Array(ring) == [1, 2, 3, 4, 5, 6, 7])
        #expect(ring.count == 7)
        var popped: [Int] = []
        while let value = ring.popFirst() { popped.append(value) }
        #expect(popped == [1, 2, 3, 4, 5, 6, 7])
    }

    @Test("removeAll(where:) returns the removed elements in order and keeps the rest in order")
    func ringRemoveAll() {
        var ring = Ring<Int>()
        for value in 0..<10 { ring.append(value) }
        _ = ring.popFirst()
        ring.prepend(-1)
        let removed = ring.removeAll { $0 % 3 == 0 }
        #expect(removed == [3, 6, 9])
        #expect(Array(ring) == [-1, 1, 2, 4, 5, 7, 8])
        #expect(ring.count == 7)
        #expect(ring.first == -1)
        #expect(ring.removeAll { $0 > 100 } == [])
        #expect(Array(ring) == [-1, 1, 2, 4, 5, 7, 8])
        #expect(ring.removeAll { _ in true } == [-1, 1, 2, 4, 5, 7, 8])
        #expect(ring.isEmpty)
        ring.append(42)
        #expect(Array(ring) == [42])
    }

    @Test("firstIndex(where:) returns the logical offset of the first match")
    func ringFirstIndex() {
        var ring = Ring<Int>()
        for value in [5, 7, 9, 7] { ring.append(value) }
        _ = ring.popFirst()
        ring.append(11)
        #expect(ring.firstIndex { $0 == 7 } == 0)
        #expect(ring.firstIndex { $0 == 9 } == 1)
        #expect(ring.firstIndex { $0 == 11 } == 3)
        #expect(ring.firstIndex { $0 == 5 } == nil)
    }

    @Test("Popping to empty and reusing the ring works")
    func ringReuse() {
        var ring = Ring<String>()
        for round in 0..<5 {
            for index in 0..<(round + 3) { ring.append("\(round).\(index)") }
            var popped: [String] = []
            while let value = ring.popFirst() { popped.append(value) }
            #expect(popped == (0..<(round + 3)).map { "\(round).\($0)" })
            #expect(ring.isEmpty)
        }
    }

    @Test("Randomized: the ring behaves like an Array under mixed operations", arguments: [7, 1234, 99_999])
    func ringRandomized(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        var ring = Ring<Int>()
        var reference: [Int] = []
        var nextValue = 0
        var mismatches = 0
        for _ in 0..<3_000 {
            switch Int.random(in: 0..<100, using: &generator) {
            case 0..<40:
                ring.append(nextValue)
                reference.append(nextValue)
                nextValue += 1
            case 40..<55:
                ring.prepend(nextValue)
                reference.insert(nextValue, at: 0)
                nextValue += 1
            case 55..<85:
                let popped = ring.popFirst()
                let expected = reference.isEmpty ? nil : reference.removeFirst()
                if popped != expected { mismatches += 1 }
            case 85..<95:
                guard !reference.isEmpty else { continue }
                let offset = Int.random(in: 0..<reference.count, using: &generator)
                ring[offset] = -nextValue
                reference[offset] = -nextValue
                nextValue += 1
            default:
                let modulus = Int.random(in: 2...5, using: &generator)
                let removed = ring.removeAll { $0 % modulus == 0 }
                #expect(removed == reference.filter { $0 % modulus == 0 })
                reference.removeAll { $0 % modulus == 0 }
            }
            if !matches(ring, reference) { mismatches += 1 }
            if let target = reference.randomElement(using: &generator) {
                if ring.firstIndex(where: { $0 == target }) != reference.firstIndex(of: target) { mismatches += 1 }
            }
        }
        #expect(mismatches == 0)
        #expect(nextValue > 1_000)
    }

    @Test("A copy of a ring is independent: changing either leaves the other as it was")
    func ringValueSemantics() {
        var ring = Ring<Int>()
        for value in 0..<6 { ring.append(value) }
        _ = ring.popFirst()
        ring.append(6)
        // Each change to either side, with the buffer shared: subscript, append with room
        // left and when full (growing), prepend, popFirst and removeAll.
        var copy = ring
        copy[0] = 100
        #expect(Array(ring) == [1, 2, 3, 4, 5, 6])
        #expect(Array(copy) == [100, 2, 3, 4, 5, 6])
        let roomy = ring
        ring.append(7)
        #expect(Array(roomy) == [1, 2, 3, 4, 5, 6])
        ring.append(8)
        // Full at capacity 8 and shared: the append grows into a new buffer and must copy.
        let full = ring
        ring.append(9)
        #expect(Array(full) == [1, 2, 3, 4, 5, 6, 7, 8])
        let beforePrepend = ring
        ring.prepend(0)
        #expect(Array(beforePrepend) == [1, 2, 3, 4, 5, 6, 7, 8, 9])
        let beforePop = ring
        #expect(ring.popFirst() == 0)
        #expect(Array(beforePop) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
        let beforeRemove = ring
        #expect(ring.removeAll { $0.isMultiple(of: 2) } == [2, 4, 6, 8])
        #expect(Array(beforeRemove) == Array(1...9))
        #expect(Array(ring) == [1, 3, 5, 7, 9])
        var iterator = ring.makeIterator()
        ring[0] = -1
        #expect(iterator.next() == 1)
    }

    @Test("A ring changes its own buffer in place, and replaces it only to grow or to stop sharing it")
    func ringBufferReuse() {
        var ring = Ring<Int>()
        for value in 0..<3 { ring.append(value) }
        // Capacity 4: the next append fits, and neither it nor a pop or a write moves the
        // buffer. Checked after each: two needless copies in a row could free the buffer and
        // be handed its address back.
        let buffer = ring.bufferIdentity
        ring.append(3)
        #expect(ring.bufferIdentity == buffer)
        _ = ring.popFirst()
        #expect(ring.bufferIdentity == buffer)
        ring.prepend(0)
        #expect(ring.bufferIdentity == buffer)
        ring[1] = 10
        #expect(ring.bufferIdentity == buffer)
        // Full: growing replaces it.
        ring.append(4)
        let grown = ring.bufferIdentity
        #expect(grown != buffer)
        // Shared: the first change copies, and the copy keeps the original.
        let copy = ring
        ring[0] = -1
        #expect(ring.bufferIdentity != grown)
        #expect(copy.bufferIdentity == grown)
        let own = ring.bufferIdentity
        ring.append(5)
        #expect(ring.bufferIdentity == own)
    }

    @Test("A drained ring gives back a buffer of more than 1 024 slots and keeps a smaller one")
    func ringDrainedBuffer() {
        var ring = Ring<Int>()
        for value in 0..<1_024 { ring.append(value) }
        while ring.popFirst() != nil {}
        #expect(ring.bufferIdentity != nil)
        for value in 0..<1_025 { ring.append(value) }
        while ring.popFirst() != nil {}
        #expect(ring.bufferIdentity == nil)
        ring.append(1)
        #expect(Array(ring) == [1])
    }

    /// Counts live instances, to check that the ring destroys each element exactly once.
    final class Tracked {
        static let live = Locked(0)
        let value: Int
        init(_ value: Int) {
            self.value = value
            Self.live.withLock { $0 += 1 }
        }
        deinit { Self.live.withLock { $0 -= 1 } }
    }

    @Test("The ring keeps each element alive exactly as long as it holds it, through growth, copies and pops")
    func ringElementLifetimes() {
        let before = Tracked.live.withLock { $0 }
        do {
            var ring = Ring<Tracked>()
            for value in 0..<20 { ring.append(Tracked(value)) }
            ring.prepend(Tracked(-1))
            #expect(Tracked.live.withLock { $0 } == before + 21)
            let copy = ring
            var popped: [Int] = []
            for _ in 0..<5 { popped.append(ring.popFirst()!.value) }
            #expect(popped == [-1, 0, 1, 2, 3])
            // The copy still holds all 21; the ring holds 16 of them.
            #expect(Tracked.live.withLock { $0 } == before + 21)
            #expect(copy.map(\.value) == Array(-1..<20))
            ring[0] = Tracked(101)
            #expect(ring.first?.value == 101)
            _ = ring.removeAll { $0.value.isMultiple(of: 2) }
            #expect(ring.map(\.value) == [101, 5, 7, 9, 11, 13, 15, 17, 19])
        }
        #expect(Tracked.live.withLock { $0 } == before)
    }

    @Test("Elements moved into a shared ring, with room left and when it grows, live exactly as long as a ring holds them")
    func ringMovesIntoSharedBuffers() {
        let before = Tracked.live.withLock { $0 }
        func live() -> Int { Tracked.live.withLock { $0 } - before }
        do {
            var ring = Ring<Tracked>()
            ring.prepend(Tracked(0))
            #expect(ring.map(\.value) == [0])
            for value in 1..<6 { ring.append(Tracked(value)) }
            // Capacity 8 with six elements: the next append has room but finds the buffer shared.
            let roomy = ring
            ring.append(Tracked(6))
            ring.prepend(Tracked(-1))
            #expect(ring.map(\.value) == Array(-1..<7))
            #expect(roomy.map(\.value) == Array(0..<6))
            #expect(live() == 8)
            // Full and shared: the append grows into a new buffer by copying, not moving.
            let full = ring
            ring.append(Tracked(7))
            ring.prepend(Tracked(-2))
            #expect(ring.map(\.value) == Array(-2..<8))
            #expect(full.map(\.value) == Array(-1..<7))
            #expect(live() == 10)
            while ring.popFirst() != nil {}
            #expect(live() == 8)
        }
        #expect(live() == 0)
    }

    // MARK: BinaryHeap

    @Test("An empty heap has no minimum and pops nil")
    func emptyHeap() {
        var heap = BinaryHeap<Int>()
        #expect(heap.isEmpty)
        #expect(heap.count == 0)
        #expect(heap.min == nil)
        #expect(heap.popMin() == nil)
    }

    @Test("The heap pops in ascending order, duplicates included")
    func heapOrder() {
        var heap = BinaryHeap<Int>()
        for value in [5, 3, 8, 1, 9, 1, 7, 3, 0, 12] { heap.insert(value) }
        #expect(heap.count == 10)
        #expect(heap.min == 0)
        #expect(isHeap(heap.elements))
        var popped: [Int] = []
        while let value = heap.popMin() { popped.append(value) }
        #expect(popped == [0, 1, 1, 3, 3, 5, 7, 8, 9, 12])
        #expect(heap.isEmpty)
    }

    @Test("Inserting a new minimum updates min at once")
    func heapNewMinimum() {
        var heap = BinaryHeap<Int>()
        heap.insert(10)
        #expect(heap.min == 10)
        heap.insert(20)
        #expect(heap.min == 10)
        heap.insert(5)
        #expect(heap.min == 5)
        #expect(heap.popMin() == 5)
        #expect(heap.min == 10)
    }

    @Test("Randomized: interleaved inserts and pops match a sorted Array", arguments: [3, 2718, 314_159])
    func heapRandomized(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        var heap = BinaryHeap<Int>()
        var reference: [Int] = []
        var mismatches = 0
        for _ in 0..<3_000 {
            if Int.random(in: 0..<10, using: &generator) < 6 {
                let value = Int.random(in: 0..<200, using: &generator)
                heap.insert(value)
                reference.append(value)
                reference.sort()
            } else {
                let popped = heap.popMin()
                let expected = reference.isEmpty ? nil : reference.removeFirst()
                if popped != expected { mismatches += 1 }
            }
            if heap.count != reference.count || heap.min != reference.first || heap.isEmpty != reference.isEmpty {
                mismatches += 1
            }
            if !isHeap(heap.elements) { mismatches += 1 }
        }
        var drained: [Int] = []
        while let value = heap.popMin() { drained.append(value) }
        #expect(drained == reference)
        #expect(mismatches == 0)
    }

    @Test("Randomized: heap sort equals sorted()", arguments: [0, 1, 2, 17, 100, 1_000])
    func heapSort(count: Int) {
        var generator = SplitMix64(seed: UInt64(count) &+ 0xC0FFEE)
        let values = (0..<count).map { _ in Int.random(in: -500...500, using: &generator) }
        var heap = BinaryHeap<Int>()
        for value in values { heap.insert(value) }
        #expect(heap.count == count)
        var popped: [Int] = []
        while let value = heap.popMin() { popped.append(value) }
        #expect(popped == values.sorted())
    }

    @Test("removeAll(where:) on a heap keeps the rest in heap order", arguments: [0, 5, 3_000])
    func heapRemoveAll(count: Int) {
        var generator = SplitMix64(seed: UInt64(count) &+ 0xBEEF)
        let values = (0..<count).map { _ in Int.random(in: -1_000...1_000, using: &generator) }
        var heap = BinaryHeap<Int>()
        for value in values { heap.insert(value) }
        heap.removeAll { $0 % 3 == 0 }
        #expect(isHeap(heap.elements))
        var popped: [Int] = []
        while let value = heap.popMin() { popped.append(value) }
        #expect(popped == values.filter { $0 % 3 != 0 }.sorted())
    }

    @Test("popMin(while:) takes the matching prefix in order, popping or in one sweep past the threshold",
          arguments: [(0, 16), (10, 16), (16, 16), (17, 16), (500, 16), (3_000, 16), (3_000, 1_024)])
    func heapPopWhile(threshold: Int, bulkThreshold: Int) {
        var generator = SplitMix64(seed: UInt64(threshold) &+ 0xF1FE)
        let values = (0..<3_000).map { _ in Int.random(in: 0..<3_000, using: &generator) }
        var heap = BinaryHeap<Int>()
        for value in values { heap.insert(value) }
        let popped = heap.popMin(while: { $0 < threshold }, bulkThreshold: bulkThreshold)
        #expect(popped == values.filter { $0 < threshold }.sorted())
        #expect(isHeap(heap.elements))
        #expect(heap.count == values.count - popped.count)
        var rest: [Int] = []
        while let value = heap.popMin() { rest.append(value) }
        #expect(rest == values.filter { $0 >= threshold }.sorted())
    }

    // MARK: Shrinking

    // MARK: Mailbox table

    /// A value of a ``MailboxTable``, with the key its hash stands for.
    final class Keyed {
        let key: Int
        init(_ key: Int) { self.key = key }
    }

    /// A hash for `key` that many keys share, so that probe runs are long and cross the end.
    static func collidingHash(_ key: Int) -> Int { Int(bitPattern: UInt(key % 37) &* 0x9E37_79B9_7F4A_7C15) }

    @Test("The mailbox table agrees with a dictionary through inserts and removals, hashes shared by many keys", arguments: [1, 2, 3] as [UInt64])
    func mailboxTableAgreesWithDictionary(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        var table = MailboxTable<Keyed>()
        var reference: [Int: Keyed] = [:]
        for step in 0..<40_000 {
            let key = Int(generator.next() % 3_000)
            let hash = Self.collidingHash(key)
            let found = table.find(hash: hash) { $0.key == key }
            #expect(found === reference[key])
            if let found, generator.next() % 3 != 0 {
                // A newer value of the same key is not removed in its place.
                let removedOther = table.remove(Keyed(key), hash: hash)
                let removed = table.remove(found, hash: hash)
                #expect(!removedOther)
                #expect(removed)
                reference[key] = nil
            } else if found == nil {
                let value = Keyed(key)
                table.insert(value, hash: hash)
                reference[key] = value
            }
            if step % 4_000 == 3_999 {
                #expect(table.count == reference.count)
                #expect((0..<3_000).allSatisfy { key in table.find(hash: Self.collidingHash(key)) { $0.key == key } === reference[key] })
            }
        }
    }

    @Test("A shard's hashes, alike in their low bits, spread over the whole mailbox table")
    func mailboxTableUsesTopBits() {
        var generator = SplitMix64(seed: 13)
        var table = MailboxTable<Keyed>()
        // The directory picks a shard by a hash's low bits, so a shard's hashes share them.
        for key in 0..<20_000 { table.insert(Keyed(key), hash: Int(bitPattern: UInt(generator.next() & ~31 | 5))) }
        #expect(table.meanDisplacement < 3)
    }

    @Test("A drained mailbox table gives its slots back and keeps what is left")
    func mailboxTableShrinks() {
        var table = MailboxTable<Keyed>()
        var generator = SplitMix64(seed: 9)
        let values = (0..<100_000).map { Keyed($0) }
        let hashes = values.map { _ in Int(bitPattern: UInt(generator.next())) }
        for (value, hash) in zip(values, hashes) { table.insert(value, hash: hash) }
        let peak = table.capacity
        #expect(table.count * 4 <= peak * 3)
        var removed = 0
        for index in 0..<99_990 where table.remove(values[index], hash: hashes[index]) { removed += 1 }
        #expect(removed == 99_990)
        #expect(table.capacity < peak / 64)
        #expect(table.count == 10)
        #expect((99_990..<100_000).allSatisfy { index in table.find(hash: hashes[index]) { $0 === values[index] } === values[index] })
        #expect((0..<1_000).allSatisfy { index in table.find(hash: hashes[index]) { $0 === values[index] } == nil })
        for index in 99_990..<100_000 where table.remove(values[index], hash: hashes[index]) { removed += 1 }
        #expect(removed == 100_000)
        #expect(table.count == 0)
        #expect(table.capacity == 16)
    }

    @Test("Popping while a predicate holds returns exactly the matching minimums, in order")
    func heapPopWhile() {
        var generator = SplitMix64(seed: 21)
        var heap = BinaryHeap<Int>()
        let values = (0..<5_000).map { _ in Int(generator.next() % 10_000) }
        for value in values { heap.insert(value) }
        let popped = heap.popMin { $0 < 2_500 }
        #expect(popped == values.filter { $0 < 2_500 }.sorted())
        #expect(heap.count == values.count - popped.count)
        #expect(isHeap(heap.elements))
        #expect(heap.min == values.filter { $0 >= 2_500 }.min())
        #expect(heap.popMin { _ in false }.isEmpty)
    }

    @Test("A drained heap gives its capacity back")
    func heapShrinks() {
        var heap = BinaryHeap<Int>()
        for value in 0..<50_000 { heap.insert(value) }
        #expect(heap.elements.capacity >= 50_000)
        for _ in 0..<49_990 { heap.popMin() }
        // Shrinking stops at 1 024 slots; above that, ten elements would leave it at most 80.
        #expect(heap.elements.capacity <= 1_024)
        #expect(heap.elements.sorted() == Array(49_990..<50_000))
    }
}
