import Foundation
import Synchronization

/// A binary semaphore: ``signal()`` wakes one current or future ``wait()``, and signals
/// given while nobody waits collapse into one, so a wake-up is never lost.
final class WakeSignal: Sendable {
    private let condition = NSCondition()
    private let signaled = Atomic<Bool>(false)

    /// Marks the signal set and wakes a waiter, if any.
    func signal() {
        condition.lock()
        signaled.store(true, ordering: .relaxed)
        condition.signal()
        condition.unlock()
    }

    /// Blocks the calling thread until the signal is set, then clears it.
    func wait() {
        condition.lock()
        while !signaled.load(ordering: .relaxed) { condition.wait() }
        signaled.store(false, ordering: .relaxed)
        condition.unlock()
    }
}
