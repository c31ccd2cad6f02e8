/// One event in an operation's ``Docket/events(of:owner:)`` stream.
public enum OperationEvent: Sendable {
    /// The state when the observer subscribed; always the first event.
    case snapshot(OperationStatus)
    /// The operation moved to a new state.
    case state(OperationState)
    /// The body reported progress (0–100, never going back).
    case progress(Int)
    /// The body logged a detail message.
    case detail(DetailEntry)
}
