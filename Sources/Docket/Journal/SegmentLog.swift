#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// The byte layer of the journal: opaque records in append-only segment files in one directory,
/// written with group commit by a dedicated thread.
///
/// Payloads are `[UInt8]`: appending copies them into one growing byte buffer, with no bridging
/// and no per-record allocation beyond the caller's own array.
///
/// Guarantees:
/// - One open log per directory: opening takes an exclusive `flock` on the file `lock` in it,
///   held until ``close()``. A second open, from this process or another, is refused with
///   ``DocketError/Code/journalLocked``.
/// - Records are read back by ``readAll()`` in the order ``append(_:)`` took them, across segment
///   files (named so that lexical order is log order, see ``SegmentFileName``; the byte layout is
///   ``SegmentFormat``).
/// - A record is on disk once ``waitDurable(_:)`` for its ticket returns (for ``SyncMode/none``,
///   handed to the kernel). A failed write or sync fails every waiter not yet durable, and the
///   log takes no more records.
/// - A crash can tear only the end of the last segment; the next ``readAll()`` cuts that torn
///   tail away (see ``SegmentFormat/isTornTail(_:from:)`` for the rule). Any other damage is
///   reported as ``DocketError/Code/journalCorrupt`` and nothing is changed.
/// - Compaction (``rotate()`` then ``replace(through:with:)``) is crash-safe: after a crash at
///   any step, the log reads as either the old records or the snapshot, followed by the records
///   appended after the cut, never both and never neither.
///
/// Call ``close()`` when done: the writer thread holds the log, so one never closed keeps its
/// thread, descriptors and lock until the process ends.
final class SegmentLog: Sendable {
    /// A record's contents, opaque to the log.
    typealias Payload = [UInt8]

    /// The directory that holds the segment files and the `lock` file.
    let directory: URL
    /// When the writer syncs, and so what "durable" means.
    let sync: SyncMode
    /// A segment takes no more records once the next one would take it past this many bytes (a
    /// record larger than the limit gets a segment of its own).
    let segmentLimit: Int

    /// Where the writer is to resume when a batch ends: a switch to segment `segment` before the
    /// buffered byte at `offset`.
    private struct Switch: Sendable {
        var offset: Int
        var segment: UInt64
        /// The ticket of a ``SegmentLog/rotate()``, `nil` for a switch made because a segment is full.
        var ticket: UInt64?
    }

    private struct Waiter: Sendable {
        var ticket: UInt64
        var continuation: CheckedContinuation<Void, any Error>
    }

    /// What appenders and waiters share with the writer.
    private struct State: Sendable {
        /// Framed records not yet taken by the writer.
        var buffer: [UInt8] = []
        /// Segment switches inside `buffer`, in order.
        var switches: [Switch] = []
        /// The last ticket handed out (appends and rotations share the sequence).
        var lastTicket: UInt64 = 0
        /// The last ticket whose record (or rotation) went into the buffer.
        var bufferedThrough: UInt64 = 0
        /// The last ticket the writer has taken.
        var takenThrough: UInt64 = 0
        /// Every ticket up to this one is durable.
        var durable: UInt64 = 0
        /// The segment the next record goes to.
        var segment: UInt64
        /// The bytes that segment will hold once the buffer is written.
        var projectedSize: Int
        /// Why the log takes no more records, once it does not.
        var failure: DocketError?
        var closing = false
        var writerIdle = false
        var writerExited = false
        var waiters: [Waiter] = []
        var blockingWaiters = 0
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// A file of the log, in log order.
    private struct FileEntry: Sendable {
        var name: SegmentFileName
        var size: Int
    }

    /// What the writer, ``readAll()`` and ``replace(through:with:)`` do to the files, under one lock.
    private struct Files: Sendable {
        /// The files that hold records, in log order: at most one snapshot, then segments.
        var entries: [FileEntry]
        /// The descriptor of the segment being appended to, -1 until the writer opens it.
        var active: Int32 = -1
        /// The segment being appended to (it may not exist yet).
        var activeNumber: UInt64
        /// Whether the active segment has bytes not yet synced.
        var activeDirty = false
        /// The segment that was last when the log was opened, until its tail has been checked.
        var repairPending: UInt64?
    }

    private let lockDescriptor: Int32
    private let state: Locked<State>
    private let files: Locked<Files>
    /// Serializes compactions. It holds a count rather than nothing: a lock around an empty
    /// value would share its address with the next property, which confuses ThreadSanitizer.
    private let compaction = Locked<Int>(0)
    private let writerWake = WakeSignal()
    private let durableChanged = NSCondition()
    private let syncs = Atomic<Int>(0)
    private let bytesOnDisk = Atomic<Int>(0)
    private let filesOnDisk = Atomic<Int>(0)
    private let tailBytesCut = Atomic<Int>(0)

    /// Opens the log in `directory`, creating the directory if needed, and starts its writer thread.
    ///
    /// Opening does not read records; it takes the lock and finishes or undoes a compaction a
    /// crash interrupted: leftover snapshot temp files are removed, and where a complete snapshot
    /// exists, the segments it replaces are removed (the snapshot won once its rename was synced).
    /// Appends continue the last segment once its tail has been checked (by ``readAll()`` or the
    /// writer's first batch, whichever comes first).
    ///
    /// - Throws: ``DocketError/Code/journalLocked`` if another open log holds the directory;
    ///   ``DocketError/Code/journalFailed`` if the directory or a file cannot be created, listed
    ///   or removed.
    init(directory: URL, sync: SyncMode, segmentLimit: Int = 64 << 20) throws {
        precondition(segmentLimit > 0, "segmentLimit must be positive")
        let directory = directory.standardizedFileURL
        let path = directory.path
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw DocketError(.journalFailed, "Could not create the journal directory \(path): \(error.localizedDescription). Check the path and its permissions.")
        }
        let lockPath = directory.appendingPathComponent("lock").path
        let lockDescriptor = try FileIO.open(lockPath, O_RDWR | O_CREAT)
        let entries: [FileEntry]
        do {
            guard try FileIO.tryLock(lockDescriptor, path: lockPath) else {
                throw DocketError(
                    .journalLocked,
                    "The journal in \(path) is already open, in this process or another (it holds \(lockPath)). Close that journal first, or give this one a different directory.")
            }
            entries = try Self.recoverLayout(directory: directory, sync: sync)
        } catch {
            FileIO.closeDescriptor(lockDescriptor)
            throw error
        }

        let activeNumber: UInt64
        let projectedSize: Int
        let repairPending: UInt64?
        if let last = entries.last, last.name.kind == .segment {
            activeNumber = last.name.number
            projectedSize = max(last.size, SegmentFormat.headerSize)
            repairPending = last.name.number
        } else {
            activeNumber = (entries.last?.name.number ?? 0) + 1
            projectedSize = SegmentFormat.headerSize
            repairPending = nil
        }

        self.directory = directory
        self.sync = sync
        self.segmentLimit = segmentLimit
        self.lockDescriptor = lockDescriptor
        self.state = Locked(State(segment: activeNumber, projectedSize: projectedSize))
        self.files = Locked(Files(entries: entries, activeNumber: activeNumber, repairPending: repairPending))
        bytesOnDisk.store(entries.reduce(0) { $0 + $1.size }, ordering: .relaxed)
        filesOnDisk.store(entries.count, ordering: .relaxed)

        let thread = Thread { [self] in runWriter() }
        thread.name = "Docket journal writer"
        thread.start()
    }

    // MARK: - Reading

    /// Every record of every file, in log order: the snapshot's records, if there is one, then
    /// each segment's.
    ///
    /// Safe to call at any time, before or between appends: it reads what the writer has
    /// written so far. The first call (or the writer's first batch, if it comes first) checks the
    /// tail of the segment that was last when the log was opened: a torn tail there is cut away,
    /// the file synced, and the count of bytes cut added to ``truncatedTailBytes``.
    ///
    /// - Throws: ``DocketError/Code/journalCorrupt`` for an unknown header, or a damaged record
    ///   anywhere but a torn tail; the message names the file and the byte offset.
    ///   ``DocketError/Code/journalFailed`` if a file cannot be read, or the log is closed.
    func readAll() throws -> [Payload] {
        try checkOpen()
        return try files.withLock { files in
            var records: [Payload] = []
            for index in files.entries.indices {
                try read(&files, index) { records.append(Payload($0)) }
            }
            return records
        }
    }

    /// How many bytes were cut from the end of the last segment because a crash had torn them
    /// (0 until the tail has been checked, and when it was whole).
    var truncatedTailBytes: Int { tailBytesCut.load(ordering: .relaxed) }

    /// The bytes on disk in the log's segment and snapshot files, as far as this log knows
    /// (written bytes count before they are synced). For deciding when to compact.
    var byteCount: Int { bytesOnDisk.load(ordering: .relaxed) }

    /// How many files hold the log's records: segments, plus the snapshot if there is one.
    var segmentCount: Int { filesOnDisk.load(ordering: .relaxed) }

    /// How many times the writer has called `fsync` to make appended records durable: once per
    /// batch in ``SyncMode/groupCommit`` (plus once when a batch fills a segment), once per record
    /// in ``SyncMode/perRecord``, never in ``SyncMode/none``. Syncs made when creating files,
    /// repairing a tail or writing a snapshot are not counted.
    var syncCount: Int { syncs.load(ordering: .relaxed) }

    // MARK: - Appending

    /// Buffers `payload` as the next record and returns its ticket, at once: the writer thread
    /// writes it later, after every record appended before it.
    ///
    /// Tickets increase by at least one per call (``rotate()`` takes tickets from the same
    /// sequence). Pass the ticket to ``waitDurable(_:)`` to know when the record is on disk. After
    /// a failure or ``close()``, the record is dropped, and waiting for its ticket throws.
    @discardableResult
    func append(_ payload: Payload) -> UInt64 {
        precondition(payload.count <= Int(UInt32.max), "a journal record holds at most 4 GiB")
        let checksum = SegmentFormat.checksum(of: payload)
        let recordSize = SegmentFormat.recordHeaderSize + payload.count
        let limit = segmentLimit
        let (ticket, wake) = state.withLock { state -> (UInt64, Bool) in
            state.lastTicket += 1
            guard state.failure == nil, !state.closing else { return (state.lastTicket, false) }
            if state.projectedSize + recordSize > limit && state.projectedSize > SegmentFormat.headerSize {
                state.segment += 1
                state.switches.append(Switch(offset: state.buffer.count, segment: state.segment, ticket: nil))
                state.projectedSize = SegmentFormat.headerSize
            }
            state.projectedSize += recordSize
            SegmentFormat.appendRecord(payload, checksum: checksum, to: &state.buffer)
            state.bufferedThrough = state.lastTicket
            let wake = state.writerIdle
            state.writerIdle = false
            return (state.lastTicket, wake)
        }
        if wake { writerWake.signal() }
        return ticket
    }

    /// Starts a new segment for every record appended from now on, and returns the cut between
    /// the two: every record appended before this call is in `cut.segment` or earlier, every one
    /// appended after in a later segment. Atomic with respect to ``append(_:)``.
    ///
    /// The new segment is created by the writer; once `cut.ticket` is durable, the writer has
    /// finished with every segment up to the cut.
    func rotate() -> SegmentCut {
        let (cut, wake) = state.withLock { state -> (SegmentCut, Bool) in
            state.lastTicket += 1
            let cut = SegmentCut(segment: state.segment, ticket: state.lastTicket)
            guard state.failure == nil, !state.closing else { return (cut, false) }
            state.segment += 1
            state.switches.append(Switch(offset: state.buffer.count, segment: state.segment, ticket: state.lastTicket))
            state.projectedSize = SegmentFormat.headerSize
            state.bufferedThrough = state.lastTicket
            let wake = state.writerIdle
            state.writerIdle = false
            return (cut, wake)
        }
        if wake { writerWake.signal() }
        return cut
    }

    // MARK: - Waiting

    /// Returns once the record of `ticket`, and every record appended before it, is durable:
    /// synced by `fsync` (in ``SyncMode/none``, written). Suspends without blocking a thread;
    /// the writer resumes waiters after each sync. It does not end early when the task is
    /// cancelled: the wait is bounded by the write in progress.
    ///
    /// - Throws: ``DocketError/Code/journalFailed`` if a write or sync failed before the record
    ///   was durable, or the log was closed first (a corrupt last segment found by the writer
    ///   throws its ``DocketError/Code/journalCorrupt``).
    func waitDurable(_ ticket: UInt64) async throws {
        if let outcome = state.withLock({ Self.outcome(of: ticket, in: $0) }) { return try outcome.get() }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let outcome = state.withLock { state -> Result<Void, DocketError>? in
                if let outcome = Self.outcome(of: ticket, in: state) { return outcome }
                state.waiters.append(Waiter(ticket: ticket, continuation: continuation))
                return nil
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }

    /// Blocks the calling thread until the record of `ticket` is durable, for synchronous
    /// callers; the same as ``waitDurable(_:)`` otherwise. Do not call it from the writer thread
    /// (nothing in the log does).
    func waitDurableBlocking(_ ticket: UInt64) throws {
        durableChanged.lock()
        defer { durableChanged.unlock() }
        var registered = false
        while true {
            let outcome = state.withLock { state -> Result<Void, DocketError>? in
                let outcome = Self.outcome(of: ticket, in: state)
                if outcome != nil, registered { state.blockingWaiters -= 1 }
                if outcome == nil, !registered { state.blockingWaiters += 1 }
                return outcome
            }
            if let outcome { return try outcome.get() }
            registered = true
            durableChanged.wait()
        }
    }

    /// Returns once every record appended before the call is durable.
    ///
    /// - Throws: as ``waitDurable(_:)``.
    func flush() async throws {
        let last = state.withLock { $0.lastTicket }
        if last > 0 { try await waitDurable(last) }
    }

    /// Success once `ticket` is durable, the failure once the log has failed, `nil` while waiting.
    private static func outcome(of ticket: UInt64, in state: State) -> Result<Void, DocketError>? {
        precondition(ticket <= state.lastTicket, "ticket \(ticket) was never handed out")
        if state.durable >= ticket { return .success(()) }
        if let failure = state.failure { return .failure(failure) }
        return nil
    }

    // MARK: - Compaction

    /// The points at which a test can stop ``replace(through:with:stoppingAfter:)`` to leave the
    /// files as a crash there would.
    enum ReplaceStep: Sendable {
        /// The snapshot is written and synced under its temp name; nothing else has changed.
        case tempWritten
        /// The snapshot has its final name; the segments it replaces still exist.
        case renamed
        /// The first of the replaced files has been removed.
        case firstOldFileRemoved
    }

    /// Replaces every record up to `cut` with `snapshot`, crash-safely; records appended after
    /// the cut are untouched, and appends go on while this runs.
    ///
    /// Steps: wait until the writer is done with the segments up to the cut; write `snapshot`
    /// to `segment-<cut>.snapshot.tmp` and sync it; rename it to `segment-<cut>.snapshot.log`
    /// (which sorts after the segments it replaces and before the later ones) and sync the
    /// directory; remove the replaced segments (and any older snapshot) and sync the directory.
    /// A crash before the rename leaves the old files and a temp file that opening removes; a
    /// crash after it leaves a snapshot that wins on opening, which removes the files it replaces.
    /// Blocks the calling thread for the writes; one replacement runs at a time.
    ///
    /// - Throws: ``DocketError/Code/journalFailed`` if a file cannot be written, renamed or
    ///   removed, or the log failed before the cut was durable. A failure before the rename
    ///   leaves the log as it was.
    func replace(through cut: SegmentCut, with snapshot: [Payload]) throws {
        try replace(through: cut, with: snapshot, stoppingAfter: nil)
    }

    /// ``replace(through:with:)``, stopping after `step` to leave the files as a crash there
    /// would (for tests; close the log afterwards, as a crashed one would be).
    func replace(through cut: SegmentCut, with snapshot: [Payload], stoppingAfter step: ReplaceStep?) throws {
        try compaction.withLock { replacements in
            replacements += 1
            try checkOpen()
            try waitDurableBlocking(cut.ticket)
            let newest = files.withLock { $0.entries.first(where: { $0.name.kind == .snapshot })?.name.number }
            if let newest, newest > cut.segment {
                throw DocketError(.journalFailed, "A snapshot through segment \(newest) already replaced the records of the cut through segment \(cut.segment) in \(directory.path). Replace cuts in the order they were made.")
            }
            let syncing = sync != .none
            let tempPath = path(of: SegmentFileName(cut.segment, .snapshotTemp))
            let snapshotName = SegmentFileName(cut.segment, .snapshot)
            let snapshotPath = path(of: snapshotName)
            let bytes = SegmentFormat.encodeFile(snapshot)
            let descriptor = try FileIO.open(tempPath, O_WRONLY | O_CREAT | O_TRUNC)
            do {
                try FileIO.writeAll(descriptor, bytes, path: tempPath)
                if syncing { try FileIO.syncFile(descriptor, path: tempPath) }
                FileIO.closeDescriptor(descriptor)
            } catch {
                FileIO.closeDescriptor(descriptor)
                try? FileIO.remove(tempPath)
                throw error
            }
            if step == .tempWritten { return }

            try files.withLock { files in
                try FileIO.rename(tempPath, to: snapshotPath)
                if syncing { try FileIO.syncDirectory(directory.path) }
                // From here the snapshot is the log's: the replaced files leave the list (and the
                // counts) now, and a file whose removal fails is removed by the next open.
                var replaced: [FileEntry] = []
                var kept: [FileEntry] = [FileEntry(name: snapshotName, size: bytes.count)]
                for entry in files.entries {
                    if entry.name.number <= cut.segment {
                        bytesOnDisk.subtract(entry.size, ordering: .relaxed)
                        filesOnDisk.subtract(1, ordering: .relaxed)
                        // A snapshot of the same name was overwritten by the rename.
                        if entry.name != snapshotName { replaced.append(entry) }
                    } else {
                        kept.append(entry)
                    }
                }
                files.entries = kept
                bytesOnDisk.add(bytes.count, ordering: .relaxed)
                filesOnDisk.add(1, ordering: .relaxed)
                if let pending = files.repairPending, pending <= cut.segment { files.repairPending = nil }
                if step == .renamed { return }

                for entry in replaced {
                    try FileIO.remove(path(of: entry.name))
                    if step == .firstOldFileRemoved { return }
                }
                if syncing && !replaced.isEmpty { try FileIO.syncDirectory(directory.path) }
            }
        }
    }

    // MARK: - Closing

    /// Writes and syncs every record appended so far, stops the writer thread, closes the files
    /// and releases the directory's lock, so that a new log can open it. Later appends are
    /// dropped and waiting for them throws. Calling it again waits for the first call's work.
    func close() async {
        let wake = state.withLock { state -> Bool in
            state.closing = true
            let wake = state.writerIdle
            state.writerIdle = false
            return wake
        }
        if wake { writerWake.signal() }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let exited = state.withLock { state -> Bool in
                if !state.writerExited { state.closeWaiters.append(continuation) }
                return state.writerExited
            }
            if exited { continuation.resume() }
        }
    }

    private func checkOpen() throws {
        if let failure = state.withLock({ $0.closing ? Self.closedError(directory.path) : nil }) { throw failure }
    }

    private static func closedError(_ path: String) -> DocketError {
        DocketError(.journalFailed, "The journal in \(path) is closed. Open it again to read or append.")
    }

    // MARK: - Test hooks

    /// Makes every later write to the active segment fail with `ENOSPC`, as on a full disk, by
    /// putting `/dev/full` behind its descriptor. The writer must have opened the segment
    /// (wait for one record first). For tests.
    func simulateFullDiskForTesting() throws {
        try files.withLock { files in
            precondition(files.active >= 0, "append and wait for a record first")
            let full = try FileIO.open("/dev/full", O_WRONLY)
            defer { FileIO.closeDescriptor(full) }
            guard dup2(full, files.active) >= 0 else { throw FileIO.failure("redirect", "/dev/full", errno) }
        }
    }

    // MARK: - The writer thread

    private enum Next {
        /// Write the bytes swapped out of the buffer, with these switches and tickets.
        case write(switches: [Switch], firstTicket: UInt64, lastTicket: UInt64)
        case idle
        case stop
    }

    private func runWriter() {
        var spare: [UInt8] = []
        while true {
            var bytes = spare
            let next = state.withLock { state -> Next in
                if state.buffer.isEmpty && state.switches.isEmpty {
                    if state.closing { return .stop }
                    state.writerIdle = true
                    return .idle
                }
                swap(&bytes, &state.buffer)
                let switches = state.switches
                state.switches.removeAll()
                let first = state.takenThrough + 1
                state.takenThrough = state.bufferedThrough
                return .write(switches: switches, firstTicket: first, lastTicket: state.bufferedThrough)
            }
            switch next {
            case .idle:
                writerWake.wait()
            case .stop:
                finishWriter()
                return
            case .write(let switches, let firstTicket, let lastTicket):
                do {
                    try files.withLock { files in
                        try checkTail(&files)
                        if files.active < 0 { try openActive(&files) }
                        if sync == .perRecord {
                            try writeEach(bytes, switches, firstTicket: firstTicket, &files)
                        } else {
                            try writeGroup(bytes, switches, lastTicket: lastTicket, &files)
                        }
                    }
                } catch {
                    fail(error as? DocketError ?? DocketError(.journalFailed, "The journal in \(directory.path) failed: \(error)"))
                }
                bytes.removeAll(keepingCapacity: true)
                spare = bytes
            }
        }
    }

    /// Group commit: one `write` per segment the batch touches, one `fsync` for the batch.
    private func writeGroup(_ bytes: [UInt8], _ switches: [Switch], lastTicket: UInt64, _ files: inout Files) throws {
        try bytes.withUnsafeBytes { bytes in
            var position = 0
            for change in switches {
                if change.offset > position {
                    try writeToActive(UnsafeRawBufferPointer(rebasing: bytes[position..<change.offset]), &files)
                    position = change.offset
                }
                try switchSegment(to: change.segment, &files)
            }
            if position < bytes.count {
                try writeToActive(UnsafeRawBufferPointer(rebasing: bytes[position...]), &files)
            }
        }
        try syncActive(&files)
        publish(lastTicket)
    }

    /// The baseline: each record written and synced alone, and published as soon as it is.
    private func writeEach(_ bytes: [UInt8], _ switches: [Switch], firstTicket: UInt64, _ files: inout Files) throws {
        try bytes.withUnsafeBytes { bytes in
            var ticket = firstTicket
            var position = 0
            var nextSwitch = 0
            while true {
                while nextSwitch < switches.count && switches[nextSwitch].offset == position {
                    try switchSegment(to: switches[nextSwitch].segment, &files)
                    if switches[nextSwitch].ticket != nil {
                        publish(ticket)
                        ticket += 1
                    }
                    nextSwitch += 1
                }
                guard position < bytes.count else { break }
                let length = Int(bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self).littleEndian)
                let end = position + SegmentFormat.recordHeaderSize + length
                try writeToActive(UnsafeRawBufferPointer(rebasing: bytes[position..<end]), &files)
                try syncActive(&files)
                publish(ticket)
                ticket += 1
                position = end
            }
        }
    }

    private func writeToActive(_ bytes: UnsafeRawBufferPointer, _ files: inout Files) throws {
        try FileIO.writeAll(files.active, bytes, path: path(of: SegmentFileName(files.activeNumber, .segment)))
        files.entries[files.entries.count - 1].size += bytes.count
        bytesOnDisk.add(bytes.count, ordering: .relaxed)
        if sync != .none { files.activeDirty = true }
    }

    /// Syncs the active segment if it has unsynced records, counting the sync.
    private func syncActive(_ files: inout Files) throws {
        guard files.activeDirty else { return }
        try FileIO.syncFile(files.active, path: path(of: SegmentFileName(files.activeNumber, .segment)))
        files.activeDirty = false
        syncs.add(1, ordering: .relaxed)
    }

    /// Finishes the active segment (synced, so that a later segment's existence implies this one
    /// is whole) and creates segment `number`.
    private func switchSegment(to number: UInt64, _ files: inout Files) throws {
        try syncActive(&files)
        if files.active >= 0 { FileIO.closeDescriptor(files.active) }
        files.active = -1
        files.activeNumber = number
        try openActive(&files)
    }

    /// Opens the active segment for appending, creating it (header written, file and directory
    /// synced) if it does not exist.
    private func openActive(_ files: inout Files) throws {
        let name = SegmentFileName(files.activeNumber, .segment)
        let path = path(of: name)
        if files.entries.last?.name == name {
            files.active = try FileIO.open(path, O_WRONLY | O_APPEND)
            return
        }
        let descriptor = try FileIO.open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL, action: "create")
        do {
            try FileIO.writeAll(descriptor, SegmentFormat.header, path: path)
            if sync != .none {
                try FileIO.syncFile(descriptor, path: path)
                try FileIO.syncDirectory(directory.path)
            }
        } catch {
            FileIO.closeDescriptor(descriptor)
            throw error
        }
        files.active = descriptor
        files.entries.append(FileEntry(name: name, size: SegmentFormat.headerSize))
        bytesOnDisk.add(SegmentFormat.headerSize, ordering: .relaxed)
        filesOnDisk.add(1, ordering: .relaxed)
    }

    /// Marks every ticket up to `ticket` durable and resumes the waiters it satisfies.
    private func publish(_ ticket: UInt64) {
        let (ready, blocking) = state.withLock { state -> ([Waiter], Bool) in
            state.durable = ticket
            var ready: [Waiter] = []
            if !state.waiters.isEmpty {
                state.waiters.removeAll { waiter in
                    guard waiter.ticket <= ticket else { return false }
                    ready.append(waiter)
                    return true
                }
            }
            return (ready, state.blockingWaiters > 0)
        }
        for waiter in ready { waiter.continuation.resume() }
        if blocking { wakeBlockingWaiters() }
    }

    /// Records `error` as the log's failure, drops the buffer and fails every waiter.
    private func fail(_ error: DocketError) {
        let (waiting, blocking) = state.withLock { state -> ([Waiter], Bool) in
            if state.failure == nil { state.failure = error }
            state.buffer.removeAll()
            state.switches.removeAll()
            let waiting = state.waiters
            state.waiters.removeAll()
            return (waiting, state.blockingWaiters > 0)
        }
        for waiter in waiting { waiter.continuation.resume(throwing: error) }
        if blocking { wakeBlockingWaiters() }
    }

    private func wakeBlockingWaiters() {
        durableChanged.lock()
        durableChanged.broadcast()
        durableChanged.unlock()
    }

    /// The writer's last act: sync and close the active segment, release the lock, fail the
    /// waiters of records dropped after closing, and resume ``close()``.
    private func finishWriter() {
        files.withLock { files in
            if files.active >= 0 {
                if files.activeDirty { try? FileIO.syncFile(files.active, path: path(of: SegmentFileName(files.activeNumber, .segment))) }
                FileIO.closeDescriptor(files.active)
                files.active = -1
            }
        }
        FileIO.closeDescriptor(lockDescriptor)
        let closed = Self.closedError(directory.path)
        let (closers, waiting, blocking) = state.withLock { state -> ([CheckedContinuation<Void, Never>], [Waiter], Bool) in
            state.writerExited = true
            if state.failure == nil { state.failure = closed }
            let closers = state.closeWaiters
            let waiting = state.waiters
            state.closeWaiters.removeAll()
            state.waiters.removeAll()
            return (closers, waiting, state.blockingWaiters > 0)
        }
        for waiter in waiting { waiter.continuation.resume(throwing: closed) }
        if blocking { wakeBlockingWaiters() }
        for closer in closers { closer.resume() }
    }

    // MARK: - Files

    private func path(of name: SegmentFileName) -> String {
        directory.appendingPathComponent(name.description).path
    }

    /// Checks the tail of the segment that was last at open, once.
    private func checkTail(_ files: inout Files) throws {
        guard let pending = files.repairPending,
            let index = files.entries.firstIndex(where: { $0.name == SegmentFileName(pending, .segment) })
        else { return }
        try read(&files, index) { _ in }
    }

    /// Reads the file at `index`, calling `record` with each payload; cuts a torn tail if the
    /// file is the segment whose tail is still to be checked.
    private func read(_ files: inout Files, _ index: Int, record: (UnsafeRawBufferPointer) -> Void) throws {
        let entry = files.entries[index]
        let path = path(of: entry.name)
        let repairing = files.repairPending == entry.name.number && entry.name.kind == .segment
        let contents = try FileIO.readFile(path)
        let verdict = contents.withUnsafeBytes { bytes -> ReadVerdict in
            if repairing && bytes.count < SegmentFormat.headerSize
                && (bytes.elementsEqual(SegmentFormat.header.prefix(bytes.count)) || bytes.allSatisfy { $0 == 0 })
            {
                // Torn while being created: not all of the header was written.
                return .torn(end: 0)
            }
            let (end, damage) = SegmentFormat.scan(bytes, record: record)
            guard let damage else { return .whole }
            if repairing && end >= SegmentFormat.headerSize && SegmentFormat.isTornTail(bytes, from: end) { return .torn(end: end) }
            return .damaged(damage)
        }
        switch verdict {
        case .whole:
            break
        case .damaged(let damage):
            throw DocketError(
                .journalCorrupt,
                "Journal file \(path) is damaged at byte offset \(damage.offset): \(damage.reason). The records from there on cannot be read safely. Restore the journal directory \(directory.path) from a backup, or move this file out of it to open the journal without the records the file holds.")
        case .torn(let end):
            try FileIO.truncate(path, to: end, sync: sync != .none)
            if end == 0 {
                let descriptor = try FileIO.open(path, O_WRONLY | O_APPEND)
                defer { FileIO.closeDescriptor(descriptor) }
                try FileIO.writeAll(descriptor, SegmentFormat.header, path: path)
                if sync != .none { try FileIO.syncFile(descriptor, path: path) }
            }
            let size = max(end, SegmentFormat.headerSize)
            tailBytesCut.add(contents.count - end, ordering: .relaxed)
            bytesOnDisk.add(size - entry.size, ordering: .relaxed)
            files.entries[index].size = size
        }
        if repairing { files.repairPending = nil }
    }

    private enum ReadVerdict {
        /// Every byte is header or good records.
        case whole
        /// Good records up to `end`, then a torn tail to cut.
        case torn(end: Int)
        /// Damage that is not a torn tail.
        case damaged(SegmentFormat.Damage)
    }

    /// Lists the directory and finishes what a crash interrupted: removes snapshot temp files,
    /// and the segments (and older snapshots) a complete snapshot replaces. Returns the files
    /// that hold records, in log order.
    private static func recoverLayout(directory: URL, sync: SyncMode) throws -> [FileEntry] {
        let path = directory.path
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw DocketError(.journalFailed, "Could not list the journal directory \(path): \(error.localizedDescription). Check its permissions.")
        }
        let parsed = names.compactMap(SegmentFileName.init).sorted()
        let newestSnapshot = parsed.last(where: { $0.kind == .snapshot })?.number
        var kept: [SegmentFileName] = []
        var removed = false
        for name in parsed {
            let obsolete: Bool
            switch name.kind {
            case .snapshotTemp: obsolete = true
            case .snapshot: obsolete = name.number != newestSnapshot
            case .segment: obsolete = newestSnapshot.map { name.number <= $0 } ?? false
            }
            if obsolete {
                try FileIO.remove(directory.appendingPathComponent(name.description).path)
                removed = true
            } else {
                kept.append(name)
            }
        }
        if removed && sync != .none { try FileIO.syncDirectory(path) }
        return try kept.map { FileEntry(name: $0, size: try FileIO.fileSize(directory.appendingPathComponent($0.description).path)) }
    }
}
