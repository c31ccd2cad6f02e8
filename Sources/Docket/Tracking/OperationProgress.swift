/// Where an operation is and how far along: the part of its status a poller reads most,
/// without the rest of the snapshot (Mobizon's `getStatus` and Kekker's `Status` need no more).
public struct OperationProgress: Hashable, Sendable {
    /// The operation's state, `delayed` while its due time is in the future.
    public let state: OperationState
    /// Progress from 0 to 100; 100 once succeeded.
    public let percent: Int

    /// Creates a reading.
    public init(state: OperationState, percent: Int) {
        self.state = state
        self.percent = percent
    }
}
