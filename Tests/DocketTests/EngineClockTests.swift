@testable import Docket
import Foundation
import Testing

/// The engine's reading of the injected clock.
@Suite("EngineClock")
struct EngineClockTests {
    @Test("A ContinuousClock's offsets count from the docket's start, in step with the clock itself")
    func continuousOffsets() {
        let before = ContinuousClock.now
        let clock = EngineClock(ContinuousClock(), wallOrigin: Date())
        var last = Duration.zero
        for _ in 0..<1_000 {
            let offset = clock.now()
            let nanoseconds = clock.nowNanoseconds()
            // Offsets never run backwards, and never past the time the clock itself says has
            // passed since before the docket's origin was read.
            #expect(offset >= last)
            #expect(nanoseconds >= offset.nanoseconds)
            #expect(Duration.nanoseconds(nanoseconds) <= before.duration(to: .now))
            last = .nanoseconds(nanoseconds)
        }
    }

    @Test("A ContinuousClock's sleep never ends before its offset")
    func continuousSleep() async throws {
        let clock = EngineClock(ContinuousClock(), wallOrigin: Date())
        let deadline = clock.now() + .milliseconds(2)
        try await clock.sleep(deadline)
        #expect(clock.now() >= deadline)
    }

    @Test("Another clock is read through its own conformance")
    func erasedClock() {
        let before = SuspendingClock.now
        let clock = EngineClock(SuspendingClock(), wallOrigin: Date())
        let offset = clock.now()
        #expect(offset >= .zero)
        #expect(offset <= before.duration(to: .now))
        #expect(clock.nowNanoseconds() >= offset.nanoseconds)
    }
}
