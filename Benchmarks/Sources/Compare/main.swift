import Foundation
import Workloads

/// One process, every workload: Docket's figure, each baseline's, and the ratio.
/// `compare --smoke` runs every workload at a tiny size (for CI); `compare --full` adds the
/// 10-million-operation runs. Workload numbers (`compare 1 4`) run only those workloads.

let arguments = CommandLine.arguments.dropFirst()
let smoke = arguments.contains("--smoke")
let full = arguments.contains("--full")
/// `--recovery N`: only the reopening of a journal of N live operations, for a profiler.
if let index = CommandLine.arguments.firstIndex(of: "--recovery"), index + 1 < CommandLine.arguments.count,
   let count = Int(CommandLine.arguments[index + 1]) {
    let recovered = try await durableRecovery(count: count)
    print("reopening with \(count) live operations: \(recovered.recovery), \(recovered.bytesPerOperation) bytes each")
    exit(0)
}
/// `--scale OPERATIONS OBJECTS`: only one run of workload 7's shape, in waves of 1 000 000.
if let index = CommandLine.arguments.firstIndex(of: "--scale"), index + 2 < CommandLine.arguments.count,
   let count = Int(CommandLine.arguments[index + 1]), let objects = Int(CommandLine.arguments[index + 2]) {
    let result = try await waves(operations: count, objects: objects, wave: min(count, 1_000_000))
    print("\(count) operations over \(objects) objects: \(Int(result.nsPerOperation)) ns/op, peak RSS \(result.peakResident / 1_048_576) MiB, peak heap in use \(result.peakHeap / 1_048_576) MiB")
    exit(0)
}
/// The number after `option`, if the arguments have both.
func value(after option: String) -> Int? {
    let number = arguments.firstIndex(of: option).flatMap { arguments.index(after: $0) < arguments.endIndex ? Int(arguments[arguments.index(after: $0)]) : nil }
    if let number, number < 1 {
        FileHandle.standardError.write(Data("\(option) takes a count of at least 1, not \(number)\n".utf8))
        exit(2)
    }
    return number
}
/// `--profile K`: only Docket's keyed-throughput run at K objects, repeated, for a profiler.
let profileKeys = value(after: "--profile")
/// `--phases K`: only the batch-mode phases of that run (submit, run, take), repeated, for a
/// profiler: each phase runs alone, so a profile of one is not mixed with the others.
let phasesKeys = value(after: "--phases")
/// `--delays N`: only workload 4's batch-mode runs at N delayed operations per object, delayed
/// and undelayed alternately, their results taken in submission order and in due order.
let delaysPerObject = value(after: "--delays")
/// `--lookups P`: only workload 2's lookups on a quiet docket of 1 000 finished operations,
/// `progress(of:)` then `status(of:)`, from P threads at once, repeated, for a profiler.
let lookupPollers = value(after: "--lookups")
/// `--lines K`: only workload 1's reference lines at K objects, (e), (f) and (g), repeated in
/// rotating order beside DispatchQueue and Docket, each with the cores the process kept busy.
let linesKeys = value(after: "--lines")
/// `--throughput K`: only Docket's keyed-throughput run at K objects, repeated, with the
/// cores it kept busy: a profile of it holds only the submitter and the workers at work.
let throughputKeys = value(after: "--throughput")
/// `--from-actor K`: only a client on an actor of its own submitting round-robin over K
/// objects and then awaiting each outcome, repeated (ns per operation, hops included).
let fromActorKeys = value(after: "--from-actor")
let selected = Set(arguments.compactMap { Int($0) })
if profileKeys == nil, phasesKeys == nil, delaysPerObject == nil, lookupPollers == nil, linesKeys == nil, throughputKeys == nil, fromActorKeys == nil, let unknown = arguments.first(where: { !["--smoke", "--full"].contains($0) && !(1...8).contains(Int($0) ?? 0) }) {
    FileHandle.standardError.write(Data("unknown argument \(unknown); usage: compare [--smoke | --full] [workload 1-8 ...] | --profile K | --phases K | --delays N | --lookups P | --lines K | --throughput K | --from-actor K | --recovery N | --scale OPERATIONS OBJECTS\n".utf8))
    exit(2)
}
func runs(_ workload: Int) -> Bool { selected.isEmpty || selected.contains(workload) }

/// Runs `--scale OPERATIONS OBJECTS` in a child process with `environment` added, and returns its report.
func scaleInChildProcess(operations: Int, objects: Int, environment: [String: String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
    process.arguments = ["--scale", "\(operations)", "\(objects)"]
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    guard process.terminationStatus == 0, let colon = text.firstIndex(of: ":") else {
        throw WorkloadError("the scale run in a child process failed (status \(process.terminationStatus)): \(text)")
    }
    return String(text[text.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
}

func row(_ cells: [String]) { print("| " + cells.joined(separator: " | ") + " |") }
func ns(_ value: Double) -> String { value >= 10_000 ? String(format: "%.1f µs", value / 1000) : String(format: "%.0f ns", value) }
func ratio(_ baseline: Double, _ docket: Double) -> String { String(format: "%.2f×", baseline / docket) }
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}
/// How much slower `figure` is than `reference`, in percent.
func slowdown(_ figure: Double, against reference: Double) -> String { String(format: "%.0f%%", (figure / reference - 1) * 100) }

@Sendable func main() async throws {
    let operations = smoke ? 2_000 : 200_000
    let keyCounts = smoke ? [1, 100, 1_000] : [1, 100, 10_000, 100_000]
    let midKeys = smoke ? 100 : 10_000
    if let keys = phasesKeys {
        for _ in 0..<10 {
            let phases = try await keyedPhases(operations: operations, keys: keys)
            print("in batch mode: submit \(ns(phases.submit)), run \(ns(phases.run)), take \(ns(phases.take))")
        }
        return
    }
    if let pollers = lookupPollers {
        for _ in 0..<5 {
            let progress = try await statusLookupCost(live: 1_000, keys: midKeys, lookups: 2_000_000, progressOnly: true, pollers: pollers)
            let status = try await statusLookupCost(live: 1_000, keys: midKeys, lookups: 1_000_000, pollers: pollers)
            print("from \(pollers) thread\(pollers == 1 ? "" : "s") at once, with 1000 live operations: progress(of:) \(ns(progress)), status(of:) \(ns(status)) per lookup")
        }
        return
    }
    if let perObject = delaysPerObject {
        let count = smoke ? 2_000 : 1_000_000
        // First runs, not printed, grow the process's heap to this size (see workload 4).
        _ = try await delayedPhases(count: count, keys: count / max(1, perObject), delayed: false)
        _ = try await delayedPhases(count: count, keys: count / max(1, perObject), delayed: true)
        // Taking in due order as well shows how much of the take phase's difference is the
        // order the records are visited in, rather than anything the timer left behind.
        for _ in 0..<3 {
            for (isDelayed, inDueOrder) in [(true, false), (false, false), (true, true), (false, true)] {
                let phases = try await delayedPhases(count: count, keys: count / max(1, perObject), delayed: isDelayed, takeInDueOrder: inDueOrder)
                print("\(isDelayed ? "delayed" : "undelayed"), batch mode: submit \(ns(phases.submit)), fire \(ns(phases.fire)), run \(ns(phases.run)), take \(ns(phases.take)) (results taken in \(inDueOrder ? "due" : "submission") order)")
            }
        }
        return
    }
    /// Keyed throughput (ns per operation) and the cores the process kept busy meanwhile: its
    /// CPU time over the wall time, setup and order check included.
    func throughputAndCores(_ system: any KeyedSystem.Type, keys: Int) async throws -> String {
        let (cpu, wall) = (processCPUTime(), ContinuousClock.now)
        let figure = try await keyedThroughput(system, operations: operations, keys: keys)
        let cores = (processCPUTime() - cpu).nanoseconds / (ContinuousClock.now - wall).nanoseconds
        return "\(ns(figure)) (\(String(format: "%.2f", cores)) cores)"
    }
    if let keys = throughputKeys {
        for _ in 0..<10 {
            print("Docket \(try await throughputAndCores(DocketSystem.self, keys: keys))")
        }
        return
    }
    if let keys = fromActorKeys {
        for _ in 0..<10 {
            let client = try ActorClient(keys: keys)
            print("Docket from an actor \(ns(try await client.run(operations: operations)))")
        }
        return
    }
    if let keys = linesKeys {
        let systems: [any KeyedSystem.Type] = [
            DispatchQueuePerKey.self, LockedLines<Untracked>.self, LockedLines<Tracked>.self, LockedLines<TrackedInEntries>.self,
            DocketSystem.self, LockedLines<TrackedOnActor>.self,
        ]
        for round in 0..<5 {
            var figures = Array(repeating: "", count: systems.count)
            for offset in systems.indices {
                let index = (offset + round) % systems.count
                figures[index] = try await throughputAndCores(systems[index], keys: keys)
            }
            print("DispatchQueue \(figures[0]), (e) \(figures[1]), (f) \(figures[2]), (g) \(figures[3]), Docket \(figures[4]), (h) \(figures[5])")
        }
        return
    }
    if let keys = profileKeys {
        for _ in 0..<5 {
            let docket = try await keyedThroughput(DocketSystem.self, operations: operations, keys: keys)
            let floor = try await keyedThroughput(DrainingMailbox.self, operations: operations, keys: keys)
            let phases = try await keyedPhases(operations: operations, keys: keys)
            print("Docket \(ns(docket)), drain floor \(ns(floor)), ratio \(ratio(floor, docket)); in batch mode: submit \(ns(phases.submit)), run \(ns(phases.run)), take \(ns(phases.take))")
        }
        return
    }

    if runs(1) {
        // The machine is shared: a burst of load elsewhere can slow one measurement by 2×. Each
        // system runs once per round, in an order that rotates from round to round, and the
        // table gives each system's median, so one disturbed run moves no ratio.
        let rounds = smoke ? 1 : 3
        print("## 1. Keyed throughput (\(operations) trivial operations, ns/op, \(rounds > 1 ? "the median of \(rounds) interleaved rounds" : "one run each"); ratio = baseline ÷ Docket, above 1 means Docket is faster)\n")
        row(["K", "Docket", "(a) DispatchQueue", "(b) OperationQueue", "(c) actor + Task/op", "(d) drain floor", "vs (a)", "vs (b)", "vs (c)", "vs (d)"])
        row(Array(repeating: "---", count: 10))
        let systems: [any KeyedSystem.Type] = [
            DocketSystem.self, DispatchQueuePerKey.self, OperationQueuePerKey.self, TaskPerOperation.self,
            DrainingMailbox.self, LockedLines<Untracked>.self, LockedLines<Tracked>.self, CoreBoundDocketSystem.self,
            LockedLines<TrackedInEntries>.self, LockedLines<TrackedOnActor>.self,
        ]
        var coreBound: [String] = []
        var withoutActors: [String] = []
        var trackedWithoutActors: [String] = []
        var trackedInEntries: [String] = []
        var trackedOnActor: [String] = []
        var perRound: [String] = []
        for keys in keyCounts {
            var samples = Array(repeating: [Double](), count: systems.count)
            for round in 0..<rounds {
                for offset in systems.indices {
                    let index = (offset + round) % systems.count
                    samples[index].append(try await keyedThroughput(systems[index], operations: operations, keys: keys))
                }
            }
            let medians = samples.map(median)
            let (docket, dispatch, operation, tasks, floor) = (medians[0], medians[1], medians[2], medians[3], medians[4])
            let (locked, tracked, bound, inEntries, onActor) = (medians[5], medians[6], medians[7], medians[8], medians[9])
            row(["\(keys)", ns(docket), ns(dispatch), ns(operation), ns(tasks), ns(floor),
                 ratio(dispatch, docket), ratio(operation, docket), ratio(tasks, docket), ratio(floor, docket)])
            coreBound.append("K = \(keys): \(ns(bound)), \(ratio(docket, bound)) the default's speed; to (a) \(ratio(dispatch, bound)), to (b) \(ratio(operation, bound)), to (c) \(ratio(tasks, bound)), to (d) \(ratio(floor, bound))")
            withoutActors.append("K = \(keys): \(ns(locked)), \(ratio(dispatch, locked)) DispatchQueue's speed, \(ratio(floor, locked)) the drain floor's, \(ratio(docket, locked)) Docket's")
            // (f) and (g) against the others, and what their tracking adds to (e).
            func trackedLine(_ figure: Double) -> String {
                "K = \(keys): \(ns(figure)), \(ratio(dispatch, figure)) DispatchQueue's speed, \(ratio(floor, figure)) the drain floor's, \(ratio(docket, figure)) Docket's; its tracking \(ns(figure - locked)) per operation over (e)"
            }
            trackedWithoutActors.append(trackedLine(tracked))
            trackedInEntries.append(trackedLine(inEntries))
            trackedOnActor.append("K = \(keys): \(ns(onActor)), \(ratio(dispatch, onActor)) DispatchQueue's speed, \(ratio(docket, onActor)) Docket's; the line's actor \(ns(onActor - tracked)) per operation over (f)")
            if rounds > 1 {
                let byRound = { (baseline: Int) in (0..<rounds).map { ratio(samples[baseline][$0], samples[0][$0]) }.joined(separator: ", ") }
                perRound.append("K = \(keys): to (a) \(byRound(1)); to (b) \(byRound(2)); to (c) \(byRound(3)); to (d) \(byRound(4))")
            }
        }
        if !perRound.isEmpty {
            print("\nDocket's ratio within each round (the spread the medians smooth):")
            for line in perRound { print("  " + line) }
        }
        // Docket configured for bodies that compute rather than wait: more workers than cores
        // only take turns on the same threads.
        print("\nDocket with maxConcurrentOperations at the core count (\(ProcessInfo.processInfo.activeProcessorCount)) instead of the default 64\(rounds > 1 ? " (medians)" : ""):")
        for line in coreBound { print("  " + line) }
        // Not baselines of the targets: how fast a line can be kept in order without an actor
        // per object (a locked queue per key, a fixed pool of workers; see LockedLines), and
        // what the simplest tracking adds to it.
        let medianNote = rounds > 1 ? " (medians)" : ""
        print("\n(e) a locked line per key drained by one worker per core, no tracking\(medianNote):")
        for line in withoutActors { print("  " + line) }
        print("\n(f) the same with the simplest tracking: a random ID, a record in one of 64 locked dictionaries marked running and succeeded, its result read once at the end\(medianNote):")
        for line in trackedWithoutActors { print("  " + line) }
        print("\n(g) the same tracking kept in the line's entries: the 64 locked dictionaries only map an ID to its entry, which the worker marks running and succeeded without a shared lock\(medianNote):")
        for line in trackedInEntries { print("  " + line) }
        print("\n(h) (f) with each worker's turn run on the line's own actor, entered and left once per turn as Docket's mailbox is\(medianNote):")
        for line in trackedOnActor { print("  " + line) }
    }

    if runs(1) {
        let single = await idCost(count: smoke ? 10_000 : 2_000_000, threads: 1)
        let pair = await idCost(count: smoke ? 10_000 : 2_000_000, threads: 2)
        print("\nOperation IDs (128 secure random bits, batched reads): \(ns(single)) per ID from one thread, \(ns(pair)) per ID from two at once")
    }

    if runs(2) {
        let rounds = smoke ? 1 : 3
        print("\n## 2. Throughput while two pollers read statuses (\(rounds > 1 ? "medians of \(rounds) interleaved rounds" : "one run each"))\n")
        // As in workload 1, a burst of load from elsewhere can slow one run by 2×, and a
        // slowdown is the ratio of two runs. Each round runs workload 1 without pollers, with
        // pollers reading status(of:) and with pollers reading progress(of:), in an order that
        // rotates from round to round; each slowdown is against the same round's run without
        // pollers, and the figures are medians over the rounds.
        func format(_ value: Double) -> String { String(format: "%.2f", value) }
        func pollingRounds(
            _ system: any KeyedSystem.Type, _ label: String, workerPriority: TaskPriority? = nil,
            maxConcurrentOperations: Int? = nil, defaultQuiet: Double? = nil
        ) async throws -> Double {
            var quiet: [Double] = []
            var polled: [[PollingRun]] = [[], []]
            for round in 0..<rounds {
                for offset in 0..<3 {
                    let run = (offset + round) % 3
                    if run == 0 {
                        quiet.append(try await keyedThroughput(system, operations: operations, keys: midKeys))
                    } else {
                        polled[run - 1].append(try await throughputWhilePolling(
                            operations: operations, keys: midKeys, progressOnly: run == 2, workerPriority: workerPriority,
                            maxConcurrentOperations: maxConcurrentOperations))
                    }
                }
            }
            let quietMedian = median(quiet)
            let against = defaultQuiet.map { " (\(format(quietMedian / $0))× the default workers' figure)" } ?? ""
            print("\(label), K = \(midKeys), without pollers: \(ns(quietMedian))/op\(against)")
            for (reader, runs) in zip(["status(of:)", "progress(of:)"], polled) {
                let slowdowns = runs.indices.map { runs[$0].nsPerOperation / quiet[$0] }
                let met = runs.indices.filter { runs[$0].lookupsPerSecond >= 5_000_000 && slowdowns[$0] <= 1.25 }.count
                let byRound = rounds > 1 ? " (by round \(slowdowns.map { slowdown($0, against: 1) }.joined(separator: ", ")))" : ""
                let againstDefault = defaultQuiet.map { ", \(slowdown(median(runs.map(\.nsPerOperation)), against: $0)) against the default workers without pollers" } ?? ""
                print("""
                      pollers reading \(reader): \(ns(median(runs.map(\.nsPerOperation))))/op, slowdown \(slowdown(median(slowdowns), against: 1))\(byRound)\(againstDefault); \
                    \(format(median(runs.map(\.lookupsPerSecond)) / 1e6)) million lookups/s; the pollers were given \(format(median(runs.map(\.pollerShare)))) cores \
                    of 2 (the process used \(format(median(runs.map(\.processShare))))) and spent \(ns(median(runs.map(\.nsPerLookup)))) per lookup; \
                    \(met) of \(runs.count) round\(runs.count == 1 ? "" : "s") met both halves of the target (≥ 5 million lookups/s, slowdown ≤ 25%)
                    """)
            }
            return quietMedian
        }
        let quiet = try await pollingRounds(DocketSystem.self, "The default workers")
        for progressOnly in [false, true] {
            let read = progressOnly ? "progress(of:)" : "status(of:)"
            for live in smoke ? [1_000] : [1_000, 100_000] {
                let lookup = try await statusLookupCost(live: live, keys: midKeys, lookups: smoke ? 10_000 : 2_000_000, progressOnly: progressOnly)
                print("  one \(read) on a quiet docket with \(live) live operations: \(ns(lookup)) (\(String(format: "%.1f", 1e3 / lookup)) million per second per core)")
            }
        }
        // With the workers at .utility priority (DocketConfiguration.workerPriority), the
        // pollers' tasks run ahead of the docket's jobs instead of queueing behind them.
        _ = try await pollingRounds(UtilityDocketSystem.self, "With the workers at .utility priority", workerPriority: .utility, defaultQuiet: quiet)
        // With at most one operation running per core (maxConcurrentOperations): the pool's
        // threads are shared by count of tasks, so fewer workers leave the pollers more turns.
        let cores = ProcessInfo.processInfo.activeProcessorCount
        _ = try await pollingRounds(
            CoreBoundDocketSystem.self, "With maxConcurrentOperations at the core count (\(cores))", maxConcurrentOperations: cores,
            defaultQuiet: quiet)
    }

    if runs(3) {
        print("\n## 3. Latency (64 clients, closed loop)\n")
        let latencies = try await latency(clients: 64, perClient: smoke ? 20 : 2_000, keys: 1_000)
        print("submit → start: \(latencies.toStart)\nsubmit → result: \(latencies.toResult)")
        let sharing = try await backlogSharing(operations: smoke ? 2_000 : 200_000, keys: 100)
        print("""
            a task yielding in a loop while a backlog of \(smoke ? 2_000 : 200_000) operations on 100 objects drains \
            (\(Int(sharing.backlogMilliseconds)) ms): \(sharing.turns) turns, gaps \(sharing.gaps), longest \(Int(sharing.longestGap)) µs
            """)
    }

    if runs(4) {
        print("\n## 4. Delays\n")
        let delayed = smoke ? 2_000 : 1_000_000
        // The timers' cost is the delayed run minus the same run undelayed, both in batch mode
        // (see delayedPhases), at three spreads: the more objects, the more lines wait on the
        // timer at once. Each phase is the fastest of two runs, alternating: on a shared
        // machine noise only ever adds time, and the difference of two noisy figures is noisier
        // still. Taken phase by phase, a burst of load during one run's submissions does not
        // decide which run's other phases are quoted. An undelayed run and a delayed one, not
        // measured, come first: the process's first runs at this size grow its heap (page
        // faults, the allocator's arenas, the timer's arrays), which charged whichever run
        // went first, the delayed one; after other workloads, an undelayed run alone was not
        // enough for the delayed runs' submissions.
        _ = try await delayedPhases(count: delayed, keys: delayed, delayed: false)
        _ = try await delayedPhases(count: delayed, keys: delayed, delayed: true)
        for perObject in [1, 10, 100] {
            let keys = delayed / perObject
            var fastest: [Bool: DelayedPhases] = [:]
            for isDelayed in [true, false, true, false] {
                let run = try await delayedPhases(count: delayed, keys: keys, delayed: isDelayed)
                fastest[isDelayed] = fastest[isDelayed].map { best in
                    DelayedPhases(
                        submit: min(best.submit, run.submit), fire: min(best.fire, run.fire),
                        run: min(best.run, run.run), take: min(best.take, run.take))
                } ?? run
            }
            let (manual, undelayed) = (fastest[true]!, fastest[false]!)
            let phases = { (p: DelayedPhases) in "submit \(ns(p.submit)), fire \(ns(p.fire)), run \(ns(p.run)), take \(ns(p.take))" }
            // Scheduling shows in the submit phase and firing is the fire phase; the run and take
            // phases differ mostly by the order they visit lines and records in (`--delays`).
            let scheduleAndFire = manual.submit - undelayed.submit + manual.fire
            print("\(delayed) delayed operations on \(keys) objects, manual clock, each phase the fastest of two runs: \(ns(manual.total))/op (\(phases(manual))); the same undelayed: \(ns(undelayed.total))/op (\(phases(undelayed))); scheduling and firing (submit difference plus fire phase) \(ns(scheduleAndFire))/op; the whole difference \(ns(manual.total - undelayed.total))/op")
        }
        let late = try await delayLateness(count: smoke ? 200 : 20_000, window: smoke ? .milliseconds(50) : .seconds(2))
        print("real clock lateness: p50 \(Int(late.p50)) µs, p99 \(Int(late.p99)) µs")
    }

    if runs(5) {
        print("\n## 5. Failure-heavy (10% of objects fail once and are retried)\n")
        let failing = try await failureHeavy(operations: operations, keys: midKeys)
        let clean = try await keyedThroughput(DocketSystem.self, operations: operations, keys: midKeys)
        print("K = \(midKeys): \(ns(failing.nsPerOperation))/op (\(String(format: "%.2f", failing.nsPerOperation / clean))× the failure-free run); time to unblock \(Int(failing.unblockMicros)) µs mean")
    }

    if runs(6) {
        print("\n## 6. Memory\n")
        let memory = try await memoryFootprint(count: smoke ? 2_000 : 1_000_000)
        print(String(format: "queued, one object per operation: %.0f B/op; consumed (tombstone): %.0f B/op; after the tombstone window: %.0f B/op; live mailboxes left: %d",
                     memory.queued, memory.tombstone, memory.afterWindow, memory.liveObjects))
        let shared = try await queuedFootprint(count: smoke ? 2_000 : 1_000_000, objects: smoke ? 20 : 10_000)
        print(String(format: "queued, 100 operations per object: %.0f B/op", shared))
    }

    if runs(7) {
        print("\n## 7. Scale (ns/op, waves of 1 000 000 over objects = ops/10)\n")
        let sizes = smoke ? [1_000, 10_000] : [10_000, 100_000, 1_000_000]
        for size in sizes {
            let result = try await waves(operations: size, objects: max(1, size / 10), wave: min(size, 1_000_000))
            print("10^\(Int(log10(Double(size)))): \(ns(result.nsPerOperation))/op, peak RSS \(result.peakResident / 1_048_576) MiB, peak heap in use \(result.peakHeap / 1_048_576) MiB")
        }
        // In waves of a million over a million objects, each object gets one operation per wave,
        // so each operation opens and retires its object's line: the like-for-like figure at
        // 10^5 has one operation per object too.
        let single = smoke ? 1_000 : 100_000
        let alone = try await waves(operations: single, objects: single, wave: single)
        print("10^\(Int(log10(Double(single)))) with one operation per object: \(ns(alone.nsPerOperation))/op")
        if full {
            // Each in a process of its own, so its peak RSS is its own: with the C library's
            // default allocator settings, and with its arenas capped at two.
            for environment in [[:], ["MALLOC_ARENA_MAX": "2"]] {
                let line = try scaleInChildProcess(operations: 10_000_000, objects: 1_000_000, environment: environment)
                let setting = environment.isEmpty ? "default allocator settings" : "MALLOC_ARENA_MAX=2"
                print("10^7 (\(setting)): \(line)")
            }
        }
    }

    if runs(8) {
        print("\n## 8. Durable mode (64 concurrent clients, each submit → run → take in turn, on this disk)\n")
        let duration: Duration = smoke ? .milliseconds(300) : .seconds(3)
        row(["store", "body", "operations/s", "fsyncs per operation", "in-memory ÷ this"])
        row(["---", "---", "---", "---", "---"])
        var figures: [String: Double] = [:]
        for idempotent in [false, true] {
            let body = idempotent ? "idempotent" : "not idempotent"
            let memory = try await durableThroughput(store: .memory, submitters: 64, duration: duration, idempotent: idempotent)
            for store in DurableStore.allCases where store != .memory && !(idempotent && store == .perRecord) {
                let figure = try await durableThroughput(store: store, submitters: 64, duration: duration, idempotent: idempotent)
                figures["\(store.rawValue) \(idempotent)"] = figure.perSecond
                row([store.rawValue, body, String(format: "%.0f", figure.perSecond), String(format: "%.2f", figure.syncsPerOperation),
                     String(format: "%.2f×", memory.perSecond / figure.perSecond)])
            }
            row(["memory", body, String(format: "%.0f", memory.perSecond), "0", "1.00×"])
        }
        print(String(format: "\ngroup commit ÷ fsync per record (not idempotent): %.1f×",
                     figures["groupCommit false"]! / figures["perRecord false"]!))
        let live = smoke ? 10_000 : 1_000_000
        let recovered = try await durableRecovery(count: live)
        guard recovered.restored == live else { throw WorkloadError("restored \(recovered.restored) of \(live) operations") }
        print(String(format: "journal: %.0f bytes per queued operation; reopening with %d live operations on %d objects: %@",
                     recovered.bytesPerOperation, live, live / 10, "\(recovered.recovery)"))
    }
}

try await Task.detached { try await main() }.value
