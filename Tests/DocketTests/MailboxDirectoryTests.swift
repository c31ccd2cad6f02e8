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
        for mailbox in opened { directory.retire(mailbox) }
        // A mailbox no longer filed is not kept twice.
        directory.retire(opened[4])
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

    @Test("A docket dropped after its lines drained is freed with its engine, whatever its directory kept")
    func droppedDocketFreesItsEngine() async throws {
        weak var engine: Engine?
        do {
            let harness = try Harness()
            engine = harness.docket.engine
            for index in 0..<20 { _ = try await harness.submit("s\(index)", on: "k\(index)") }
            await harness.idle()
            #expect(harness.docket.engine.directory.count == 0)
            #expect(harness.docket.engine.directory.retiredCount > 0)
        }
        // The workers' tasks let go of the engine as they stop.
        for _ in 0..<10_000 where engine != nil { await Task.yield() }
        #expect(engine == nil)
    }
}
