import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The injected clock with its type erased: offsets from the moment the docket started,
/// and wall-clock dates for status reports derived from those offsets.
///
/// A class, so the parts that read it on every operation (each mailbox among them) hold one
/// reference rather than a copy of its closures, and reading it through a constant reference
/// retains nothing.
final class EngineClock: Sendable {
    private enum Reading: Sendable {
        #if os(Linux)
        /// `ContinuousClock` on Linux, read from the system clock it reads (`CLOCK_BOOTTIME`)
        /// as whole nanoseconds: through the erased clock a reading cost about twice the
        /// system call's time here, in generic witnesses, `Instant` arithmetic and a 128-bit
        /// division, and the engine reads the clock several times per operation.
        case boottime(originNanoseconds: Int64)
        #endif
        /// Any other clock, through its `Clock` conformance.
        case erased(@Sendable () -> Duration)
    }

    private let reading: Reading
    /// Sleeps until the given offset; throws when the sleeping task is cancelled.
    let sleep: @Sendable (Duration) async throws -> Void
    /// The wall-clock date of offset zero.
    let wallOrigin: Date

    init<C: Clock>(_ clock: C, wallOrigin: Date) where C.Duration == Duration {
        #if os(Linux)
        if let continuous = clock as? ContinuousClock {
            // The origin is read from the system clock before the `Instant` the sleeps count
            // from, so an offset reached by sleeping is never short of its deadline: it is
            // at most the nanoseconds between the two readings late.
            let origin = Self.boottimeNanoseconds()
            let instant = continuous.now
            reading = .boottime(originNanoseconds: origin)
            sleep = { deadline in try await continuous.sleep(until: instant.advanced(by: deadline), tolerance: nil) }
            self.wallOrigin = wallOrigin
            return
        }
        #endif
        let origin = clock.now
        reading = .erased { origin.duration(to: clock.now) }
        sleep = { deadline in try await clock.sleep(until: origin.advanced(by: deadline), tolerance: nil) }
        self.wallOrigin = wallOrigin
    }

    /// The current offset from the origin.
    func now() -> Duration {
        switch reading {
        #if os(Linux)
        case .boottime(let origin): .nanoseconds(Self.boottimeNanoseconds() &- origin)
        #endif
        case .erased(let now): now()
        }
    }

    /// The current offset from the origin in whole nanoseconds, without a trip through `Duration`.
    func nowNanoseconds() -> Int64 {
        switch reading {
        #if os(Linux)
        case .boottime(let origin): Self.boottimeNanoseconds() &- origin
        #endif
        case .erased(let now): now().nanoseconds
        }
    }

    #if os(Linux)
    private static func boottimeNanoseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_BOOTTIME, &time)
        return Int64(time.tv_sec) &* 1_000_000_000 &+ Int64(time.tv_nsec)
    }
    #endif

    /// The wall-clock date of an offset, to the nanosecond before the date's own rounding.
    /// A status snapshot converts up to four offsets and a journal writes one or two per
    /// state change: whole nanoseconds by one 128-bit division cost a third of `components`.
    func date(_ offset: Duration) -> Date {
        wallOrigin.addingTimeInterval(Double(offset.nanoseconds) / 1e9)
    }
}
