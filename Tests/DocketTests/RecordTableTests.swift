@testable import Docket
import Testing

/// Unit tests of the open-addressing record table: lookups, deletion by backward shift,
/// shrinking, and the expiry sweep that replaces an expiry heap.
@Suite("Record table")
struct RecordTableTests {
    static let definition = OperationDefinition<Int, Int>("table") { value, _ in value }.erased(ordinal: 0)

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
        var table = RecordTable()
        var reference: [OperationID: Int] = [:]
        var live: [OperationID] = []
        for step in 0..<40_000 {
            if live.isEmpty || generator.next() % 3 != 0 {
                // Every fourth ID shares its low word's top bits with others: long probe runs.
                let low = step % 4 == 0 ? generator.next() & 0xFF00_0000_0000_0000 : generator.next()
                let id = OperationID(high: generator.next(), low: low)
                table.insert(Self.record(step), for: id)
                reference[id] = step
                live.append(id)
            } else {
                let index = Int(generator.next() % UInt64(live.count))
                live.swapAt(index, live.count - 1)
                let id = live.removeLast()
                #expect(table.removeValue(forKey: id)?.attempt == reference.removeValue(forKey: id))
            }
        }
        #expect(table.count == reference.count)
        #expect(reference.allSatisfy { table[$0.key]?.attempt == $0.value })
        #expect(Dictionary(uniqueKeysWithValues: table.entries.map { ($0.key, $0.value.attempt) }) == reference)
        #expect(table.box(OperationID(high: 0, low: 0)) == nil)
        #expect(table.removeValue(forKey: OperationID(high: 1, low: 1)) == nil)
    }

    @Test("A drained table gives its capacity back and keeps what is left")
    func shrinks() {
        var table = RecordTable()
        let ids = (0..<50_000).map { OperationID(high: UInt64($0), low: UInt64($0) &* 0x9E37_79B9_7F4A_7C15) }
        for (index, id) in ids.enumerated() { table.insert(Self.record(index), for: id) }
        let peak = table.capacity
        for id in ids.dropLast(10) { table.remove(id) }
        #expect(table.capacity < peak / 64)
        #expect(ids.suffix(10).allSatisfy { table[$0] != nil })
        #expect(table.count == 10)
    }

    @Test("The sweep reports exactly the expired results, across passes, and sees expiry changes")
    func sweepFindsExpired() throws {
        var generator = SplitMix64(seed: 9)
        var table = RecordTable()
        var expiring: Set<OperationID> = []
        for index in 0..<1_000 {
            let id = OperationID(high: generator.next(), low: generator.next())
            let expires: Duration? = index % 3 == 0 ? .seconds(10) : (index % 3 == 1 ? .seconds(100) : nil)
            table.insert(Self.record(index), for: id)
            if index % 5 == 0 {
                // Set after insertion, as a finished operation's result gets its expiry.
                let (position, box) = try #require(table.locate(id))
                box.record.expires = expires
                table.refresh(at: position, from: box)
            } else {
                table.remove(id)
                table.insert(Self.record(index, expires: expires), for: id)
            }
            if expires == .seconds(10) { expiring.insert(id) }
        }
        #expect(table.expired(limit: table.capacity, now: Duration.seconds(9).nanoseconds).isEmpty)
        // One full pass, seven slots at a time (the last batch may wrap a few slots into the next pass).
        var found: [OperationID] = []
        for _ in 0...(table.capacity / 7) {
            found += table.expired(limit: 7, now: Duration.seconds(10).nanoseconds)
        }
        #expect(Set(found) == expiring)
        #expect(found.count <= expiring.count + 7)
    }

    @Test("A slot's glance answers state and progress only where the record would answer the same at any time")
    func glance() throws {
        var table = RecordTable()
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
        let (position, box) = try #require(table.locate(plain))
        box.record.state = .running
        box.record.progress = 40
        table.refresh(at: position, from: box)
        let running = try #require(table.glance(plain)).glance
        #expect(running.state == .running && running.percent == 40)

        // Once the delayed record runs, its glance answers.
        let (delayedPosition, delayedBox) = try #require(table.locate(delayed))
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
