import Docket

/// A seeded pseudo-random generator for tests and simulations that must repeat: the same
/// seed gives the same sequence on every platform (SplitMix64, as the package's own demo,
/// crash tests and model tests use).
///
/// Use it to draw due times, keys or failure plans in a test, so a failing seed can be
/// replayed exactly. Not for anything secret: operation IDs come from the system's
/// cryptographically secure source.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var base: SplitMix64

    /// Creates a generator; the same seed always yields the same sequence.
    public init(seed: UInt64) {
        base = SplitMix64(seed: seed)
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        base.next()
    }
}
