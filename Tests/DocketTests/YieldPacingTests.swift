@testable import Docket
import Testing

/// Unit tests of how many operations a worker runs between two yields of its thread.
@Suite("Yield pacing")
struct YieldPacingTests {
    @Test("A worker starts at the minimum, the mailboxes' budget")
    func startsAtMinimum() {
        #expect(YieldPacing().operations == YieldPacing.minimum)
        #expect(YieldPacing.minimum == WorkerPool.drainBudget)
    }

    @Test("Fast operations stretch the run to about a slice of time, up to the maximum")
    func fastOperationsStretch() {
        var pacing = YieldPacing()
        // 32 operations in 64 µs: 2 µs each, so a 200 µs slice holds 100.
        pacing.measured(32, in: 64_000)
        #expect(pacing.operations == 100)
        // 100 operations in 20 µs: 200 ns each would fit 1 000.
        pacing.measured(100, in: 20_000)
        #expect(pacing.operations == 1000)
        // 50 ns each would fit 4 000: held at the maximum.
        pacing.measured(1000, in: 50_000)
        #expect(pacing.operations == YieldPacing.maximum)
    }

    @Test("Slow operations bring the run back to the minimum, and never below it")
    func slowOperationsShrink() {
        var pacing = YieldPacing()
        pacing.measured(32, in: 3_200)
        #expect(pacing.operations == YieldPacing.maximum)
        // 1 ms each: one fits a slice, but a worker always runs the minimum.
        pacing.measured(YieldPacing.maximum, in: Int64(YieldPacing.maximum) * 1_000_000)
        #expect(pacing.operations == YieldPacing.minimum)
    }

    @Test("A stretch that ran nothing, or took no measurable time, changes nothing it should not")
    func degenerateStretches() {
        var pacing = YieldPacing()
        pacing.measured(32, in: 64_000)
        pacing.measured(0, in: 1_000_000)
        #expect(pacing.operations == 100)
        // A clock that did not move reads as the fastest pace, not a division by zero.
        pacing.measured(10, in: 0)
        #expect(pacing.operations == YieldPacing.maximum)
    }
}
