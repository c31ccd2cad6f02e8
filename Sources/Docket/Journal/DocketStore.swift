/// Where a docket persists its operations: the boundary every state change goes through.
///
/// The engine calls ``append(_:)`` once per state change, in the order the changes happen
/// to each operation, and waits with ``waitDurable(_:)`` where it must not go on before a
/// record is safe: before accepting a submission, before running a body,
/// and before handing out a read-once result or reporting a retry, delete or cancel as done.
/// At open it calls ``recover()`` once, before any append, and restores what the records
/// add up to.
///
/// ``FileJournal`` is the embedded implementation and ``InMemoryStore`` keeps records in
/// memory (a restart within one process, for tests). `Docs/Durability.md` explains how a
/// store shared by several processes, such as PostgreSQL, would implement this protocol.
public protocol DocketStore: AnyObject, Sendable {
    /// Every record written so far, in order (a store may first replace them by fewer
    /// records that add up to the same state). Called once, at open, before any append.
    ///
    /// - Throws: ``DocketError`` with ``DocketError/Code-swift.struct/journalCorrupt`` or
    ///   ``DocketError/Code-swift.struct/journalFailed``.
    func recover() throws -> [JournalRecord]

    /// Appends a record, after every record appended before it, and returns its ticket.
    /// Must not block: waiting for durability is separate. It is called while the docket
    /// holds the lock that orders the record (a tracker shard, an object's line, the line
    /// directory), so it must not call back into the docket.
    func append(_ record: JournalRecord) -> UInt64

    /// The ticket of the newest record appended so far (0 before the first).
    var lastTicket: UInt64 { get }

    /// Returns once the record of `ticket`, and every record before it, is durable.
    ///
    /// - Throws: ``DocketError`` with ``DocketError/Code-swift.struct/journalFailed`` when it
    ///   cannot be made durable.
    func waitDurable(_ ticket: UInt64) async throws

    /// ``waitDurable(_:)`` for synchronous callers: blocks the calling thread.
    func waitDurableBlocking(_ ticket: UInt64) throws

    /// Whether waiting for durability means anything. When `false`, the engine skips the waits.
    var isDurable: Bool { get }

    /// Writes what is pending and releases the store (and its lock, if any).
    func close() async throws
}
