import Docket
import Foundation
import Synchronization

/// How a ``LockedLines`` system tracks its operations.
public enum LineTrackingStyle: Sendable {
    /// None: the line alone.
    case none
    /// A record per operation in a shared table, updated there under the table's lock.
    case table
    /// A record per operation kept with the line's entry and updated there; the shared table
    /// is only an index from ID to record.
    case entries
}

/// Whether and how a ``LockedLines`` system tracks its operations.
public protocol LineTracking: Sendable {
    static var style: LineTrackingStyle { get }
    /// Each worker's turn on a line runs on that line's own actor, entered and left once per
    /// turn, as a Docket worker enters its mailbox's actor.
    static var turnsOnActor: Bool { get }
}

extension LineTracking {
    public static var turnsOnActor: Bool { false }
}

/// (e) No tracking: the line alone.
public enum Untracked: LineTracking {
    public static let style = LineTrackingStyle.none
}

/// (f) The simplest tracking that gives what Docket's clients get in workload 1: a random
/// 128-bit ID per operation (Docket's own buffered source), a record in one of 64 locked
/// dictionaries, marked running and then succeeded with its result by the worker, and
/// removed when its result is read once at the end.
public enum Tracked: LineTracking {
    public static let style = LineTrackingStyle.table
}

/// (g) The same tracking with the record kept in the line's entry, as a design that keeps
/// status with the object would: a random 128-bit ID per operation and an entry in one of 64
/// locked dictionaries, which only maps the ID to the entry; the worker marks the entry
/// running and then succeeded with its result without taking any shared lock, and the
/// entry is removed from the index when its result is read once at the end.
public enum TrackedInEntries: LineTracking {
    public static let style = LineTrackingStyle.entries
}

/// (h) (f) with each worker's turn run on the line's own actor: what entering an actor per
/// turn adds, which at many objects, where a turn mostly runs one operation, is once per
/// operation.
public enum TrackedOnActor: LineTracking {
    public static let style = LineTrackingStyle.table
    public static let turnsOnActor = true
}

/// (e), (f) and (g): what a line without an actor could reach. Each key's line is a locked
/// queue, and a fixed pool of worker tasks (one per core) drains the lines a ready queue
/// hands them, 32 operations a turn. Each operation is a stored closure, called by the
/// worker, as a DispatchQueue's block is. Not one of the baselines: (e) measures how
/// far the drain floor (d) is from a design that keeps a line's order without an actor hop
/// per submission or per busy period, (f) what the simplest tracking adds to that, and (g)
/// what that tracking adds when the record lives with the line's entry.
public final class LockedLines<Tracking: LineTracking>: KeyedSystem {
    public static var name: String {
        switch (Tracking.style, Tracking.turnsOnActor) {
        case (.none, _): "locked line + workers, no tracking"
        case (.table, false): "locked line + workers, simplest tracking"
        case (.table, true): "locked line + workers, simplest tracking, turns on the line's actor"
        case (.entries, _): "locked line + workers, tracking in the entries"
        }
    }
    public static var keepsOrder: Bool { true }

    private let body: LineWorkers

    public init(keys: Int, log: OrderLog) {
        body = LineWorkers(keys: keys, log: log, style: Tracking.style, turnsOnActor: Tracking.turnsOnActor, name: Self.name)
    }

    public func submit(key: Int, index: Int) {
        body.submit(key: key, index: index)
    }

    /// Waits for every operation, then ends the workers; with tracking, reads each result once.
    public func finish() async throws {
        try await body.finish()
    }
}

/// The lines and workers of a ``LockedLines`` system. Not generic: a generic class's nested
/// types are generic too, and unspecialized code (the systems are run through
/// `any KeyedSystem.Type`) looked up their metadata at run time on every operation, which
/// cost more than the tracking it measured.
final class LineWorkers: Sendable {

    final class Line: Sendable {
        /// The queued operations, the next one's position, and whether the line is on the
        /// ready queue or held by a worker. An operation is a closure, as a DispatchQueue's
        /// block is: stored, then called.
        let state = Mutex<(queue: [@Sendable () -> Void], head: Int, scheduled: Bool)>(([], 0, false))
        /// (h)'s actor, which each turn on the line runs on.
        let turns: Turns?

        init(turnsOnActor: Bool) {
            turns = turnsOnActor ? Turns() : nil
        }
    }

    /// The actor a line's turns run on in (h).
    actor Turns {
        func run(_ line: Line, on workers: LineWorkers) -> Int {
            workers.runTurn(line)
        }
    }

    /// The ready lines and the parked workers.
    private struct Pool {
        var ready: [Line] = []
        var readyHead = 0
        var parked: [UnsafeContinuation<Line?, Never>] = []
        var stopped = false
    }

    /// (f)'s record of one operation.
    struct Record {
        enum State { case queued, running, succeeded }
        var state = State.queued
        var result: Int?
    }

    final class RecordShard: Sendable {
        let records = Mutex<[OperationID: Record]>([:])
        /// (g)'s index: each ID's entry.
        let entries = Mutex<[OperationID: Entry]>([:])
    }

    /// (g)'s record of one operation, kept with its entry in the line: written by the worker
    /// that runs it, read by whoever holds the index's reference.
    final class Entry: Sendable {
        static var queued: UInt8 { 0 }
        static var running: UInt8 { 1 }
        static var succeeded: UInt8 { 2 }
        let state = Atomic<UInt8>(Entry.queued)
        /// The result, written before the state says succeeded (released with it).
        let result = Atomic<Int>(-1)
    }

    private let lines: [Line]
    private let pool = Mutex(Pool())
    private let log: OrderLog
    private let completion = CompletionCounter()
    private let submitted = Atomic<Int>(0)
    private let shards = (0..<64).map { _ in RecordShard() }
    private let ids = Mutex<[OperationID]>([])
    private static var budget: Int { 32 }

    private let style: LineTrackingStyle
    private let name: String

    init(keys: Int, log: OrderLog, style: LineTrackingStyle, turnsOnActor: Bool, name: String) {
        lines = (0..<keys).map { _ in Line(turnsOnActor: turnsOnActor) }
        self.log = log
        self.style = style
        self.name = name
        for _ in 0..<max(1, ProcessInfo.processInfo.activeProcessorCount) {
            Task { [self] in await self.work() }
        }
    }

    func submit(key: Int, index: Int) {
        submitted.add(1, ordering: .relaxed)
        let line = lines[key]
        let log = log
        let operation: @Sendable () -> Void
        switch style {
        case .table:
            let id = OperationID.random()
            let shard = shard(id)
            shard.records.withLock { $0[id] = Record() }
            ids.withLock { $0.append(id) }
            operation = {
                shard.records.withLock { $0[id]?.state = .running }
                log.ran(key: key, index: index)
                shard.records.withLock { $0[id] = Record(state: .succeeded, result: index) }
            }
        case .entries:
            let id = OperationID.random()
            let entry = Entry()
            shard(id).entries.withLock { $0[id] = entry }
            ids.withLock { $0.append(id) }
            operation = {
                entry.state.store(Entry.running, ordering: .relaxed)
                log.ran(key: key, index: index)
                entry.result.store(index, ordering: .relaxed)
                entry.state.store(Entry.succeeded, ordering: .releasing)
            }
        case .none:
            operation = { log.ran(key: key, index: index) }
        }
        let schedule = line.state.withLock { state -> Bool in
            state.queue.append(operation)
            if state.scheduled { return false }
            state.scheduled = true
            return true
        }
        if schedule { enqueue(line) }
    }

    /// Removes `id`'s record, as reading its result once does, and says whether it had
    /// succeeded with a result.
    private func takeSucceeded(_ id: OperationID) -> Bool {
        switch style {
        case .table:
            let record = shard(id).records.withLock { $0.removeValue(forKey: id) }
            return record?.state == .succeeded && record?.result != nil
        case .entries:
            guard let entry = shard(id).entries.withLock({ $0.removeValue(forKey: id) }) else { return false }
            return entry.state.load(ordering: .acquiring) == Entry.succeeded && entry.result.load(ordering: .relaxed) >= 0
        case .none:
            return true
        }
    }

    private func shard(_ id: OperationID) -> RecordShard {
        shards[id.hashValue & (shards.count - 1)]
    }

    func finish() async throws {
        await completion.wait(for: submitted.load(ordering: .relaxed))
        for id in ids.withLock({ $0 }) where !takeSucceeded(id) {
            throw WorkloadError("\(name): operation \(id) did not succeed")
        }
        let parked = pool.withLock { pool in
            pool.stopped = true
            defer { pool.parked = [] }
            return pool.parked
        }
        for worker in parked { worker.resume(returning: nil) }
    }

    private func enqueue(_ line: Line) {
        let worker = pool.withLock { pool -> UnsafeContinuation<Line?, Never>? in
            if let worker = pool.parked.popLast() { return worker }
            pool.ready.append(line)
            return nil
        }
        worker?.resume(returning: line)
    }

    private func next() async -> Line? {
        await withUnsafeContinuation { continuation in
            let line = pool.withLock { pool -> Line?? in
                if pool.stopped { return .some(nil) }
                if pool.readyHead < pool.ready.count {
                    let line = pool.ready[pool.readyHead]
                    pool.readyHead += 1
                    if pool.readyHead == pool.ready.count {
                        pool.ready.removeAll(keepingCapacity: true)
                        pool.readyHead = 0
                    }
                    return line
                }
                pool.parked.append(continuation)
                return nil
            }
            if let line { continuation.resume(returning: line) }
        }
    }

    /// Runs up to a budget of `line`'s operations, one at a time, each taken under the line's
    /// lock; returns how many ran.
    fileprivate func runTurn(_ line: Line) -> Int {
        var ran = 0
        while ran < Self.budget {
            let operation = line.state.withLock { state -> (@Sendable () -> Void)? in
                guard state.head < state.queue.count else { return nil }
                defer { state.head += 1 }
                return state.queue[state.head]
            }
            guard let operation else { break }
            operation()
            completion.one()
            ran += 1
        }
        return ran
    }

    /// A worker: takes a ready line, runs up to a budget of its operations one at a time
    /// (each taken under the line's lock, as a tracked engine would take its head), and
    /// puts the line back on the ready queue if it still has work, until ``finish()`` ends it.
    private func work() async {
        var sinceYield = 0
        while let line = await next() {
            let ran = if let turns = line.turns { await turns.run(line, on: self) } else { runTurn(line) }
            let again = line.state.withLock { state -> Bool in
                if state.head < state.queue.count { return true }
                state.queue.removeAll(keepingCapacity: true)
                state.head = 0
                state.scheduled = false
                return false
            }
            if again { enqueue(line) }
            sinceYield += ran
            if sinceYield >= Self.budget {
                sinceYield = 0
                await Task.yield()
            }
        }
    }
}
