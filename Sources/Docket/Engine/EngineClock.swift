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

    /// The wall-clock date of an offset, to the nanosecond before the date's own rounding.
    /// A status snapshot converts up to four offsets and a journal writes one or two per
    /// state change: whole nanoseconds by one 128-bit division cost a third of `components`.
    func date(_ offset: Duration) -> Date {
        wallOrigin.addingTimeInterval(Double(offset.nanoseconds) / 1e9)
    }
}
