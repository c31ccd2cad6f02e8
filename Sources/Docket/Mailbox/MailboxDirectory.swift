import Synchronization

/// The live mailboxes, by object key, in lock-protected shards.
///
/// A mailbox is created on the first submission to its object and leaves the directory
/// when its line is empty and unblocked, so idle objects cost nothing.
final class MailboxDirectory: Sendable {
    private final class Shard: Sendable {
        let mailboxes = Locked<[ObjectKey: Mailbox]>([:])
    }

    private let shards: [Shard] = (0..<32).map { _ in Shard() }

    private func shard(_ key: ObjectKey) -> Shard {
        shards[Int(UInt(bitPattern: key.hashValue) % UInt(shards.count))]
    }

    /// The key's mailbox, created with `make` when there is none. `make` runs under the
    /// directory's lock, before any other submitter can see the mailbox.
    func mailbox(for key: ObjectKey, make: () -> Mailbox) -> Mailbox {
        shard(key).mailboxes.withLock { mailboxes in
            if let existing = mailboxes[key] { return existing }
            let created = make()
            mailboxes[key] = created
            return created
        }
    }

    func existing(_ key: ObjectKey) -> Mailbox? {
        shard(key).mailboxes.withLock { $0[key] }
    }

    /// Removes a retiring mailbox, unless another has already taken its place.
    func retire(_ mailbox: Mailbox) {
        shard(mailbox.key).mailboxes.withLock { mailboxes in
            if mailboxes[mailbox.key] === mailbox {
                mailboxes[mailbox.key] = nil
                mailboxes.shrinkIfSparse()
            }
        }
    }

    /// How many mailboxes are live (for memory checks and metrics).
    var count: Int {
        shards.reduce(0) { total, shard in total + shard.mailboxes.withLock { $0.count } }
    }
}
