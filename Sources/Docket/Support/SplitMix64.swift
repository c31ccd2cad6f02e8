/// A tiny seeded pseudo-random generator (SplitMix64): the same seed gives the same sequence
/// on every platform, so a demo run, a crash plan or a failing test seed repeats exactly.
///
/// Not for anything secret (operation IDs come from ``SecureRandomSource``). Shared by the
/// package's demo, crash worker and tests; the library itself does not use it.
package struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator; the same seed always yields the same sequence.
    package init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform value in `0 ..< 1`.
    package mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Whether an event of the given probability happens.
    package mutating func chance(_ probability: Double) -> Bool {
        nextUnit() < probability
    }
}
