import Synchronization

/// Totals since the docket started, kept with relaxed atomics.
final class Counters: Sendable {
    private let submittedCount = Atomic<Int>(0)
    private let succeededCount = Atomic<Int>(0)
    private let failedCount = Atomic<Int>(0)
    private let retriedCount = Atomic<Int>(0)
    private let cancelledCount = Atomic<Int>(0)

    func submitted() { submittedCount.add(1, ordering: .relaxed) }
    func succeeded() { succeededCount.add(1, ordering: .relaxed) }
    func failed() { failedCount.add(1, ordering: .relaxed) }
    func retried() { retriedCount.add(1, ordering: .relaxed) }
    func cancelled() { cancelledCount.add(1, ordering: .relaxed) }

    var totals: DocketMetrics.Totals {
        DocketMetrics.Totals(
            submitted: submittedCount.load(ordering: .relaxed),
            succeeded: succeededCount.load(ordering: .relaxed),
            failed: failedCount.load(ordering: .relaxed),
            retried: retriedCount.load(ordering: .relaxed),
            cancelled: cancelledCount.load(ordering: .relaxed))
    }
}
