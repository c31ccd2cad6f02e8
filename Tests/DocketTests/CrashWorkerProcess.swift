import Foundation

/// The built `docket-crash-worker` executable, and one life of it as a child process.
struct CrashWorkerProcess {
    /// How a life ended.
    enum End: Equatable {
        /// Exit status 0: the plan is complete.
        case completed
        /// Killed with SIGKILL, by the test or by itself at a fixed write.
        case killed
        /// Anything else: the status (or signal) and what it wrote to standard error.
        case failed(String)
    }

    /// When the test kills a life.
    enum Kill {
        /// This long after spawning it, or at its `lines`-th line of work past `offset` in
        /// the side file at `side` if that comes first: a start-up measured on a loaded
        /// machine must not let one life get through much of the plan.
        case after(Duration, orAtWork: (lines: Int, side: String, offset: UInt64))
        /// This long after its `lines`-th line of work (a submit, a body run or a result)
        /// reached the side file at `side`, beyond `offset`. Counting lines rather than time
        /// bounds how much of the plan one life gets through, however fast the machine is
        /// running at that moment.
        case afterWork(lines: Int, then: Duration, side: String, offset: UInt64)
    }

    let executable: URL

    /// Finds the worker next to the test bundle, or else in a `.build*/debug` folder of the
    /// package containing `filePath`.
    static func locate(filePath: String = #filePath) throws -> CrashWorkerProcess {
        let name = "docket-crash-worker"
        var candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name)]
        if let bundle = Bundle.main.executableURL { candidates.append(bundle.deletingLastPathComponent().appendingPathComponent(name)) }
        let root = URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let builds = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        for build in builds.sorted() where build.hasPrefix(".build") {
            candidates.append(root.appendingPathComponent(build).appendingPathComponent("debug").appendingPathComponent(name))
        }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw CrashWorkerMissing(searched: candidates.map(\.path))
        }
        return CrashWorkerProcess(executable: found)
    }

    /// The plan a seed stands for, from `--print-plan`.
    func plan(seed: UInt64, operations: Int, objects: Int, in directory: URL) async throws -> [CrashLog.Planned] {
        let output = directory.appendingPathComponent("plan.out")
        let end = try await run(
            ["--print-plan", "--plan", "\(seed)", "--ops", "\(operations)", "--objects", "\(objects)"],
            output: output, killing: nil)
        guard end == .completed else { throw CrashWorkerFailed(end: end) }
        let text = try String(contentsOf: output, encoding: .utf8)
        return text.split(separator: "\n").compactMap(CrashLog.Planned.init(line:))
    }

    /// Runs one life with `arguments`, writing its standard output and error to `output`
    /// (and `output` + `.err`); with `killing`, sends it SIGKILL then unless it has exited by then.
    func run(_ arguments: [String], output: URL, killing: Kill?) async throws -> End {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let errors = URL(fileURLWithPath: output.path + ".err")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: errors)
        let (exited, continuation) = AsyncStream<Void>.makeStream()
        process.terminationHandler = { _ in continuation.finish() }
        try process.run()
        switch killing {
        case nil:
            break
        case .after(let delay, let work):
            let end = ContinuousClock.now + delay
            while process.isRunning && Self.workLines(work.side, after: work.offset) < work.lines {
                let left = end - .now
                guard left > .zero else { break }
                try await Task.sleep(for: min(left, .milliseconds(1)))
            }
        case .afterWork(let lines, let delay, let side, let offset):
            while process.isRunning && Self.workLines(side, after: offset) < lines {
                try await Task.sleep(for: .milliseconds(1))
            }
            try await Task.sleep(for: delay)
        }
        if killing != nil && process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for await _ in exited {}
        switch (process.terminationReason, process.terminationStatus) {
        case (.exit, 0): return .completed
        case (.uncaughtSignal, SIGKILL): return .killed
        case (let reason, let status):
            let text = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            return .failed("\(reason == .exit ? "exit status" : "signal") \(status): \(text)")
        }
    }
}

extension CrashWorkerProcess {
    /// The side file's lines of work (not `life` or `interrupted`) past `offset`.
    static func workLines(_ side: String, after offset: UInt64 = 0) -> Int {
        guard let file = FileHandle(forReadingAtPath: side) else { return 0 }
        defer { try? file.close() }
        guard (try? file.seek(toOffset: offset)) != nil, let data = try? file.readToEnd() else { return 0 }
        let work = ["submitted ", "run ", "taken ", "consumed "]
        return String(decoding: data, as: UTF8.self).split(separator: "\n").count { line in
            work.contains { line.hasPrefix($0) }
        }
    }
}

/// The worker executable was not built where the test looks for it.
struct CrashWorkerMissing: Error, CustomStringConvertible {
    let searched: [String]
    var description: String {
        "docket-crash-worker was not found; build it with `swift build --build-tests`. Looked at: \(searched.joined(separator: ", "))"
    }
}

/// A worker life that should have completed did not.
struct CrashWorkerFailed: Error, CustomStringConvertible {
    let end: CrashWorkerProcess.End
    var description: String { "docket-crash-worker ended \(end)" }
}
