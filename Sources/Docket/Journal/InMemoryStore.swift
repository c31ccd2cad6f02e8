import Foundation
import Synchronization

/// A ``DocketStore`` that keeps its records in memory: a docket opened again on the same
/// store recovers what the previous one left, as if the process had restarted. For tests
/// of recovery without files; it survives no real crash.
public final class InMemoryStore: DocketStore {
    private struct State: Sendable {
        var records: [JournalRecord] = []
        var ticket: UInt64 = 0
    }

    private let state = Locked(State())

    /// Creates an empty store.
    public init() {}

    /// Creates a store holding these records: a copy of another store's records is the state
    /// a crash at that moment would have left.
    public init(records: [JournalRecord]) {
        state.withLock { state in
            state.records = records
            state.ticket = UInt64(records.count)
        }
    }

    /// Every record appended so far.
    public var records: [JournalRecord] { state.withLock { $0.records } }

    /// Returns the records appended so far.
    public func recover() throws -> [JournalRecord] {
        state.withLock { $0.records }
    }

    /// Appends a record.
    public func append(_ record: JournalRecord) -> UInt64 {
        state.withLock { state in
            state.records.append(record)
            state.ticket += 1
            return state.ticket
        }
    }

    /// The ticket of the newest record.
    public var lastTicket: UInt64 { state.withLock { $0.ticket } }

    /// Returns at once: memory is as durable as this store gets.
    public func waitDurable(_ ticket: UInt64) async throws {}

    /// Returns at once.
    public func waitDurableBlocking(_ ticket: UInt64) throws {}

    /// `false`: nothing here outlives the process.
    public var isDurable: Bool { false }

    /// Does nothing; the records stay for the next docket opened on this store.
    public func close() async throws {}

    /// Replaces the records by the fewest that rebuild the same state, as a file journal's
    /// compaction does.
    public func compact(now: Date, tombstoneLifetime: Duration) {
        state.withLock { state in
            state.records = JournalState(state.records).snapshot(now: now, tombstoneLifetime: tombstoneLifetime)
        }
    }
}
