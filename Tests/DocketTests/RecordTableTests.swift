@testable import Docket
import Foundation
import Testing

/// Unit tests of the record table: direct slots by the ID's sequence number, the probing
/// table behind them (deletion by backward shift), shrinking, the expiry sweep that
/// replaces an expiry heap, and the IDs the tracker draws.
@Suite("Record table")
struct RecordTableTests {
    static let definition = OperationDefinition<Int, Int>("table") { value, _ in value }.erased(ordinal: 0)

    /// `id` with the number it carries, as the tracker hands IDs to the table.
    static func key(_ id: OperationID) -> SequencedID { SequencedID(id, cipher: cipher) }

    static func record(_ marker: Int, expires: Duration? = nil) -> TrackingRecord {
        var record = TrackingRecord(
            definition: definition, owner: "owner-\(marker)", objectKey: nil, created: .zero, runsNow: false, due: .zero)
        record.attempt = marker
        record.expires = expires
        return record
    }

    @Test("Durations become whole nanoseconds truncated toward zero, and whole ones come back exactly")
    func durationNanoseconds() {
        #expect(Duration.zero.nanoseconds == 0)
        #expect((Duration.seconds(86_400) + .nanoseconds(7)).nanoseconds == 86_400_000_000_007)
        #expect((Duration.seconds(-3) + .nanoseconds(7)).nanoseconds == -2_999_999_993)
        #expect((Duration.seconds(1) / 3).nanoseconds == 333_333_333)
        #expect((Duration.nanoseconds(-1) - Duration.nanoseconds(1) / 2).nanoseconds == -1)
        let year = Duration.seconds(365 * 86_400) + .nanoseconds(123_456_789)
        #expect(Duration.nanoseconds(year.nanoseconds) == year)
    }

    @Test("Random inserts and removals agree with a dictionary, clustered IDs included")
    func agreesWithDictionary() {
        var generator = SplitMix64(seed: 3)
        var table = RecordTable(cipher: Self.cipher)
        var reference: [OperationID: Int] = [:]
        var live: [OperationID] = []
        for step in 0..<40_000 {
            if live.isEmpty || generator.next() % 3 != 0 {
                // Every fourth ID has its sequence bits zero, so one sequence number, and shares its
                // low word's top bits with others: they all claim one direct slot, and make long
                // probe runs behind.
                let low = step % 4 == 0 ? generator.next() & 0xFF00_0000_0000_0000 : generator.next()
                let id = OperationID(high: generator.next(), low: low)
                table.insert(Self.record(step), for: id)
                reference[id] = step
                live.append(id)
            } else {
                let index = Int(generator.next() % UInt64(live.count))
                live.swapAt(index, live.count - 1)
                let id = live.removeLast()
                #expect(table.removeValue(forKey: Self.key(id))?.attempt == reference.removeValue(forKey: id))
            }
        }
        #expect(table.count == reference.count)
        #expect(reference.allSatisfy { table[$0.key]?.attempt == $0.value })
        #expect(Dictionary(uniqueKeysWithValues: table.entries.map { ($0.key, $0.value.attempt) }) == reference)
        #expect(table.box(OperationID(high: 0, low: 0)) == nil)
        #expect(table.removeValue(forKey: Self.key(OperationID(high: 1, low: 1))) == nil)
    }

    static let cipher = SequenceCipher(keys: (0x1234_5678, 0x9ABC_DEF0, 0x0F1E_2D3C, 0x4B5A_6978))

    /// An ID of shard 0 carrying `sequence`, as ``Tracker/mintID()`` draws them, with random bits `salt`.
    static func drawn(_ sequence: UInt64, salt: UInt64) -> OperationID {
        cipher.id(OperationID(high: salt, low: salt << 32), carrying: sequence)
    }

    @Test("The sequence cipher is a permutation of the 26-bit numbers, and numbers in turn do not read in turn")
    func sequenceCipher() {
        var generator = SplitMix64(seed: 5)
        for sequence in [0, 1, SequenceCipher.count - 1] + (0..<10_000).map({ _ in generator.next() % SequenceCipher.count }) {
            let code = Self.cipher.encrypt(sequence)
            #expect(code < SequenceCipher.count)
            #expect(Self.cipher.decrypt(code) == sequence)
        }
        let codes = (UInt64(0)..<4_096).map(Self.cipher.encrypt)
        #expect(Set(codes).count == codes.count)
        // In turn, a code would follow its predecessor: here few are even close.
        let close = zip(codes, codes.dropFirst()).filter { $1 &- $0 < 64 }.count
        #expect(close < 40)
        // Another key, another permutation; the ID keeps its random and shard bits.
        let other = SequenceCipher(keys: (1, 2, 3, 4))
        #expect((0..<64).filter { other.encrypt($0) == Self.cipher.encrypt($0) }.count < 4)
        let id = Self.cipher.id(OperationID(high: 7, low: 0xFFFF_FFFF_FFFF_FFFF), carrying: 12_345)
        #expect(id.high == 7 && id.shardIndex == 63 && id.low >> 32 == 0xFFFF_FFFF)
        #expect(Self.cipher.sequence(of: id) == 12_345)
    }

    @Test("Records drawn in turn sit in their own slots; one whose slot a newer record claims goes behind and comes back as the table grows")
    func directSlots() throws {
        var table = RecordTable(cipher: Self.cipher)
        let first = (1...11).map { Self.drawn($0, salt: $0 &* 0x9E37_79B9) }
        for (index, id) in first.enumerated() { table.insert(Self.record(index), for: id) }
        #expect(table.capacity == 16)
        #expect(table.countBehind == 0)
        // Sequence 17 selects the slot of sequence 1 in a table of 16, which holds 12 records.
        let late = Self.drawn(17, salt: 99)
        table.insert(Self.record(17), for: late)
        #expect(table.countBehind == 1)
        #expect(table[late]?.attempt == 17)
        #expect(table[first[0]]?.attempt == 0)
        // The 13th record grows the table to 32 slots, which give sequences 1 and 17 a slot
        // each: the record behind comes back.
        for sequence in UInt64(18)...22 { table.insert(Self.record(Int(sequence)), for: Self.drawn(sequence, salt: sequence)) }
        #expect(table.capacity == 32)
        #expect(table.countBehind == 0)
        #expect(table[first[0]]?.attempt == 0)
        #expect(table[late]?.attempt == 17)
        // A lookup of an ID that shares a slot but not its random bits finds nothing.
        #expect(table.box(Self.drawn(1, salt: 12_345)) == nil)
        #expect(table.removeValue(forKey: Self.key(first[0]))?.attempt == 0)
        #expect(table[first[0]] == nil)
        #expect(table.count == 16)
    }

    @Test("A line of IDs drawn in turn, taken in order with some results left unread, agrees with a dictionary and keeps few records behind")
    func drawnInTurn() {
        var generator = SplitMix64(seed: 11)
        var table = RecordTable(cipher: Self.cipher)
        var reference: [OperationID: Int] = [:]
        var line: [OperationID] = []
        var unread: [OperationID] = []
        var mostBehind = 0
        for sequence in UInt64(1)...60_000 {
            let id = Self.drawn(sequence, salt: generator.next() >> 32)
            table.insert(Self.record(Int(sequence)), for: id)
            reference[id] = Int(sequence)
            line.append(id)
            // Results are taken about 500 operations behind the submissions; one in 200 is
            // left unread for a long time (taken at the end).
            if line.count > 500 {
                let taken = line.removeFirst()
                if generator.next() % 200 == 0 {
                    unread.append(taken)
                } else {
                    #expect(table.removeValue(forKey: Self.key(taken))?.attempt == reference.removeValue(forKey: taken))
                }
            }
            mostBehind = max(mostBehind, table.countBehind)
        }
        #expect(table.count == reference.count)
        #expect(reference.allSatisfy { table[$0.key]?.attempt == $0.value })
        // Only the records left unread can be behind.
        #expect(mostBehind <= unread.count)
        for id in unread + line { #expect(table.removeValue(forKey: Self.key(id))?.attempt == reference.removeValue(forKey: id)) }
        #expect(table.count == 0)
        #expect(reference.isEmpty)
    }

    @Test("The tracker draws IDs spread over its shards, distinct, each with its shard's next sequence number")
    func mintedIDs() {
        let tracker = Tracker(
            clock: EngineClock(ContinuousClock(), wallOrigin: Date()), unreadResultLifetime: .seconds(60),
            tombstoneLifetime: .seconds(60), names: [])
        let keys = (0..<20_000).map { _ in tracker.mintID() }
        let ids = keys.map(\.id)
        #expect(Set(ids).count == ids.count)
        var lastSequence: [Int: UInt32] = [:]
        for key in keys {
            let sequence = tracker.cipher.sequence(of: key.id)
            // The number drawn with the ID is the one it carries.
            #expect(key.sequence == sequence)
            #expect(sequence == (lastSequence[key.id.shardIndex] ?? 0) + 1)
            lastSequence[key.id.shardIndex] = sequence
        }
        #expect(lastSequence.count == 64)
        // Apart from the sequence, the bits are the random source's: the high words differ.
        #expect(Set(ids.map(\.high)).count == ids.count)
    }

    @Test("After records are restored from a journal, a shard's new IDs go on from their sequence numbers")
    func mintingAfterRestore() {
        let tracker = Tracker(
            clock: EngineClock(ContinuousClock(), wallOrigin: Date()), unreadResultLifetime: .seconds(60),
            tombstoneLifetime: .seconds(60), names: [])
        // Shard 5, sequence 1 000.
        let restored = tracker.cipher.id(OperationID(high: 42, low: 7 << 32 | 5), carrying: 1_000)
        tracker.restore(restored, Self.record(1))
        var next = tracker.mintID()
        while next.id.shardIndex != 5 { next = tracker.mintID() }
        #expect(next.sequence == 1_001)
        #expect(tracker.cipher.sequence(of: next.id) == 1_001)
        #expect(tracker.isLive(restored))
    }

    @Test("A slot takes 40 bytes: the sequence number it keeps fills what would be padding")
    func slotSize() {
        #expect(MemoryLayout<RecordTable.Slot>.stride == 40)
    }

    @Test("A drained table gives its capacity back and keeps what is left")
    func shrinks() {
        var table = RecordTable(cipher: Self.cipher)
        let ids = (0..<50_000).map { OperationID(high: UInt64($0), low: UInt64($0) &* 0x9E37_79B9_7F4A_7C15) }
        for (index, id) in ids.enumerated() { table.insert(Self.record(index), for: id) }
        let peak = table.capacity
        for id in ids.dropLast(10) { table.remove(Self.key(id)) }
        #expect(table.capacity < peak / 64)
        #expect(ids.suffix(10).allSatisfy { table[$0] != nil })
        #expect(table.count == 10)
    }

    @Test("The sweep reports exactly the expired results, across passes, and sees expiry changes")
    func sweepFindsExpired() throws {
        var generator = SplitMix64(seed: 9)
        var table = RecordTable(cipher: Self.cipher)
        var expiring: Set<OperationID> = []
        for index in 0..<1_000 {
            let id = OperationID(high: generator.next(), low: generator.next())
            let expires: Duration? = index % 3 == 0 ? .seconds(10) : (index % 3 == 1 ? .seconds(100) : nil)
            table.insert(Self.record(index), for: id)
            if index % 5 == 0 {
                // Set after insertion, as a finished operation's result gets its expiry.
                let (position, box) = try #require(table.locate(Self.key(id)))
                box.record.expires = expires
                table.refresh(at: position, from: box)
            } else {
                table.remove(Self.key(id))
                table.insert(Self.record(index, expires: expires), for: id)
            }
            if expires == .seconds(10) { expiring.insert(id) }
        }
        #expect(table.expired(limit: table.capacity, now: Duration.seconds(9).nanoseconds).isEmpty)
        // One full pass, seven slots at a time (the last batch may wrap a few slots into the next pass).
        var found: [OperationID] = []
        for _ in 0...(table.capacity / 7) {
            found += table.expired(limit: 7, now: Duration.seconds(10).nanoseconds).map(\.id)
        }
        #expect(Set(found) == expiring)
        #expect(found.count <= expiring.count + 7)
    }

    @Test("A slot's glance answers state and progress only where the record would answer the same at any time")
    func glance() throws {
        var table = RecordTable(cipher: Self.cipher)
        let plain = OperationID(high: 1, low: 1 << 60)
        let owned = OperationID(high: 2, low: 2 << 60)
        let delayed = OperationID(high: 3, low: 3 << 60)
        table.insert(TrackingRecord(definition: Self.definition, owner: nil, objectKey: "a", created: .seconds(5), runsNow: false, due: .seconds(5)), for: plain)
        table.insert(Self.record(2), for: owned)
        table.insert(TrackingRecord(definition: Self.definition, owner: nil, objectKey: "a", created: .seconds(5), runsNow: false, due: .seconds(9)), for: delayed)

        #expect(try #require(table.glance(plain)).glance.state == .waiting)
        #expect(try #require(table.glance(owned)).glance.state == nil)
        #expect(try #require(table.glance(delayed)).glance.state == nil)

        // Changed through the box and refreshed: the slot follows the record.
        let (position, box) = try #require(table.locate(Self.key(plain)))
        box.record.state = .running
        box.record.progress = 40
        table.refresh(at: position, from: box)
        let running = try #require(table.glance(plain)).glance
        #expect(running.state == .running && running.percent == 40)

        // Once the delayed record runs, its glance answers.
        let (delayedPosition, delayedBox) = try #require(table.locate(Self.key(delayed)))
        delayedBox.record.state = .running
        table.refresh(at: delayedPosition, from: delayedBox)
        #expect(try #require(table.glance(delayed)).glance.state == .running)

        // Replacing a record through the subscript refreshes its slot too.
        var replaced = try #require(table[plain])
        replaced.state = .succeeded
        replaced.progress = 100
        replaced.expires = .seconds(60)
        table[plain] = replaced
        let finished = try #require(table.glance(plain))
        #expect(finished.glance.state == .succeeded && finished.glance.percent == 100)
        #expect(finished.expires == Duration.seconds(60).nanoseconds)
    }
}
