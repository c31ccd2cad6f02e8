/// A tiny seeded pseudo-random generator (SplitMix64), so a demo run is reproducible.
///
/// Not for anything secret: it only decides which simulated operations are delayed,
/// slow or faulty.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator; the same seed always yields the same sequence.
    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform value in `0 ..< 1`.
    mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Whether an event of the given probability happens.
    mutating func chance(_ probability: Double) -> Bool {
        nextUnit() < probability
    }
}
