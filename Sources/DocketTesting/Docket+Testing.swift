import Docket

extension Docket {
    /// Suspends until nothing is running or runnable: every remaining operation has
    /// finished, is blocked, waits for a dependency, or waits on the clock.
    ///
    /// With a ``ManualClock``, a test submits, advances the clock, waits for idle, and then
    /// asserts exact orders and states, with no real sleeps.
    public func waitForIdle() async {
        await waitUntilIdle()
    }
}
