import Foundation
import Synchronization

/// The embedded ``DocketStore``: an append-only journal of checksummed records in segment
/// files in one directory, with group commit and compaction. Pure Swift and Foundation; no
/// server to install.
///
/// ```swift
/// let journal = try FileJournal(directory: URL(fileURLWithPath: "/var/lib/app/docket"))
/// let docket = try await Docket(registry: registry, store: journal)
/// ```
///
/// - **Durability.** With ``Durability-swift.enum/groupCommit`` (the default) a submission
///   returns only once its record is on disk, and many concurrent submissions share one
///   `fsync`. A result is handed out only once its taking is on disk.
/// - **One owner.** The directory is locked while a journal is open: a second process (or a
///   second journal in this one) is refused with ``DocketError/Code-swift.struct/journalLocked``.
///   A cron-style runner opens the journal, runs what is due, and closes it.
/// - **Damage.** A torn record at the very end (a crash mid-write) is cut away at open; a
///   damaged record anywhere else refuses the open with
///   ``DocketError/Code-swift.struct/journalCorrupt``, naming the file and offset.
/// - **Compaction.** Once the files have grown past ``compactionThreshold`` and twice what
///   the live operations need, they are replaced by a snapshot of the live operations (and
///   the tombstones still inside their window), so the files stay proportional to live work.
public final class FileJournal: DocketStore {
    /// When records are forced to disk.
    public enum Durability: Sendable, Hashable {
        /// One `fsync` covers every record written since the last: durable and fast.
        case groupCommit
        /// One `fsync` per record: durable and slow (a baseline to measure group commit by).
        case perRecord
        /// No `fsync`: records survive the process ending, not the machine crashing.
        case none
    }

    private struct State: Sendable {
        /// What the records add up to, kept for compaction.
        var journal = JournalState()
        var lastTicket: UInt64 = 0
        /// Bytes on disk after the last compaction (or at open).
        var compactedBytes = 0
        var compacting = false
        /// The compaction running in the background, if any.
        var background: Task<Void, Never>?
    }

    /// The directory holding the segment files and the lock.
    public let directory: URL
    /// When records are forced to disk.
    public let durability: Durability
    /// The size the files may reach before compaction is considered.
    public let compactionThreshold: Int
    /// How long tombstones are kept: the docket's ``DocketConfiguration/tombstoneLifetime``.
    public let tombstoneLifetime: Duration

    private let log: SegmentLog
    private let wallClock: @Sendable () -> Date
    private let state = Locked(State())
    private let compactions = Atomic<Int>(0)

    /// Opens (creating if needed) the journal in `directory` and locks it.
    ///
    /// - Parameters:
    ///   - directory: Where the journal lives; created if missing.
    ///   - durability: When records are forced to disk.
    ///   - compactionThreshold: The size in bytes the files may reach before compaction is considered.
    ///   - segmentLimit: The size in bytes at which a new segment file is started.
    ///   - tombstoneLifetime: Match the docket's ``DocketConfiguration/tombstoneLifetime``.
    ///   - wallClock: The current date, by which compaction ages results and tombstones; give
    ///     the docket's own when its clock is not the system's.
    /// - Throws: ``DocketError`` with ``DocketError/Code-swift.struct/journalLocked`` when another
    ///   journal holds the directory, ``DocketError/Code-swift.struct/journalFailed`` when it cannot
    ///   be created or opened.
    public init(
        directory: URL, durability: Durability = .groupCommit, compactionThreshold: Int = 64 << 20,
        segmentLimit: Int = 64 << 20, tombstoneLifetime: Duration = .seconds(24 * 3600),
        wallClock: @escaping @Sendable () -> Date = { Date() }
    ) throws {
        guard compactionThreshold > 0, segmentLimit > 0 else {
            throw DocketError(.invalidConfiguration, "compactionThreshold and segmentLimit must be positive (they are \(compactionThreshold) and \(segmentLimit)).")
        }
        self.directory = directory
        self.durability = durability
        self.compactionThreshold = compactionThreshold
        self.tombstoneLifetime = tombstoneLifetime
        self.wallClock = wallClock
        let sync: SyncMode
        switch durability {
        case .groupCommit: sync = .groupCommit
        case .perRecord: sync = .perRecord
        case .none: sync = .none
        }
        log = try SegmentLog(directory: directory, sync: sync, segmentLimit: segmentLimit)
    }

    /// Bytes the journal's files take on disk.
    public var byteCount: Int { log.byteCount }
    /// How many compactions have run since open.
    public var compactionCount: Int { compactions.load(ordering: .relaxed) }
    /// How many `fsync`s made records durable since open.
    public var syncCount: Int { log.syncCount }
    /// Bytes of a torn record cut from the end at open (a crash mid-write).
    public var truncatedTailBytes: Int { log.truncatedTailBytes }

    /// Reads every record back (cutting a torn tail), compacting first when the files hold
    /// much more than the live operations need.
    public func recover() throws -> [JournalRecord] {
        let payloads = try log.readAll()
        var records: [JournalRecord] = []
        records.reserveCapacity(payloads.count)
        for (index, payload) in payloads.enumerated() {
            do {
                records.append(try JournalCodec.decode(payload))
            } catch {
                throw DocketError(
                    .journalCorrupt,
                    "Record \(index) of the journal in \(directory.path) has a valid checksum but does not decode (\(error)); it was written by another format. Open it with the version that wrote it, or move the directory aside.")
            }
        }
        let journal = JournalState(records)
        state.withLock { $0.journal = journal }
        compactIfWorthIt(now: wallClock(), synchronously: true)
        return records
    }

    /// Appends a record; compaction starts in the background when the files have grown enough.
    public func append(_ record: JournalRecord) -> UInt64 {
        let payload = JournalCodec.encode(record)
        let ticket = state.withLock { state -> UInt64 in
            state.journal.apply(record)
            state.lastTicket = log.append(payload)
            return state.lastTicket
        }
        if log.byteCount >= compactionThreshold { compactIfWorthIt(now: wallClock(), synchronously: false) }
        return ticket
    }

    /// The ticket of the newest record.
    public var lastTicket: UInt64 { state.withLock { $0.lastTicket } }

    /// Returns once the record is on disk (for ``Durability-swift.enum/none``, written).
    public func waitDurable(_ ticket: UInt64) async throws {
        try await log.waitDurable(ticket)
    }

    /// Blocks until the record is on disk.
    public func waitDurableBlocking(_ ticket: UInt64) throws {
        try log.waitDurableBlocking(ticket)
    }

    /// `true` unless the durability is ``Durability-swift.enum/none``.
    public var isDurable: Bool { durability != .none }

    /// Returns once the compaction running in the background, if any, has finished.
    public func compactionFinished() async {
        await state.withLock { $0.background }?.value
    }

    /// Finishes a compaction in progress, writes what is pending, stops the writer and
    /// releases the directory's lock.
    public func close() async throws {
        await compactionFinished()
        try? await log.flush()
        await log.close()
    }

    /// Replaces the records written so far by a snapshot of what they add up to, now.
    public func compact() throws {
        try compact(now: wallClock())
    }

    // MARK: Compaction

    /// Marks a compaction as running, when none is and `worthIt` holds; returns whether it did.
    private func claimCompaction(when worthIt: (State) -> Bool = { _ in true }) -> Bool {
        state.withLock { state in
            guard !state.compacting, worthIt(state) else { return false }
            state.compacting = true
            return true
        }
    }

    private func compactIfWorthIt(now: Date, synchronously: Bool) {
        let size = log.byteCount
        guard claimCompaction(when: { size >= compactionThreshold && size >= 2 * $0.compactedBytes }) else { return }
        if synchronously {
            try? compact(now: now, claimed: true)
        } else {
            // One task per compaction, not per record.
            let task = Task.detached { [self] in _ = try? compact(now: wallClock(), claimed: true) }
            state.withLock { $0.background = task }
        }
    }

    private func compact(now: Date, claimed: Bool = false) throws {
        guard claimed || claimCompaction() else { return }
        defer { state.withLock { $0.compacting = false } }
        // The cut and the state it stands for are taken together, under the append lock; the
        // state is aged there once, for itself and for the snapshot.
        let (cut, journal) = state.withLock { state in
            state.journal.age(now: now, tombstoneLifetime: tombstoneLifetime)
            return (log.rotate(), state.journal)
        }
        let snapshot = journal.records.map(JournalCodec.encode)
        try log.replace(through: cut, with: snapshot)
        let size = log.byteCount
        state.withLock { $0.compactedBytes = size }
        compactions.add(1, ordering: .relaxed)
    }
}
