import Foundation

/// The injected clock with its type erased: offsets from the moment the docket started,
/// and wall-clock dates for status reports derived from those offsets.
struct EngineClock: Sendable {
    /// The current offset from the origin.
    let now: @Sendable () -> Duration
    /// Sleeps until the given offset; throws when the sleeping task is cancelled.
    let sleep: @Sendable (Duration) async throws -> Void
    /// The wall-clock date of offset zero.
    let wallOrigin: Date

    init<C: Clock>(_ clock: C, wallOrigin: Date) where C.Duration == Duration {
        let origin = clock.now
        now = { origin.duration(to: clock.now) }
        sleep = { deadline in try await clock.sleep(until: origin.advanced(by: deadline), tolerance: nil) }
        self.wallOrigin = wallOrigin
    }

    func date(_ offset: Duration) -> Date {
        let (seconds, attoseconds) = offset.components
        return wallOrigin.addingTimeInterval(Double(seconds) + Double(attoseconds) / 1e18)
    }
}
