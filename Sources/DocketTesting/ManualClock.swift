import Docket
import Synchronization

/// A clock that moves only when a test tells it to.
///
/// ``advance(by:)`` moves time forward and resumes every sleeper whose deadline it passes,
/// in deadline order (ties in the order they went to sleep), setting ``now`` to each
/// deadline as it resumes its sleepers. Nothing waits on real time.
public final class ManualClock: Clock, Sendable {
    /// A point on the manual clock: the time advanced since it started.
    public struct Instant: InstantProtocol, Hashable, Sendable, CustomStringConvertible {
        /// The time since the clock started.
        public let offset: Duration

        /// Creates an instant at an offset from the clock's start.
        public init(offset: Duration) {
            self.offset = offset
        }

        /// The instant `duration` later.
        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        /// The duration from this instant to `other`.
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        /// Orders instants by offset.
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
        /// The offset, such as `"+5.0 seconds"`.
        public var description: String { "+\(offset)" }
    }

    private struct Sleeper {
        let token: UInt64
        let deadline: Instant
        let continuation: UnsafeContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var nextToken: UInt64 = 0
        var sleepers: [Sleeper] = []
    }

    private let state = Locked(State())

    /// Creates a clock at offset zero.
    public init() {}

    /// The current instant.
    public var now: Instant { state.withLock { $0.now } }

    /// The smallest step the clock distinguishes.
    public var minimumResolution: Duration { .nanoseconds(1) }

    /// How many tasks are sleeping on the clock.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// The earliest deadline a sleeper waits for, or `nil` when none sleeps. A test can wait
    /// until a timer has armed its sleep before advancing past it.
    public var nextDeadline: Instant? { state.withLock { $0.sleepers.map(\.deadline).min() } }

    /// Sleeps until the clock has been advanced to `deadline`.
    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let token = state.withLock { state -> UInt64 in
            state.nextToken += 1
            return state.nextToken
        }
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                let resumeNow = state.withLock { state -> Bool in
                    if deadline <= state.now || Task.isCancelled { return true }
                    state.sleepers.append(Sleeper(token: token, deadline: deadline, continuation: continuation))
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let cancelled = state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.token == token }) else { return nil }
                return state.sleepers.remove(at: index)
            }
            cancelled?.continuation.resume(throwing: CancellationError())
        }
        try Task.checkCancellation()
    }

    /// Moves time forward by `duration`, resuming due sleepers in deadline order.
    public func advance(by duration: Duration) {
        advance(to: now.advanced(by: duration))
    }

    /// Moves time forward to `instant` (never backwards), resuming due sleepers in deadline order.
    public func advance(to instant: Instant) {
        while true {
            let due = state.withLock { state -> [Sleeper] in
                let ready = state.sleepers.filter { $0.deadline <= instant }
                guard let earliest = ready.map(\.deadline).min() else {
                    if instant > state.now { state.now = instant }
                    return []
                }
                if earliest > state.now { state.now = earliest }
                let batch = state.sleepers.filter { $0.deadline == earliest }
                state.sleepers.removeAll { $0.deadline == earliest }
                return batch.sorted { $0.token < $1.token }
            }
            if due.isEmpty { return }
            for sleeper in due { sleeper.continuation.resume() }
        }
    }
}
