import Foundation

// docket-demo: a simulated business day on a Docket scheduler. See DemoOptions.usage.
switch DemoOptions.parse(Array(CommandLine.arguments.dropFirst())) {
case .failure(let error):
    Console.error("docket-demo: \(error.message)\n\n\(DemoOptions.usage)")
    exit(2)
case .success(.help):
    Console.line(DemoOptions.usage)
case .success(.run(let options)):
    do {
        try await BusinessDay(options: options).run()
    } catch {
        Console.error("docket-demo: could not start: \(error)")
        exit(1)
    }
}
