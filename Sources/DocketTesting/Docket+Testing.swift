import Docket

extension Docket {
    /// Suspends until nothing is running or runnable: every remaining operation has
    /// finished, is blocked, waits for a dependency, or waits on the clock.
    ///
    /// With a ``ManualClock``, a test submits, advances the clock, waits for idle, and then
    /// asserts exact orders and states, with no real sleeps.
    ///
    /// It covers the work of every call that has returned (a submission, a retry, a cancel, a
    /// deletion, a clock advance). A call still in flight on another task when the wait
    /// begins may not be covered: await it first.
    public func waitForIdle() async {
        await waitUntilIdle()
    }
}
