import Foundation

/// The engine's side of its ``DocketStore``: appends records with wall-clock dates, and
/// converts those dates back to clock offsets at recovery.
final class JournalWriter: Sendable {
    let store: any DocketStore
    let clock: EngineClock
    /// Whether the engine must wait for records to be durable.
    let isDurable: Bool

    init(store: any DocketStore, clock: EngineClock) {
        self.store = store
        self.clock = clock
        isDurable = store.isDurable
    }

    @discardableResult
    func append(_ record: JournalRecord) -> UInt64 {
        store.append(record)
    }

    func date(_ offset: Duration) -> Date {
        clock.date(offset)
    }

    /// The clock offset of a wall-clock date (negative before the clock's origin), clamped to
    /// about ±146 years so a far date (a result kept "forever") cannot overflow.
    func offset(_ date: Date) -> Duration {
        let limit = Double(Int64.max / 2)
        let nanoseconds = (date.timeIntervalSince(clock.wallOrigin) * 1e9).rounded()
        return .nanoseconds(Int64(min(max(nanoseconds, -limit), limit)))
    }

    /// Waits until everything appended so far is durable.
    nonisolated(nonsending) func settle() async throws {
        guard isDurable else { return }
        try await store.waitDurable(store.lastTicket)
    }

    /// ``settle()`` for synchronous callers.
    func settleBlocking() throws {
        guard isDurable else { return }
        try store.waitDurableBlocking(store.lastTicket)
    }
}
