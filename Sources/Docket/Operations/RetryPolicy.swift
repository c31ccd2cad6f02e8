/// How many times an operation is attempted, and how long to wait between attempts,
/// before its failure blocks its object.
///
/// A body that throws an error conforming to ``NonRetryableError`` (bad input, a refusal
/// by another system) fails at once: trying again would fail the same way.
public struct RetryPolicy: Hashable, Sendable {
    /// How long to wait before the next attempt.
    public enum Backoff: Hashable, Sendable {
        /// Try again at once.
        case none
        /// Wait the same duration before every attempt.
        case fixed(Duration)
        /// Wait `initial`, then multiply by `multiplier` each time, never more than `maximum`.
        case exponential(initial: Duration, multiplier: Double, maximum: Duration)
    }

    /// The total number of attempts, at least 1.
    public let maxAttempts: Int
    /// The wait between attempts.
    public let backoff: Backoff

    /// Creates a policy; `maxAttempts` below 1 is taken as 1.
    public init(maxAttempts: Int, backoff: Backoff = .none) {
        self.maxAttempts = Swift.max(1, maxAttempts)
        self.backoff = backoff
    }

    /// The wait after the given failed attempt (1-based) before the next one.
    public func delay(afterAttempt attempt: Int) -> Duration {
        switch backoff {
        case .none:
            return .zero
        case .fixed(let duration):
            return duration
        case .exponential(let initial, let multiplier, let maximum):
            // The growth is tracked as a factor and compared with the maximum in seconds,
            // before a Duration is made of it: a Duration times a huge multiplier would
            // overflow and trap. A multiplier that is not a finite number gives the maximum,
            // a negative delay zero.
            guard initial > .zero, maximum > .zero else { return .zero }
            let (initialSeconds, maximumSeconds) = (initial.seconds, maximum.seconds)
            var factor = 1.0
            for _ in 1..<Swift.max(1, attempt) {
                factor *= multiplier
                let seconds = initialSeconds * factor
                if !(seconds < maximumSeconds) { return maximum }
                if !(seconds > 0) { return .zero }
            }
            return Swift.min(initial * factor, maximum)
        }
    }
}

/// An error that retrying cannot fix: an operation whose body throws one fails at once,
/// whatever its ``RetryPolicy``, and blocks its object until a person retries it (with
/// corrected input) or deletes it.
///
/// ```swift
/// struct InvalidDeal: NonRetryableError { let reason: String }
/// ```
public protocol NonRetryableError: Error {}
