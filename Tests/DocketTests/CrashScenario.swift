import Foundation

/// One journal and its side file in a directory of their own, and the worker lives run on them.
struct CrashScenario {
    /// How one life went: how it ended, how long it lived, and how far it got.
    struct Life {
        let end: CrashWorkerProcess.End
        let duration: Duration
        /// Side-file lines it wrote.
        let lines: Int
    }

    let directory: URL
    let worker: CrashWorkerProcess
    let plan: (seed: UInt64, operations: Int, objects: Int)
    /// The journal's compaction threshold in bytes; the journal's default when `nil`.
    let compactAt: Int?
    private(set) var lives: [Life] = []

    /// Creates the scenario's directory, empty.
    init(_ name: String, in parent: URL, worker: CrashWorkerProcess, plan: (seed: UInt64, operations: Int, objects: Int), compactAt: Int? = nil) throws {
        directory = parent.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.worker = worker
        self.plan = plan
        self.compactAt = compactAt
    }

    var sidePath: String { directory.appendingPathComponent("side.log").path }

    /// Runs one life: killed at its `killAfterWrites`-th journal append, or `killAfter.delay`
    /// after it was spawned (or at its `killAfter.lines`-th line of work, if sooner), or
    /// `killAfterWork.then` after its `killAfterWork.lines`-th line of work, or left to complete.
    @discardableResult
    mutating func live(
        killAfterWrites: Int? = nil, killAfter early: (delay: Duration, lines: Int)? = nil,
        killAfterWork work: (lines: Int, then: Duration)? = nil
    ) async throws -> Life {
        var arguments = [
            "--journal", directory.appendingPathComponent("journal").path, "--side", sidePath,
            "--plan", "\(plan.seed)", "--ops", "\(plan.operations)", "--objects", "\(plan.objects)",
        ]
        if let killAfterWrites { arguments += ["--kill-after-writes", "\(killAfterWrites)"] }
        if let compactAt { arguments += ["--compact-at", "\(compactAt)"] }
        let before = try sideLineCount()
        let size = (try? FileManager.default.attributesOfItem(atPath: sidePath)[.size] as? UInt64) ?? 0
        var kill: CrashWorkerProcess.Kill?
        if let early { kill = .after(early.delay, orAtWork: (early.lines, sidePath, size)) }
        if let work { kill = .afterWork(lines: work.lines, then: work.then, side: sidePath, offset: size) }
        let started = ContinuousClock.now
        let end = try await worker.run(arguments, output: directory.appendingPathComponent("life-\(lives.count).out"), killing: kill)
        let life = Life(end: end, duration: ContinuousClock.now - started, lines: try sideLineCount() - before)
        lives.append(life)
        return life
    }

    /// The side file read back.
    func log() throws -> CrashLog {
        try CrashLog(text: String(contentsOfFile: sidePath, encoding: .utf8))
    }

    private func sideLineCount() throws -> Int {
        guard let data = FileManager.default.contents(atPath: sidePath) else { return 0 }
        return data.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
    }
}
