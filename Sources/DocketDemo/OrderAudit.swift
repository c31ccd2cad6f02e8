import Synchronization

/// Checks, as bodies succeed, that each object's operations succeed in submission order:
/// a line's sequence numbers must strictly increase (deleted operations leave gaps).
final class OrderAudit: Sendable {
    /// The last sequence that succeeded on each line, and the first violations found.
    private struct State {
        var lastSequence: [String: Int] = [:]
        var violations: [String] = []
    }

    private let state = Mutex(State())

    /// Records that the operation at this stamp succeeded.
    func succeeded(_ stamp: Payloads.Stamp) {
        state.withLock { state in
            if let last = state.lastSequence[stamp.line], stamp.sequence <= last {
                if state.violations.count < 10 {
                    state.violations.append("\(stamp.line): #\(stamp.sequence) succeeded after #\(last)")
                }
            }
            state.lastSequence[stamp.line] = max(stamp.sequence, state.lastSequence[stamp.line] ?? -1)
        }
    }

    /// The first few order violations seen (none is the expected answer).
    var violations: [String] {
        state.withLock { $0.violations }
    }
}
