import Synchronization

/// The live mailboxes, by object key, in lock-protected shards.
///
/// A mailbox is created on the first submission to its object and leaves the directory
/// when its line is empty and unblocked, so idle objects cost nothing.
final class MailboxDirectory: Sendable {
    /// An object key with its hash, computed once per submission: choosing the shard, finding
    /// the mailbox, opening a line and retiring it then hash one integer instead of the
    /// key's strings each time (a mailbox keeps the key it was opened with).
    struct Key: Hashable, Sendable {
        let object: ObjectKey
        let hash: Int

        init(_ object: ObjectKey) {
            self.object = object
            hash = object.hashValue
        }

        func hash(into hasher: inout Hasher) { hasher.combine(hash) }

        static func == (lhs: Key, rhs: Key) -> Bool { lhs.hash == rhs.hash && lhs.object == rhs.object }
    }

    private final class Shard: Sendable {
        let mailboxes = Locked<[Key: Mailbox]>([:])
    }

    private let shards: [Shard] = (0..<32).map { _ in Shard() }

    private func shard(_ key: Key) -> Shard {
        shards[Int(UInt(bitPattern: key.hash) % UInt(shards.count))]
    }

    /// The key's mailbox, created with `make` when there is none. `make` runs under the
    /// directory's lock, before any other submitter can see the mailbox.
    func mailbox(for key: Key, make: () -> Mailbox) -> Mailbox {
        shard(key).mailboxes.withLock { mailboxes in
            if let existing = mailboxes[key] { return existing }
            let created = make()
            mailboxes[key] = created
            return created
        }
    }

    func existing(_ key: ObjectKey) -> Mailbox? {
        let key = Key(key)
        return shard(key).mailboxes.withLock { $0[key] }
    }

    /// Removes a retiring mailbox, unless another has already taken its place.
    func retire(_ mailbox: Mailbox) {
        shard(mailbox.directoryKey).mailboxes.withLock { mailboxes in
            if let index = mailboxes.index(forKey: mailbox.directoryKey), mailboxes.values[index] === mailbox {
                mailboxes.remove(at: index)
                mailboxes.shrinkIfSparse()
            }
        }
    }

    /// How many mailboxes are live (for memory checks and metrics).
    var count: Int {
        shards.reduce(0) { total, shard in total + shard.mailboxes.withLock { $0.count } }
    }
}
