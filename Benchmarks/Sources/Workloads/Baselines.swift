import Dispatch
import Foundation
import Synchronization

/// (a) One serial `DispatchQueue` per key; tracks nothing.
public final class DispatchQueuePerKey: KeyedSystem {
    public static let name = "DispatchQueue per key"
    public static let keepsOrder = true
    private let queues: [DispatchQueue]
    private let group = DispatchGroup()
    private let log: OrderLog

    public init(keys: Int, log: OrderLog) {
        queues = (0..<keys).map { DispatchQueue(label: "key-\($0)") }
        self.log = log
    }

    public func submit(key: Int, index: Int) {
        let log = log
        queues[key].async(group: group) { log.ran(key: key, index: index) }
    }

    public func finish() async {
        await withCheckedContinuation { continuation in
            group.notify(queue: .global()) { continuation.resume() }
        }
    }
}

/// (b) One `OperationQueue` per key with `maxConcurrentOperationCount = 1`.
public final class OperationQueuePerKey: KeyedSystem {
    public static let name = "OperationQueue per key"
    public static let keepsOrder = true
    private let queues: [OperationQueue]
    private let log: OrderLog
    private let completion = CompletionCounter()
    private let submitted = Atomic<Int>(0)

    public init(keys: Int, log: OrderLog) {
        queues = (0..<keys).map { _ in
            let queue = OperationQueue()
            queue.maxConcurrentOperationCount = 1
            return queue
        }
        self.log = log
    }

    public func submit(key: Int, index: Int) {
        let log = log
        let completion = completion
        submitted.add(1, ordering: .relaxed)
        queues[key].addOperation {
            log.ran(key: key, index: index)
            completion.one()
        }
    }

    public func finish() async {
        await completion.wait(for: submitted.load(ordering: .relaxed))
    }
}

/// (c) One actor per key with a `Task` per operation. Tasks may start in any order, so this
/// baseline does not keep FIFO; it reports its violations instead of failing.
public final class TaskPerOperation: KeyedSystem {
    public static let name = "actor + Task per op"
    public static let keepsOrder = false

    actor Key {
        let key: Int
        let log: OrderLog
        init(key: Int, log: OrderLog) {
            self.key = key
            self.log = log
        }
        func run(_ index: Int) { log.ran(key: key, index: index) }
    }

    private let actors: [Key]
    private let tasks = Mutex<[Task<Void, Never>]>([])

    public init(keys: Int, log: OrderLog) {
        actors = (0..<keys).map { Key(key: $0, log: log) }
    }

    public func submit(key: Int, index: Int) {
        let actor = actors[key]
        let task = Task { await actor.run(index) }
        tasks.withLock { $0.append(task) }
    }

    public func finish() async {
        for task in tasks.withLock({ $0 }) { await task.value }
    }
}

/// (d) The floor: a minimal actor mailbox per key with a drain loop (one task per busy
/// period) and no tracking at all.
public final class DrainingMailbox: KeyedSystem {
    public static let name = "actor mailbox, no tracking"
    public static let keepsOrder = true

    actor Mailbox {
        let key: Int
        let log: OrderLog
        let done: CompletionCounter
        var queue: [Int] = []
        var head = 0
        var draining = false

        init(key: Int, log: OrderLog, done: CompletionCounter) {
            self.key = key
            self.log = log
            self.done = done
        }

        func enqueue(_ index: Int) {
            queue.append(index)
            guard !draining else { return }
            draining = true
            Task { self.drain() }
        }

        private func drain() {
            while head < queue.count {
                log.ran(key: key, index: queue[head])
                head += 1
                done.one()
            }
            queue.removeAll(keepingCapacity: true)
            head = 0
            draining = false
        }
    }

    private let mailboxes: [Mailbox]
    private let completion = CompletionCounter()
    private let submitted = Atomic<Int>(0)

    public init(keys: Int, log: OrderLog) {
        let completion = completion
        mailboxes = (0..<keys).map { Mailbox(key: $0, log: log, done: completion) }
    }

    public func submit(key: Int, index: Int) async {
        submitted.add(1, ordering: .relaxed)
        await mailboxes[key].enqueue(index)
    }

    public func finish() async {
        await completion.wait(for: submitted.load(ordering: .relaxed))
    }
}

/// Counts completions and wakes the finisher at the expected total.
final class CompletionCounter: Sendable {
    private let state = Mutex<(done: Int, expected: Int?, waiter: CheckedContinuation<Void, Never>?)>((0, nil, nil))

    func one() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.done += 1
            guard let expected = state.expected, state.done == expected else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    func wait(for expected: Int) async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.done >= expected { return true }
                state.expected = expected
                state.waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }
}

