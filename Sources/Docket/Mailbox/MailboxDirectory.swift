import Synchronization

/// The live mailboxes, by object key, in lock-protected shards.
///
/// A mailbox is created on the first submission to its object and leaves the directory
/// when its line is empty and unblocked, so idle objects cost nothing.
final class MailboxDirectory: Sendable {
    /// An object key with its hash, computed once per submission: choosing the shard, finding
    /// the mailbox, opening a line and retiring it then hash nothing more (a mailbox keeps
    /// the key it was opened with).
    struct Key: Sendable {
        let object: ObjectKey
        let hash: Int

        init(_ object: ObjectKey) {
            self.object = object
            hash = object.hashValue
        }
    }

    private final class Shard: Sendable {
        let mailboxes = Locked(MailboxTable<Mailbox>())
    }

    private let shards: [Shard] = (0..<32).map { _ in Shard() }

    /// The shard of a key, by its hash's low bits (a shard's table indexes by the top bits).
    private func shard(_ key: Key) -> Shard {
        shards[Int(UInt(bitPattern: key.hash) % UInt(shards.count))]
    }

    /// The key's mailbox, created with `make` when there is none. `make` runs under the
    /// directory's lock, before any other submitter can see the mailbox.
    func mailbox(for key: Key, make: () -> Mailbox) -> Mailbox {
        shard(key).mailboxes.withLock { mailboxes in
            if let existing = Self.find(key, in: mailboxes) { return existing }
            let created = make()
            assert(created.directoryKey.hash == key.hash, "a mailbox is opened under the key it is filed by")
            mailboxes.insert(created, hash: key.hash)
            return created
        }
    }

    func existing(_ key: ObjectKey) -> Mailbox? {
        let key = Key(key)
        return shard(key).mailboxes.withLock { Self.find(key, in: $0) }
    }

    /// The mailbox filed under `key` in a shard's table, comparing keys only on equal hashes.
    private static func find(_ key: Key, in mailboxes: borrowing MailboxTable<Mailbox>) -> Mailbox? {
        mailboxes.find(hash: key.hash) { $0.directoryKey.object == key.object }
    }

    /// Removes a retiring mailbox, unless another has already taken its place.
    func retire(_ mailbox: Mailbox) {
        shard(mailbox.directoryKey).mailboxes.withLock { _ = $0.remove(mailbox, hash: mailbox.directoryKey.hash) }
    }

    /// How many mailboxes are live (for memory checks and metrics).
    var count: Int {
        shards.reduce(0) { total, shard in total + shard.mailboxes.withLock { $0.count } }
    }
}
