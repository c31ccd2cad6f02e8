@testable import Docket
import Testing

/// Unit tests of when a worker's turn on a line ends past its budget.
@Suite("Turn limit")
struct TurnLimitTests {
    let start = ContinuousClock.now

    func limit(slice: Duration) -> TurnLimit {
        TurnLimit(budget: 32, deadline: start + slice)
    }

    @Test("A line that does not run alone keeps to the budget, whatever its deadline")
    func notAloneStops() {
        let limit = limit(slice: .seconds(3600))
        for ran in [32, 33, 63, 64] {
            #expect(!limit.continuesPastBudget(after: ran, alone: false) { start })
        }
    }

    @Test("A lone line runs on until its deadline, read at every budget-th operation only")
    func aloneRunsToDeadline() {
        let limit = limit(slice: .microseconds(200))
        let readings = Locked(0)
        func reading(_ instant: ContinuousClock.Instant) -> () -> ContinuousClock.Instant {
            { readings.withLock { $0 += 1 }; return instant }
        }
        // Before the deadline: on at the budget and its multiples.
        #expect(limit.continuesPastBudget(after: 32, alone: true, now: reading(start + .microseconds(199))))
        #expect(limit.continuesPastBudget(after: 64, alone: true, now: reading(start)))
        #expect(readings.withLock { $0 } == 2)
        // Between multiples the clock is not read: on, even long past the deadline.
        #expect(limit.continuesPastBudget(after: 33, alone: true, now: reading(start + .seconds(1))))
        #expect(limit.continuesPastBudget(after: 95, alone: true, now: reading(start + .seconds(1))))
        #expect(readings.withLock { $0 } == 2)
        // At a multiple at or past the deadline: the turn ends.
        #expect(!limit.continuesPastBudget(after: 96, alone: true, now: reading(start + .microseconds(200))))
        #expect(!limit.continuesPastBudget(after: 32, alone: true, now: reading(start + .seconds(1))))
        #expect(readings.withLock { $0 } == 4)
    }

    @Test("A slice of zero ends a lone line's turn at its budget")
    func zeroSliceEndsAtBudget() {
        #expect(!limit(slice: .zero).continuesPastBudget(after: 32, alone: true) { start })
    }
}
