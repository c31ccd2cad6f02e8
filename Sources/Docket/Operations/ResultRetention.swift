/// How long a finished operation's result stays readable.
public enum ResultRetention: Hashable, Sendable {
    /// The first reader takes the result; later readers are told it was consumed (coreBOS).
    /// An unread result expires after ``DocketConfiguration/unreadResultLifetime``.
    case readOnce
    /// The result can be read any number of times, and status snapshots include it, until
    /// the duration has passed since the operation finished (Kekker, bear2b).
    case keep(for: Duration)
}
