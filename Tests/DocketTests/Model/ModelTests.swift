import Foundation
import Testing

/// Model-based tests: seeded random sequences of submit, succeed, fail, retry, delete,
/// cancel, clock advances, result takes and restarts, each checked step by step against
/// ``ReferenceModel``.
///
/// `DOCKET_TEST_SCALE` scales the number of sequences; `DOCKET_MODEL_SEED` replays one seed
/// (its steps are printed on failure); `DOCKET_MODEL_STEPS` sets the steps per sequence;
/// `DOCKET_MODEL_TRACE` prints each seed as it starts.
@Suite("Model-based sequences against the reference model")
struct ModelTests {
    static let environment = ProcessInfo.processInfo.environment
    static let sequences = TestScale.scaled(5_000)
    static let steps = environment["DOCKET_MODEL_STEPS"].flatMap(Int.init) ?? 40
    /// Prints each seed as it starts, so a crash (which prints no report) still names its seed.
    static let traces = environment["DOCKET_MODEL_TRACE"] != nil

    static func run(_ seed: UInt64) async -> ModelRun.Report {
        if traces { print("seed \(seed) starts") }
        return await ModelRun(seed: seed, length: steps).run()
    }

    @Test("Seeded random sequences agree with the model after every step", .timeLimit(.minutes(5)))
    func seededSequences() async {
        let seeds: [UInt64]
        if let text = Self.environment["DOCKET_MODEL_SEED"], let seed = UInt64(text) {
            seeds = [seed]
        } else {
            seeds = (1...UInt64(Self.sequences)).map { $0 }
        }
        let started = ContinuousClock.now
        // Two sequences at a time, one per core; each is deterministic on its own.
        let (failures, tally) = await withTaskGroup(of: ModelRun.Report.self) { group -> ([String], [String: Int]) in
            var pending = seeds[...]
            var failures: [String] = []
            var tally: [String: Int] = [:]
            for _ in 0..<2 {
                guard let seed = pending.popFirst() else { break }
                group.addTask { await Self.run(seed) }
            }
            for await report in group {
                if let failure = report.failure { failures.append(failure) }
                tally.merge(report.tally, uniquingKeysWith: +)
                // Stop at the first failures: one seed to replay is what a person needs.
                guard failures.count < 3, let seed = pending.popFirst() else { continue }
                group.addTask { await Self.run(seed) }
            }
            return (failures, tally)
        }
        for failure in failures {
            print(failure)
            Issue.record(Comment(rawValue: failure))
        }
        let elapsed = ContinuousClock.now - started
        print("Model-based: \(seeds.count) sequences of \(Self.steps) steps in \(elapsed), \(failures.count) failing")
        print("Steps by outcome: " + tally.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        // Each kind of step must have run, or the sequences test less than they claim.
        if seeds.count >= 100 {
            for expected in ["submit/repeat", "submit/invalidInput", "fail/cancelled", "retry/done", "delete/cascade", "delete/keep", "delete/several", "delete/followerChoiceRequired",
                             "delete/notDeletable", "cancel/running", "cancel/queued", "restart/while running", "take/consumed"] {
                #expect(tally[expected, default: 0] > 0, "no step ended as \(expected)")
            }
        }
    }
}
