import Foundation

/// How much work the long-running tests do: `DOCKET_TEST_SCALE` (a decimal such as `0.1`
/// or `4`), 1 when unset or not a positive number.
enum TestScale {
    static let factor: Double = {
        guard let text = ProcessInfo.processInfo.environment["DOCKET_TEST_SCALE"],
              let value = Double(text), value > 0, value.isFinite
        else { return 1 }
        return value
    }()

    /// `base` scaled, at least `minimum`.
    static func scaled(_ base: Int, minimum: Int = 1) -> Int {
        max(minimum, Int((Double(base) * factor).rounded()))
    }
}
