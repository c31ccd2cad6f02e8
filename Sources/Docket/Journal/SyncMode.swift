/// When a ``SegmentLog`` calls `fsync`, and so what "durable" means for its records.
enum SyncMode: Sendable, Hashable {
    /// Group commit: the writer writes every record buffered so far with as few `write` calls as it
    /// can, then one `fsync` covers them all. A record is durable once that `fsync` returns.
    case groupCommit
    /// Every record is written and `fsync`ed on its own, in order: the slow baseline group commit
    /// is measured against. A record is durable once its own `fsync` returns.
    case perRecord
    /// Records are written but never `fsync`ed, nor are the files and directory entries the log
    /// creates. "Durable" then means "handed to the kernel": records survive the process ending,
    /// not the machine crashing; after a machine crash even a segment that is not the last may be
    /// torn, which reading reports as damage. For tests, and for journals that need no crash safety.
    case none
}
