import Docket
import Foundation
import Testing

/// The crash test: `docket-crash-worker` runs a seeded plan of operations on a file journal
/// and is killed with SIGKILL, right after its N-th journal write or at random moments, and
/// restarted each time. Its side file (opened with `O_APPEND`) records every body run,
/// acknowledged submit, interruption and taken result; ``CrashLog`` checks that every
/// acknowledged operation survived, no non-idempotent body ran twice, each object's order
/// held, and the run ended where a run without crashes ends.
///
/// `DOCKET_TEST_SCALE` multiplies the plans (2,000 operations on 50 objects for the random
/// kills, 1,000 for each of the fixed points); `DOCKET_CRASH_SEED` repeats a random run.
@Suite("Crash test: a worker on a file journal killed with SIGKILL", .serialized, .timeLimit(.minutes(5)))
struct CrashTests {
    static let scale = ProcessInfo.processInfo.environment["DOCKET_TEST_SCALE"].flatMap(Int.init).map { max(1, $0) } ?? 1
    static let operations = 2_000 * scale
    /// Each fixed point runs its own plan to the end, so it is smaller.
    static let fixedOperations = 1_000 * scale
    static let objects = 50
    /// Journal writes after which a life kills itself (the first and third life at each point).
    static let writePoints = [1, 2, 5, 17, 60, 150, 400, 1_000, 2_000]
    /// The write a life is killed after between the two kills at a point.
    static let midRunWrite = 700
    /// Random kills at least, per run of the test.
    static let randomKills = 20

    @Test("Killed right after its N-th journal write for several N, before and after a kill mid-run, then run to the end")
    func fixedWritePoints() async throws {
        let worker = try CrashWorkerProcess.locate()
        let root = try Self.temporaryDirectory("fixed")
        let plan = (seed: UInt64(2_024), operations: Self.fixedOperations, objects: Self.objects)
        let planned = try await worker.plan(seed: plan.seed, operations: plan.operations, objects: plan.objects, in: root)
        try #require(planned.count == plan.operations)
        var kills = 0
        var passed = true
        for writes in Self.writePoints {
            var scenario = try CrashScenario("after-\(writes)-writes", in: root, worker: worker, plan: plan)
            // The kill at write 700 leaves operations running, so the next life's first
            // writes are recovery's: interruptions, retries, resubmits.
            for point in [writes, Self.midRunWrite, writes] {
                let life = try await scenario.live(killAfterWrites: point)
                // A life with fewer than `point` writes left completes instead.
                try #require(life.end == .killed || life.end == .completed, "kill after \(point) writes: the life ended \(life.end)")
                if life.end == .killed { kills += 1 }
            }
            let last = try await scenario.live()
            try #require(last.end == .completed, "after kills at write \(writes): the last life ended \(last.end)")
            let log = try scenario.log()
            let violations = log.violations(plan: planned, completed: true)
            passed = passed && violations.isEmpty
            #expect(violations.isEmpty, "kills after \(writes) writes (plan seed \(plan.seed), \(scenario.directory.path)):\n\(violations.prefix(30).joined(separator: "\n"))")
            print("crash test: killed after write \(writes): \(Self.summary(of: scenario, log: log))")
        }
        #expect(kills >= 2 * Self.writePoints.count, "the first two lives of each point are killed at their write")
        print("crash test: \(kills) kills at fixed write points")
        Self.remove(root, passed: passed)
    }

    @Test("Killed at 20 or more random moments, then run to the end: the final state of a run without crashes")
    func randomMoments() async throws {
        let seed = ProcessInfo.processInfo.environment["DOCKET_CRASH_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0 ... .max)
        print("crash test: random seed \(seed) (set DOCKET_CRASH_SEED=\(seed) to repeat)")
        var random = SplitMix64(seed: seed)
        let worker = try CrashWorkerProcess.locate()
        let root = try Self.temporaryDirectory("random")
        let plan = (seed: seed, operations: Self.operations, objects: Self.objects)
        let planned = try await worker.plan(seed: plan.seed, operations: plan.operations, objects: plan.objects, in: root)
        try #require(planned.count == plan.operations)

        // The run without crashes.
        var reference = try CrashScenario("reference", in: root, worker: worker, plan: plan)
        let whole = try await reference.live()
        try #require(whole.end == .completed, "the run without crashes ended \(whole.end)")
        let expected = try reference.log()
        #expect(expected.violations(plan: planned, completed: true).isEmpty)
        #expect(expected.runCounts.values.allSatisfy { $0 == 1 } && expected.interruptedLabels.isEmpty, "without crashes every body runs once")

        // The same plan, killed at random moments; a small compaction threshold makes the
        // journal compact (in the background, and at open) while lives are being killed.
        var scenario = try CrashScenario("killed", in: root, worker: worker, plan: plan, compactAt: 128 << 10)
        // A quarter of the kills land at a random moment of a life's start-up (spawn, open,
        // recovery, retries), measured as a life with nothing left to do; the others at a
        // random moment after a random number of lines of work, spread so that the kills use
        // up about half of the plan. The budget is in lines, not time: a reference run slowed
        // by a loaded machine would otherwise let later lives finish the plan in a few kills.
        // For the same reason a start-up kill comes at the latest with a working kill's most.
        let idle = try await reference.live()
        try #require(idle.end == .completed, "a life with nothing to do ended \(idle.end)")
        let startup = Self.microseconds(idle.duration)
        let workLines = CrashWorkerProcess.workLines(reference.sidePath)
        try #require(workLines > 2 * Self.randomKills, "the run without crashes wrote \(workLines) lines of work")
        let linesPerKill = workLines / Self.randomKills
        let perLine = max(1, Self.microseconds(whole.duration) / workLines)
        var kills = 0
        while kills < Self.randomKills && scenario.lives.count < 10 * Self.randomKills {
            let life = Int.random(in: 0..<4, using: &random) == 0
                ? try await scenario.live(killAfter: (.microseconds(Int.random(in: 0...startup, using: &random)), linesPerKill))
                : try await scenario.live(killAfterWork: (
                    lines: Int.random(in: 1...linesPerKill, using: &random),
                    then: .microseconds(Int.random(in: 0...(2 * perLine), using: &random))))
            try #require(life.end == .killed || life.end == .completed, "life \(scenario.lives.count - 1) ended \(life.end)")
            if life.end == .killed { kills += 1 }
        }
        let last = try await scenario.live()
        try #require(last.end == .completed, "the last life ended \(last.end)")
        #expect(kills >= Self.randomKills)
        let working = scenario.lives.filter { $0.end == .killed && $0.lines > 1 }.count
        #expect(working >= Self.randomKills / 4, "only \(working) of \(kills) kills landed after a life had started working")

        let log = try scenario.log()
        let violations = log.violations(plan: planned, completed: true)
        #expect(violations.isEmpty, "seed \(seed) (\(scenario.directory.path)):\n\(violations.prefix(30).joined(separator: "\n"))")
        #expect(log.finalState == expected.finalState, "seed \(seed): the final state differs from the run without crashes")
        #expect(log.completionOrder == expected.completionOrder, "seed \(seed): an object's operations finished in another order than without crashes")
        print("crash test: start-up \(idle.duration), reference run \(whole.duration); random kills: \(Self.summary(of: scenario, log: log))")
        Self.remove(root, passed: violations.isEmpty && log.finalState == expected.finalState && log.completionOrder == expected.completionOrder)
    }

    // MARK: Helpers

    static func microseconds(_ duration: Duration) -> Int {
        Int(duration / .microseconds(1))
    }

    static func temporaryDirectory(_ name: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("docket-crash-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Removes a passed run's files; a failed run's stay for a look (the failure names them).
    static func remove(_ directory: URL, passed: Bool) {
        if passed { try? FileManager.default.removeItem(at: directory) }
    }

    /// Lives, kills, how far the killed lives got, interruptions and re-runs.
    static func summary(of scenario: CrashScenario, log: CrashLog) -> String {
        let killed = scenario.lives.filter { $0.end == .killed }
        let working = killed.filter { $0.lines > 1 }.count
        let reruns = log.runCounts.values.reduce(0) { $0 + $1 - 1 }
        let interrupted = log.interruptedLabels.values.reduce(0, +)
        let time = scenario.lives.reduce(Duration.zero) { $0 + $1.duration }
        return "\(scenario.lives.count) lives, \(killed.count) killed (\(working) after writing side lines; side lines per killed life "
            + "\(killed.map(\.lines).min() ?? 0)...\(killed.map(\.lines).max() ?? 0)), \(interrupted) interruptions retried, "
            + "\(reruns) extra body runs, \(time) in lives"
    }
}
