/// The worker's command line, parsed by hand from `CommandLine.arguments`.
struct WorkerOptions: Sendable, Equatable {
    /// What the invocation asks for.
    enum Mode: Sendable, Equatable {
        /// Run (or continue) the plan against the journal.
        case run
        /// Print the plan, one `plan <label> <kind>` line per operation, and exit.
        case printPlan
    }

    var mode = Mode.run
    /// The journal's directory.
    var journal = ""
    /// The side file the bodies and the submitter append to.
    var side = ""
    /// Seed of the plan.
    var planSeed: UInt64 = 0
    /// Operations in the plan.
    var operations = 0
    /// Objects the operations are spread over.
    var objects = 0
    /// Send itself SIGKILL right after this many journal appends in this life.
    var killAfterWrites: Int?
    /// The journal's compaction threshold in bytes (default: the journal's own).
    var compactAt: Int?

    static let usage = """
        Usage: docket-crash-worker --journal DIR --side FILE --plan SEED --ops N --objects K
                                   [--kill-after-writes W] [--compact-at BYTES]
               docket-crash-worker --print-plan --plan SEED --ops N --objects K

        Runs (or continues after a crash) a seeded plan of operations on a file journal,
        recording every body run and acknowledged submit in FILE, which is opened for appending.
        """

    /// Parses the arguments after the program name.
    static func parse(_ arguments: [String]) throws(WorkerOptionsError) -> WorkerOptions {
        var options = WorkerOptions()
        var seen = Set<String>()
        var remaining = arguments[...]
        while let flag = remaining.popFirst() {
            guard seen.insert(flag).inserted else { throw .repeated(flag) }
            if flag == "--print-plan" {
                options.mode = .printPlan
                continue
            }
            guard Self.valued.contains(flag) else { throw .unknown(flag) }
            guard let value = remaining.popFirst() else { throw .missingValue(flag) }
            switch flag {
            case "--journal": options.journal = try Self.path(value, for: flag)
            case "--side": options.side = try Self.path(value, for: flag)
            case "--plan":
                guard let seed = UInt64(value) else { throw .invalid(flag, value, "an unsigned integer") }
                options.planSeed = seed
            case "--ops": options.operations = try Self.count(value, for: flag, in: 1...1_000_000)
            case "--objects": options.objects = try Self.count(value, for: flag, in: 1...100_000)
            case "--kill-after-writes": options.killAfterWrites = try Self.count(value, for: flag, in: 1...100_000_000)
            case "--compact-at": options.compactAt = try Self.count(value, for: flag, in: 1...(1 << 40))
            default: throw .unknown(flag)
            }
        }
        let required = options.mode == .run
            ? ["--journal", "--side", "--plan", "--ops", "--objects"] : ["--plan", "--ops", "--objects"]
        for flag in required where !seen.contains(flag) { throw .missing(flag) }
        return options
    }

    private static let valued: Set<String> = [
        "--journal", "--side", "--plan", "--ops", "--objects", "--kill-after-writes", "--compact-at",
    ]

    private static func path(_ value: String, for flag: String) throws(WorkerOptionsError) -> String {
        guard !value.isEmpty else { throw .invalid(flag, value, "a non-empty path") }
        return value
    }

    private static func count(_ value: String, for flag: String, in range: ClosedRange<Int>) throws(WorkerOptionsError) -> Int {
        guard let number = Int(value), range.contains(number) else {
            throw .invalid(flag, value, "an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }
}

/// Why the command line was refused.
enum WorkerOptionsError: Error, Equatable, CustomStringConvertible {
    /// A flag the worker does not know.
    case unknown(String)
    /// A flag given twice.
    case repeated(String)
    /// A flag at the end without its value.
    case missingValue(String)
    /// A required flag that was not given.
    case missing(String)
    /// A value out of range or of the wrong form: flag, value, what was expected.
    case invalid(String, String, String)

    var description: String {
        switch self {
        case .unknown(let flag): "unknown argument \"\(flag)\""
        case .repeated(let flag): "\(flag) is given twice"
        case .missingValue(let flag): "\(flag) needs a value"
        case .missing(let flag): "\(flag) is required"
        case .invalid(let flag, let value, let expected): "\(flag) \"\(value)\" is not \(expected)"
        }
    }
}
