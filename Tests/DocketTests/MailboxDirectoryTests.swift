@testable import Docket
import Testing

/// The directory's keeping of retired mailboxes for its submitters to release.
@Suite("Mailbox directory")
struct MailboxDirectoryTests {
    /// `count` keys that the directory files in one shard.
    static func keysInOneShard(_ count: Int) -> [MailboxDirectory.Key] {
        var keys: [MailboxDirectory.Key] = []
        var index = 0
        while keys.count < count {
            let key = MailboxDirectory.Key(.keyed(owner: nil, key: "object-\(index)"))
            if keys.isEmpty || MailboxDirectory.shardIndex(key) == MailboxDirectory.shardIndex(keys[0]) { keys.append(key) }
            index += 1
        }
        return keys
    }

    /// A directory of its own beside a docket's engine (for the mailboxes it opens), and
    /// `count` keys in one of its shards.
    static func fixture(keys count: Int) throws -> (harness: Harness, directory: MailboxDirectory, keys: [MailboxDirectory.Key]) {
        (try Harness(), MailboxDirectory(), keysInOneShard(count))
    }

    @Test("A retired mailbox is kept, up to four a shard, until the shard's next opening releases it")
    func retiredAreKeptForTheNextOpening() throws {
        let (harness, directory, keys) = try Self.fixture(keys: 6)
        let engine = harness.docket.engine
        var opened = keys.prefix(5).map { key in directory.mailbox(for: key) { Mailbox(key: key, engine: engine) } }
        #expect(directory.count == 5)
        weak let firstRetired = opened[0]
        directory.retire(opened[0])
        directory.retire(opened[1])
        // A mailbox no longer filed is not kept twice.
        directory.retire(opened[1])
        #expect(directory.retiredCount == 2)
        // Four at most.
        for mailbox in opened.suffix(3) { directory.retire(mailbox) }
        opened.removeAll()
        #expect(directory.count == 0)
        #expect(directory.retiredCount == 4)
        #expect(firstRetired != nil)
        // The shard's next opening takes the kept ones and releases them.
        let sixth = directory.mailbox(for: keys[5]) { Mailbox(key: keys[5], engine: engine) }
        #expect(directory.retiredCount == 0)
        #expect(firstRetired == nil)
        // Finding a live mailbox opens nothing and releases nothing.
        directory.retire(sixth)
        let again = directory.mailbox(for: keys[0]) { Mailbox(key: keys[0], engine: engine) }
        #expect(directory.retiredCount == 0)
        #expect(directory.mailbox(for: keys[0]) { Mailbox(key: keys[0], engine: engine) } === again)
        #expect(directory.count == 1)
    }

    @Test("A directory whose docket goes away releases what it kept and keeps nothing more")
    func releaseRetiredKeepsNoMore() throws {
        let (harness, directory, keys) = try Self.fixture(keys: 2)
        let engine = harness.docket.engine
        let first = directory.mailbox(for: keys[0]) { Mailbox(key: keys[0], engine: engine) }
        directory.retire(first)
        #expect(directory.retiredCount == 1)
        directory.releaseRetired()
        #expect(directory.retiredCount == 0)
        let second = directory.mailbox(for: keys[1]) { Mailbox(key: keys[1], engine: engine) }
        directory.retire(second)
        #expect(directory.retiredCount == 0)
    }

    @Test("A docket dropped after its lines drained releases what its directory kept, and its directory keeps no more")
    func droppedDocketReleasesWhatWasKept() async throws {
        let directory: MailboxDirectory
        let engine: Engine
        do {
            let harness = try Harness()
            directory = harness.docket.engine.directory
            engine = harness.docket.engine
            for index in 0..<20 { _ = try await harness.submit("s\(index)", on: "k\(index)") }
            await harness.idle()
            #expect(directory.count == 0)
            #expect(directory.retiredCount > 0)
        }
        // The docket went away with the harness: a kept mailbox held the engine, which holds
        // the directory, so what was kept is released and nothing more is kept.
        #expect(directory.retiredCount == 0)
        let key = MailboxDirectory.Key(.keyed(owner: nil, key: "late"))
        directory.retire(directory.mailbox(for: key) { Mailbox(key: key, engine: engine) })
        #expect(directory.retiredCount == 0)
    }

    @Test("Shutting a docket down releases what its directory kept")
    func shutdownReleasesWhatWasKept() async throws {
        let harness = try Harness()
        for index in 0..<20 { _ = try await harness.submit("s\(index)", on: "k\(index)") }
        await harness.idle()
        #expect(harness.docket.engine.directory.retiredCount > 0)
        _ = await harness.docket.shutdown(gracePeriod: .zero)
        #expect(harness.docket.engine.directory.retiredCount == 0)
    }

    @Test("A retired line gives back a burst's buffer and keeps a small one")
    func retiredLineShedsALargeBuffer() {
        var machine = MailboxStateMachine<Int>()
        for index in 0..<40 {
            _ = machine.enqueue(.init(id: OperationID(high: 1, low: UInt64(index)), sequence: 0, job: index, due: .zero), now: .zero)
        }
        var next = machine.claim(now: .zero)
        while case .run(let start) = next {
            guard case .next(let after) = machine.finish(start.id, outcome: .done, now: .zero, keepDraining: true) else { break }
            next = after
        }
        #expect(machine.phase == .retired)
        #expect(machine.line.capacity > MailboxDirectory.keptLineSlots)
        machine.shedLineBuffer(above: MailboxDirectory.keptLineSlots)
        #expect(machine.line.capacity == 0)

        var small = MailboxStateMachine<Int>()
        _ = small.enqueue(.init(id: OperationID(high: 2, low: 0), sequence: 0, job: 0, due: .zero), now: .zero)
        if case .run(let start) = small.claim(now: .zero) { _ = small.finish(start.id, outcome: .done, now: .zero, keepDraining: true) }
        #expect(small.phase == .retired)
        let slots = small.line.capacity
        #expect(slots > 0 && slots <= MailboxDirectory.keptLineSlots)
        small.shedLineBuffer(above: MailboxDirectory.keptLineSlots)
        #expect(small.line.capacity == slots)
    }
}
