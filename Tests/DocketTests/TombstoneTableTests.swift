@testable import Docket
import Testing

/// Unit tests of the packed tombstone and the generational tombstone table.
@Suite("Tombstones")
struct TombstoneTableTests {
    static let states: [OperationState] = [
        .waiting, .delayed, .running, .succeeded, .failed,
        .cancelled(.cancelled), .cancelled(.deleted), .cancelled(.cascade), .cancelled(.dependencyDeleted),
    ]

    func randomID(_ generator: inout SplitMix64) -> OperationID {
        OperationID(high: generator.next(), low: generator.next())
    }

    static let cipher = RecordTableTests.cipher

    /// A table whose IDs carry their numbers as ``cipher`` writes them.
    static func table(lifetime: Int64) -> TombstoneTable { TombstoneTable(lifetime: lifetime, cipher: cipher) }

    /// The ID a shard draws with `sequence`, its other bits random.
    func mintedID(_ sequence: UInt64, _ generator: inout SplitMix64) -> OperationID {
        Self.cipher.id(randomID(&generator), carrying: sequence)
    }

    @Test("A packed tombstone keeps its state, consumed flag and definition", arguments: states)
    func packing(state: OperationState) {
        for consumed in [false, true] {
            for definition in [0, 1, 4_321, 65_535] {
                let tombstone = Tombstone(definition: definition, owner: "tenant-7", state: state, consumed: consumed)
                #expect(tombstone.state == state)
                #expect(tombstone.consumed == consumed)
                #expect(tombstone.definition == definition)
                #expect(tombstone.isOwned(by: "tenant-7"))
            }
        }
    }

    @Test("A tombstone answers only its own owner; no owner is an owner of its own")
    func ownership() {
        let owned = Tombstone(definition: 3, owner: "alice", state: .succeeded, consumed: true)
        #expect(owned.isOwned(by: "alice"))
        #expect(!owned.isOwned(by: "bob"))
        #expect(!owned.isOwned(by: nil))
        let unowned = Tombstone(definition: 3, owner: nil, state: .succeeded, consumed: true)
        #expect(unowned.isOwned(by: nil))
        #expect(!unowned.isOwned(by: "alice"))
        #expect(!unowned.isOwned(by: ""))
    }

    @Test("Every buried ID is found with its tombstone; others, the all-zero ID included, are not")
    func findsWhatWasBuried() {
        var generator = SplitMix64(seed: 11)
        var table = Self.table(lifetime: 1_000_000)
        var buried: [(OperationID, Tombstone)] = []
        for index in 0..<20_000 {
            let id = randomID(&generator)
            let tombstone = Tombstone(definition: index % 7, owner: "o\(index % 3)", state: Self.states[index % Self.states.count], consumed: index % 2 == 0)
            // Bury over time, across several generations.
            table.bury(id, tombstone, now: Int64(index) * 10)
            buried.append((id, tombstone))
        }
        #expect(table.count == buried.count)
        // Numbers that read as random: every generation gave up its direct slots.
        #expect(table.countBehind == table.count)
        #expect(buried.allSatisfy { table.tombstone($0.0, now: 200_000) == $0.1 })
        for _ in 0..<1_000 { #expect(table.tombstone(randomID(&generator), now: 200_000) == nil) }
        #expect(table.tombstone(OperationID(high: 0, low: 0), now: 0) == nil)
    }

    @Test("Tombstones of IDs drawn in turn sit in their direct slots, in at most 64 bytes each")
    func consecutiveNumbersSitDirect() {
        var generator = SplitMix64(seed: 29)
        var minted = Self.table(lifetime: 1_000_000)
        var buried: [OperationID] = []
        // Taken a little out of order, with gaps (results never read).
        let start: UInt64 = 1_000
        for offset in stride(from: UInt64(0), to: 20_000, by: 1) where offset % 7 != 3 {
            let sequence = (start + (offset ^ 1)) % SequenceCipher.count
            let id = mintedID(sequence, &generator)
            minted.bury(id, Tombstone(definition: Int(offset % 9), owner: nil, state: .succeeded, consumed: true), now: 1)
            buried.append(id)
        }
        #expect(minted.generationCount == 1)
        #expect(minted.countBehind == 0)
        #expect(minted.slotCount * MemoryLayout<TombstoneGeneration.Slot>.stride <= 64 * minted.count)
        #expect(buried.enumerated().allSatisfy { index, id in minted.tombstone(id, now: 2)?.definition == Int(index / 6 * 7 + index % 6 + (index % 6 >= 3 ? 1 : 0)) % 9 })
        // Other IDs of the same numbers, and numbers never drawn, are not found.
        for sequence in stride(from: start, to: start + 1_000, by: 1) { #expect(minted.tombstone(mintedID(sequence, &generator), now: 2) == nil) }
        for sequence in UInt64(20_000)..<21_000 { #expect(minted.tombstone(mintedID(sequence, &generator), now: 2) == nil) }
    }

    @Test(
        "A main run of numbers, a second run that meets it modulo the capacity and wraps, burials again and restored IDs agree with a dictionary",
        arguments: [(3, false), (31, false), (97, true), (5, true)] as [(UInt64, Bool)])
    func agreesWithDictionary(seed: UInt64, restoring: Bool) {
        var generator = SplitMix64(seed: seed)
        var table = Self.table(lifetime: 1 << 40)
        var reference: [OperationID: Tombstone] = [:]
        var ids: [OperationID] = []
        // Results taken about in turn, and older results expiring (numbers that wrap).
        var main: UInt64 = 1 << 20
        var older = SequenceCipher.count - 3_000
        for step in 0..<60_000 {
            let id: OperationID
            switch generator.next() % 20 {
            case 0 where !ids.isEmpty:
                id = ids[Int(generator.next() % UInt64(ids.count))]
            case 1 where restoring:
                id = randomID(&generator)  // restored: its number reads as random
            case 2:
                id = mintedID(older % SequenceCipher.count, &generator)
                older += 1
            default:
                id = mintedID(main, &generator)
                main += generator.next() % 8 == 0 ? 2 : 1  // sparse gaps
            }
            let tombstone = Tombstone(definition: step % 1_000, owner: nil, state: .succeeded, consumed: step % 2 == 0)
            table.bury(id, tombstone, now: Int64(step))
            if reference.updateValue(tombstone, forKey: id) == nil { ids.append(id) }
            if step % 5_000 == 4_999 {
                #expect(reference.allSatisfy { table.tombstone($0.key, now: Int64(step)) == $0.value })
            }
        }
        #expect(table.countBehind > 0)
        // Without restored IDs, most tombstones keep their direct slots.
        if !restoring { #expect(table.countBehind * 8 < table.count) }
        #expect(table.slotCount * MemoryLayout<TombstoneGeneration.Slot>.stride <= 64 * table.count)
        for _ in 0..<1_000 { #expect(table.tombstone(randomID(&generator), now: 0) == nil) }
        for sequence in UInt64(1 << 24)..<(1 << 24) + 1_000 { #expect(table.tombstone(mintedID(sequence, &generator), now: 0) == nil) }
    }

    @Test("Generations sized for a burst give up their direct slots too when numbers with periodic gaps meet there", arguments: [2, 7, 107] as [UInt64])
    func presizedGenerationsStayBounded(stride: UInt64) {
        var generator = SplitMix64(seed: stride)
        var table = Self.table(lifetime: 1_600)
        var buried: [OperationID] = []
        // A burst at one instant: the generations after the first are sized for a full one.
        for index in 0..<UInt64(TombstoneTable.generationCapacity * 5 / 2) {
            let id = mintedID(index * stride % SequenceCipher.count, &generator)
            table.bury(id, Tombstone(definition: Int(index % 11), owner: nil, state: .succeeded, consumed: true), now: 10)
            buried.append(id)
        }
        #expect(table.generationCount == 3)
        #expect(table.slotCount * MemoryLayout<TombstoneGeneration.Slot>.stride <= 64 * table.count)
        #expect(buried.enumerated().allSatisfy { index, id in table.tombstone(id, now: 11)?.definition == index % 11 })
    }

    @Test("A tombstone reads as unknown exactly when its window ends")
    func exactExpiry() {
        var table = Self.table(lifetime: 1_000)
        let id = OperationID(high: 1, low: 2)
        let tombstone = Tombstone(definition: 0, owner: nil, state: .succeeded, consumed: true)
        table.bury(id, tombstone, now: 500)
        #expect(table.tombstone(id, now: 1_499) == tombstone)
        #expect(table.tombstone(id, now: 1_500) == nil)
    }

    @Test("Memory goes with the generation once its last tombstone has expired, not before")
    func generationsDrop() {
        var generator = SplitMix64(seed: 5)
        let lifetime: Int64 = 1_600
        var table = Self.table(lifetime: lifetime)
        let tombstone = Tombstone(definition: 0, owner: nil, state: .succeeded, consumed: true)
        // Two generations (a generation spans a sixteenth of the window: 100).
        for now in stride(from: Int64(0), to: 200, by: 2) { table.bury(randomID(&generator), tombstone, now: now) }
        #expect(table.count == 100)
        table.dropExpired(now: 100 + lifetime - 1)
        #expect(table.count == 100)
        table.dropExpired(now: 100 + lifetime)
        #expect(table.count == 50)
        table.dropExpired(now: 200 + lifetime)
        #expect(table.count == 0)
    }

    @Test("A burst of burials at one instant fills tables of a bounded size, all found, all dropped with the window")
    func burstsFillBoundedTables() {
        var generator = SplitMix64(seed: 17)
        let lifetime: Int64 = 1_600
        var table = Self.table(lifetime: lifetime)
        let capacity = TombstoneTable.generationCapacity
        var buried: [(OperationID, Tombstone)] = []
        for index in 0..<(capacity * 5 / 2) {
            let tombstone = Tombstone(definition: index % 5, owner: nil, state: .succeeded, consumed: index % 2 == 0)
            let id = mintedID(UInt64(index), &generator)
            table.bury(id, tombstone, now: 10)
            buried.append((id, tombstone))
        }
        #expect(table.generationCount == 3)
        #expect(table.count == buried.count)
        #expect(table.countBehind == 0)
        // The two tables after the first were sized for a full generation and never grew.
        let presized = capacity * 8 / 7 + 1
        let first = TombstoneTable.generationCapacity
        var alone = Self.table(lifetime: lifetime)
        for sequence in 0..<UInt64(first) { alone.bury(mintedID(sequence, &generator), Tombstone(word: 1 << 63), now: 10) }
        #expect(alone.generationCount == 1)
        #expect(table.slotCount == alone.slotCount + 2 * presized)
        // One more than a full generation opens the next, already sized.
        alone.bury(mintedID(UInt64(first), &generator), Tombstone(word: 1 << 63), now: 10)
        #expect(alone.generationCount == 2)
        #expect(buried.allSatisfy { table.tombstone($0.0, now: 11) == $0.1 })
        // Buried again in a later table, the newest tombstone is the one read.
        let (reburied, _) = buried[0]
        let cancelled = Tombstone(definition: 1, owner: nil, state: .cancelled(.deleted), consumed: false)
        table.bury(reburied, cancelled, now: 12)
        #expect(table.tombstone(reburied, now: 13) == cancelled)
        for _ in 0..<1_000 { #expect(table.tombstone(randomID(&generator), now: 11) == nil) }
        table.dropExpired(now: 10 + lifetime + lifetime / 16)
        #expect(table.count == 0)
        #expect(table.generationCount == 0)
    }

    @Test("After a full generation, a burial past its span opens a small table, not one sized for a burst")
    func trickleAfterBurstStaysSmall() {
        var generator = SplitMix64(seed: 23)
        var table = Self.table(lifetime: 1_600)
        let capacity = UInt64(TombstoneTable.generationCapacity)
        for sequence in 0..<capacity { table.bury(mintedID(sequence, &generator), Tombstone(word: 1 << 63), now: 10) }
        let afterBurst = table.slotCount
        table.bury(mintedID(capacity, &generator), Tombstone(word: 1 << 63), now: 110)
        #expect(table.generationCount == 2)
        #expect(table.slotCount - afterBurst == 16)
    }

    @Test("A registry names its definitions by ordinal, in registration order")
    func registryOrdinals() throws {
        var registry = OperationRegistry()
        for name in ["b", "a", "c"] {
            try registry.register(OperationDefinition<Int, Int>(name) { input, _ in input })
        }
        #expect(registry.names == ["b", "a", "c"])
        #expect(try registry.definition(named: "a").ordinal == 1)
        #expect(try registry.definition(named: "c").ordinal == 2)
    }
}
