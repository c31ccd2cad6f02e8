import Synchronization

/// What an operation's body receives: its identity and attempt, a way to report
/// progress and detail messages, and cooperative cancellation.
///
/// Cancellation and timeouts are cooperative: Docket never kills a body. It raises the
/// context's flag, and the body checks ``isCancelled``, calls ``checkCancellation()``,
/// or awaits ``cancellation()`` alongside its work.
///
/// A context belongs to one attempt: a copy kept after the body returns still refers to
/// that attempt and its operation. Once no copy is left, the docket may give the
/// context's storage to a later attempt.
public struct OperationContext: Sendable {
    /// The attempt's state, under its lock. A worker gives the storage of an ended attempt
    /// to its next attempt when no copy of its context is left (``isKnownUnique()``): a
    /// context made for each attempt cost an allocation, and a retain and release of the
    /// shared tracker, whose count the workers' cores passed between them. The context is a
    /// structure so that no one can hold its storage without holding a strong reference:
    /// a weak or unowned reference, which no uniqueness check counts, cannot be formed.
    private(set) var storage: Storage

    init(operationID: OperationID, attempt: Int, tracker: Tracker) {
        storage = Storage(operationID: operationID, attempt: attempt, tracker: tracker)
    }

    /// The operation's tracking ID.
    public var operationID: OperationID { storage.operationID }
    /// The attempt number, starting at 1.
    public var attempt: Int { storage.attempt }

    /// Reports progress from 0 to 100. Values are clamped to that range, and progress never
    /// goes backwards within an attempt: a lower value than already reported is ignored.
    /// Each attempt starts from 0, and a context kept past its attempt's end reports nothing.
    public func reportProgress(_ percent: Int) { storage.reportProgress(percent) }

    /// Appends a timestamped message to the operation's details log.
    public func log(_ message: String) { storage.log(message) }

    /// Whether the operation was asked to stop: cancelled, timed out, or the docket is shutting
    /// down or went away.
    public var isCancelled: Bool { storage.isCancelled }

    /// Throws `CancellationError` when the operation was asked to stop.
    public func checkCancellation() throws {
        if isCancelled { throw CancellationError() }
    }

    /// Suspends until the operation is asked to stop, its attempt ends (its body returns), or
    /// the calling task is cancelled; at once when one of them has happened already.
    /// Race it against the work in a task group to stop waiting work promptly.
    public func cancellation() async { await storage.cancellation() }

    var isTimedOut: Bool { storage.isTimedOut }

    /// Asks the body to stop; with `timedOut`, its attempt fails as timed out. The first
    /// request decides why the attempt stops: a timeout falling due after a cancel was
    /// accepted leaves the attempt cancelled, and a cancel after its timeout leaves it timed
    /// out. Returns `false`, changing nothing, once the body has returned (``end()``), and
    /// for a request that comes after the attempt began stopping for another reason (a cancel
    /// repeated is accepted again).
    @discardableResult
    func requestCancellation(timedOut: Bool = false) -> Bool { storage.requestCancellation(timedOut: timedOut).accepted }

    /// Asks the body to stop, as ``requestCancellation(timedOut:)`` does without a timeout,
    /// and returns whether it was still running: `true` too for a body stopping for its
    /// timeout already, which a shutdown waits for as it waits for any other.
    func requestStop() -> Bool { storage.requestCancellation(timedOut: false).running }

    /// How an attempt ended, as ``end()`` settled it: no cancel or timeout counts after it.
    struct Ending: Sendable {
        let isCancelled: Bool
        let isTimedOut: Bool
    }

    /// The body has returned: settles whether the attempt was cancelled or timed out, and
    /// releases any `cancellation()` waiter left behind. Returns what it settled, read under
    /// the same lock, so the worker finishing the attempt need not take the lock again.
    @discardableResult
    func end() -> Ending { storage.end() }

    /// Whether this is the only copy of the context left, so that its storage may be given
    /// to another attempt (``reset(operationID:attempt:)``).
    mutating func isKnownUnique() -> Bool { isKnownUniquelyReferenced(&storage) }

    /// Makes the context new for another attempt. Only for a context of which no other copy
    /// is left (``isKnownUnique()``): whoever held one, a body that kept it, a timeout not yet
    /// fired, a cancel under way, would see the next attempt instead of the one they knew.
    func reset(operationID: OperationID, attempt: Int) { storage.reset(operationID: operationID, attempt: attempt) }
}

extension OperationContext {
    /// What a context holds: the attempt's identity, progress and cancellation, under one
    /// lock. The context's methods, which document what each does, forward here.
    final class Storage: Sendable {
        var operationID: OperationID { state.withLock { $0.operationID } }
        var attempt: Int { state.withLock { $0.attempt } }

        /// A `cancellation()` call waiting to be resumed.
        typealias Waiter = (token: UInt64, continuation: UnsafeContinuation<Void, Never>)

        // The identity lives under the lock with the rest, so that a worker may give the
        // storage of an ended attempt to its next one (``reset(operationID:attempt:)``).
        private struct State {
            var operationID: OperationID
            var attempt: Int
            var progress = 0
            var isCancelled = false
            var isTimedOut = false
            /// The body has returned: a cancellation or timeout arriving later changes nothing,
            /// so the attempt's outcome is what it was when the body returned.
            var ended = false
            var nextToken: UInt64 = 0
            var waiters: [Waiter] = []
        }

        private let state: Locked<State>
        private let tracker: Tracker

        init(operationID: OperationID, attempt: Int, tracker: Tracker) {
            state = Locked(State(operationID: operationID, attempt: attempt))
            self.tracker = tracker
        }

        func reset(operationID: OperationID, attempt: Int) {
            state.withLock { $0 = State(operationID: operationID, attempt: attempt) }
        }

        func reportProgress(_ percent: Int) {
            let clamped = Swift.min(100, Swift.max(0, percent))
            let advanced = state.withLock { state -> OperationID? in
                // After the body returned, another attempt may be running: it is not this one's.
                guard !state.ended, clamped > state.progress else { return nil }
                state.progress = clamped
                return state.operationID
            }
            if let advanced { tracker.reportProgress(advanced, clamped) }
        }

        func log(_ message: String) {
            tracker.appendDetail(operationID, message)
        }

        var isCancelled: Bool {
            state.withLock { $0.isCancelled }
        }

        func cancellation() async {
            let token = state.withLock { state -> UInt64 in
                state.nextToken += 1
                return state.nextToken
            }
            await withTaskCancellationHandler {
                await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state -> Bool in
                        // After the body returned, no request and no end is coming.
                        if state.isCancelled || state.ended || Task.isCancelled { return true }
                        state.waiters.append((token, continuation))
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                let waiter = state.withLock { state -> UnsafeContinuation<Void, Never>? in
                    guard let index = state.waiters.firstIndex(where: { $0.token == token }) else { return nil }
                    return state.waiters.remove(at: index).continuation
                }
                waiter?.resume()
            }
        }

        var isTimedOut: Bool {
            state.withLock { $0.isTimedOut }
        }

        /// Whether the request was accepted (see ``OperationContext/requestCancellation(timedOut:)``),
        /// and whether the body was still running.
        func requestCancellation(timedOut: Bool) -> (accepted: Bool, running: Bool) {
            let (accepted, running, waiters) = state.withLock { state -> (Bool, Bool, [Waiter]) in
                guard !state.ended else { return (false, false, []) }
                // Stopping already: the first request's reason stands.
                if state.isCancelled { return (!timedOut && !state.isTimedOut, true, []) }
                state.isCancelled = true
                state.isTimedOut = timedOut
                defer { state.waiters = [] }
                return (true, true, state.waiters)
            }
            for waiter in waiters { waiter.continuation.resume() }
            return (accepted, running)
        }

        func end() -> Ending {
            let (ending, waiters) = state.withLock { state -> (Ending, [Waiter]) in
                state.ended = true
                let ending = Ending(isCancelled: state.isCancelled, isTimedOut: state.isTimedOut)
                // Most attempts leave no waiter: their empty list is neither copied nor replaced.
                guard !state.waiters.isEmpty else { return (ending, []) }
                defer { state.waiters = [] }
                return (ending, state.waiters)
            }
            for waiter in waiters { waiter.continuation.resume() }
            return ending
        }
    }
}
