import Synchronization

/// The live mailboxes, by object key, in lock-protected shards.
///
/// A mailbox is created on the first submission to its object and leaves the directory
/// when its line is empty and unblocked, so idle objects cost nothing; up to four retired
/// mailboxes a shard are kept until the shard's next opening releases them (``retire(_:)``),
/// a constant whatever the number of objects.
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
        let state = Locked(ShardState())
    }

    private struct ShardState {
        var mailboxes = MailboxTable<Mailbox>()
        /// Mailboxes retired since the shard last opened one, kept for the submitter that
        /// opens the next to release (``retire(_:)``).
        var retired = Retired()
        /// Set once the docket is going away: retired mailboxes are no longer kept.
        var keepsNoRetired = false
    }

    /// Up to four retired mailboxes, held inline: an array would be allocated by the worker
    /// that retires and freed by the submitter, the very pattern they are kept to avoid.
    struct Retired {
        private var first: Mailbox?
        private var second: Mailbox?
        private var third: Mailbox?
        private var fourth: Mailbox?

        /// Keeps `mailbox`; `false` when four are kept already.
        mutating func keep(_ mailbox: Mailbox) -> Bool {
            if first == nil { first = mailbox } else if second == nil { second = mailbox } else if third == nil {
                third = mailbox
            } else if fourth == nil { fourth = mailbox } else { return false }
            return true
        }

        /// How many are kept.
        var count: Int { [first, second, third, fourth].count { $0 != nil } }
    }

    private let shards: [Shard] = (0..<shardCount).map { _ in Shard() }

    /// The number of shards.
    static let shardCount = 32

    /// The most line slots a kept retired mailbox keeps (a larger buffer is given back when
    /// it retires): 16 entries of 96 bytes, so the 128 mailboxes kept at most hold about
    /// 240 KB in all, their own 323 bytes each included.
    static let keptLineSlots = 16

    /// The shard of a key, by its hash's low bits (a shard's table indexes by the top bits).
    static func shardIndex(_ key: Key) -> Int {
        Int(UInt(bitPattern: key.hash) % UInt(shardCount))
    }

    private func shard(_ key: Key) -> Shard {
        shards[Self.shardIndex(key)]
    }

    /// The key's mailbox, created with `make` when there is none. `make` runs under the
    /// directory's lock, before any other submitter can see the mailbox.
    ///
    /// Opening one, the submitter also takes the mailboxes its shard retired since, and
    /// releases them once it has unlocked (``retire(_:)``).
    func mailbox(for key: Key, make: () -> Mailbox) -> Mailbox {
        var released = Retired()
        let mailbox = shard(key).state.withLock { state in
            if let existing = Self.find(key, in: state.mailboxes) { return existing }
            let created = make()
            assert(created.directoryKey.hash == key.hash, "a mailbox is opened under the key it is filed by")
            state.mailboxes.insert(created, hash: key.hash)
            swap(&released, &state.retired)
            return created
        }
        // Released here, after unlocking, on the submitter's thread.
        _ = consume released
        return mailbox
    }

    func existing(_ key: ObjectKey) -> Mailbox? {
        let key = Key(key)
        return shard(key).state.withLock { Self.find(key, in: $0.mailboxes) }
    }

    /// The mailbox filed under `key` in a shard's table, comparing keys only on equal hashes.
    private static func find(_ key: Key, in mailboxes: borrowing MailboxTable<Mailbox>) -> Mailbox? {
        mailboxes.find(hash: key.hash) { $0.directoryKey.object == key.object }
    }

    /// Removes a retiring mailbox, unless another has already taken its place, and keeps it
    /// (up to four a shard) for the next submitter that opens a mailbox in the shard to
    /// release.
    ///
    /// A mailbox, its line's buffer and its inbox's are allocated by the submitter that
    /// opens it, and a worker retires it. Freed there, each goes back to the submitter's
    /// allocator arena under that arena's lock, while the submitter takes that lock to
    /// allocate the next: with glibc, at 100 000 objects, waiting on and waking for that lock
    /// took a quarter of the run's samples. Released by a submitter, they go to its
    /// thread's cache, which the next opening allocates from without a lock.
    func retire(_ mailbox: Mailbox) {
        shard(mailbox.directoryKey).state.withLock { state in
            if state.mailboxes.remove(mailbox, hash: mailbox.directoryKey.hash), !state.keepsNoRetired { _ = state.retired.keep(mailbox) }
        }
    }

    /// Releases the retired mailboxes kept for the next openings, and keeps none from then
    /// on: a kept mailbox holds its engine, which holds this directory, so a docket going
    /// away calls this, or the two would keep each other.
    func releaseRetired() {
        release(live: false)
    }

    /// Releases every mailbox, live or retired, and keeps none from then on: for a docket
    /// going away (``Engine/release()``), whose blocked and delayed lines would otherwise hold
    /// its engine. A worker that retires a mailbox afterwards finds it gone and keeps nothing.
    func releaseAll() {
        release(live: true)
    }

    /// Keeps no retired mailbox from now on and releases those kept, and with `live` the live
    /// ones too, each shard's after unlocking it.
    private func release(live: Bool) {
        for shard in shards {
            var retired = Retired()
            let released = shard.state.withLock { state -> [Mailbox] in
                state.keepsNoRetired = true
                swap(&retired, &state.retired)
                return live ? state.mailboxes.removeAll() : []
            }
            _ = consume retired
            _ = consume released
        }
    }

    /// How many mailboxes are live (for memory checks and metrics).
    var count: Int {
        shards.reduce(0) { total, shard in total + shard.state.withLock { $0.mailboxes.count } }
    }

    /// How many retired mailboxes are kept for the next openings (for tests).
    var retiredCount: Int {
        shards.reduce(0) { total, shard in total + shard.state.withLock { $0.retired.count } }
    }
}
