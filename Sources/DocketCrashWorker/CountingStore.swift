import Docket
import Foundation
import Synchronization

/// A ``DocketStore`` that forwards to a ``FileJournal`` and counts appends, killing its own
/// process with SIGKILL right after the append numbered `killAfter`: a crash at a fixed
/// point, reproducible by its number. The killing record may or may not be durable yet.
final class CountingStore: DocketStore {
    private let journal: FileJournal
    private let killAfter: Int?
    private let appends = Atomic<Int>(0)

    /// Wraps `journal`; with `killAfter`, the process dies right after that append.
    init(journal: FileJournal, killAfter: Int?) {
        self.journal = journal
        self.killAfter = killAfter
    }

    /// How many records this life appended.
    var appendCount: Int { appends.load(ordering: .relaxed) }

    func recover() throws -> [JournalRecord] {
        try journal.recover()
    }

    func append(_ record: JournalRecord) -> UInt64 {
        let ticket = journal.append(record)
        let count = appends.add(1, ordering: .relaxed).newValue
        if count == killAfter { kill(getpid(), SIGKILL) }
        return ticket
    }

    var lastTicket: UInt64 { journal.lastTicket }

    func waitDurable(_ ticket: UInt64) async throws {
        try await journal.waitDurable(ticket)
    }

    func waitDurableBlocking(_ ticket: UInt64) throws {
        try journal.waitDurableBlocking(ticket)
    }

    var isDurable: Bool { journal.isDurable }

    func close() async throws {
        try await journal.close()
    }
}
