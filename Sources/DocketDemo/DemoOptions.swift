/// The demo's command-line settings, parsed by hand from `CommandLine.arguments`.
struct DemoOptions: Sendable, Equatable {
    /// Business objects (deals, invoices, contacts) spread over the tenants.
    var objects = 3_000
    /// Operations submitted over the simulated day.
    var operations = 60_000
    /// Seed of the generator that plans the day.
    var seed: UInt64 = 2_024
    /// Fraction of object operations submitted with invalid input (they fail and block their object).
    var failureRate = 0.01

    /// What parsing asks the program to do.
    enum Command: Equatable {
        case run(DemoOptions)
        case help
    }

    /// A flag the parser refused, with the reason to show above the usage text.
    struct UsageError: Error, Equatable {
        let message: String
    }

    static let usage = """
        Usage: docket-demo [--objects N] [--operations N] [--seed N] [--failure-rate F]

        Simulates a business day on a Docket scheduler: tenants submit operations on deals,
        invoices and contacts; some are delayed, a few are slow, a small seeded fraction fail
        and block their object. Then one blocked object is retried with corrected input and
        another is cleaned up with a cascade delete.

        Options:
          --objects N        business objects, 1...1000000 (default 3000)
          --operations N     operations to submit, 0...5000000 (default 60000)
          --seed N           seed of the day's plan, an unsigned integer (default 2024)
          --failure-rate F   fraction of object operations with bad input, 0...1 (default 0.01)
          --help             show this help
        """

    /// Parses the arguments after the program name. Accepts `--flag value` and `--flag=value`.
    static func parse(_ arguments: [String]) -> Result<Command, UsageError> {
        var options = DemoOptions()
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            var flag = argument
            var inlineValue: String?
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                flag = String(argument[..<equals])
                inlineValue = String(argument[argument.index(after: equals)...])
            }
            if flag == "--help" || flag == "-h" {
                guard inlineValue == nil else { return .failure(UsageError(message: "\(flag) takes no value.")) }
                return .success(.help)
            }
            guard ["--objects", "--operations", "--seed", "--failure-rate"].contains(flag) else {
                return .failure(UsageError(message: "Unknown argument \"\(argument)\"."))
            }
            guard let value = inlineValue ?? remaining.popFirst() else {
                return .failure(UsageError(message: "\(flag) needs a value."))
            }
            switch flag {
            case "--objects":
                guard let number = Int(value), (1...1_000_000).contains(number) else {
                    return .failure(UsageError(message: "--objects wants a whole number from 1 to 1000000, not \"\(value)\"."))
                }
                options.objects = number
            case "--operations":
                guard let number = Int(value), (0...5_000_000).contains(number) else {
                    return .failure(UsageError(message: "--operations wants a whole number from 0 to 5000000, not \"\(value)\"."))
                }
                options.operations = number
            case "--seed":
                guard let number = UInt64(value) else {
                    return .failure(UsageError(message: "--seed wants an unsigned integer, not \"\(value)\"."))
                }
                options.seed = number
            default:
                guard let rate = Double(value), rate.isFinite, (0...1).contains(rate) else {
                    return .failure(UsageError(message: "--failure-rate wants a number from 0 to 1 (e.g. 0.01), not \"\(value)\"."))
                }
                options.failureRate = rate
            }
        }
        return .success(.run(options))
    }
}
