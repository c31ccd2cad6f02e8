import Foundation

// docket-crash-worker: one life of the crash test's workload. See WorkerOptions.usage.
let options: WorkerOptions
do throws(WorkerOptionsError) {
    options = try WorkerOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    Output.error("docket-crash-worker: \(error)\n\n\(WorkerOptions.usage)")
    exit(2)
}
let plan = CrashPlan(seed: options.planSeed, operations: options.operations, objects: options.objects)
switch options.mode {
case .printPlan:
    Output.line(plan.entries.map { "plan \($0.label) \($0.kind.rawValue)" }.joined(separator: "\n"))
case .run:
    do throws(WorkerFailure) {
        Output.line(try await CrashWorker(options: options, plan: plan).run())
    } catch {
        Output.error("docket-crash-worker: \(error)")
        exit(error.status)
    }
}
