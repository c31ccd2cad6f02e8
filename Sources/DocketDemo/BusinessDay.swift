import Docket

/// The demo itself: a simulated business day on one ``Docket``, then a retry of a blocked
/// object with corrected input, a cascade delete of another, and a summary.
struct BusinessDay: Sendable {
    let options: DemoOptions
    let plan: BusinessPlan
    let audit = OrderAudit()
    let operations: BusinessOperations
    let docket: Docket

    /// What the day's run left for the summary.
    private struct Outcome {
        var settledAfter: Duration = .zero
        var finishedAtSettle = 0
        var manualRetries = 0
        var cascadeDeleted = 0
        /// Results the retry demonstration took itself (the retried operation and its followers).
        var takenByDemo = 0
        var collector: ResultCollector
    }

    init(options: DemoOptions) throws {
        self.options = options
        plan = BusinessPlan(options)
        operations = BusinessOperations(plan: plan, audit: audit)
        docket = try Docket(registry: try operations.registry())
    }

    /// Runs the whole demo and prints as it goes.
    func run() async {
        let started = ContinuousClock.now
        Console.line("Docket demo: a business day for \(BusinessPlan.tenants.count) tenants (\(BusinessPlan.tenants.joined(separator: ", ")))")
        Console.line(
            "  plan (seed \(options.seed)): \(Console.grouped(plan.operations.count)) operations on \(Console.grouped(plan.objects.count)) objects;"
                + " \(Console.grouped(plan.delayedCount)) delayed 1-200 ms, \(Console.grouped(plan.slowCount)) slow,"
                + " \(Console.grouped(plan.flakyCount)) flaky, \(Console.grouped(plan.faultyCount)) with bad input"
                + " (failure rate \(options.failureRate))")
        Console.line("  registered: \(docket.operations.map(\.name).joined(separator: ", "))")
        Console.line()

        var outcome = await runDay(started: started)
        Console.line()
        await demonstrateRetry(&outcome)
        Console.line()
        await demonstrateCascadeDelete(&outcome)
        Console.line()
        await summarize(outcome, started: started)
    }

    // MARK: The day

    private func runDay(started: ContinuousClock.Instant) async -> Outcome {
        let display = ProgressDisplay(docket: docket, planned: plan.operations.count, started: started)
        let progress = Task { await display.run() }

        // Each tenant submits its share of the stream concurrently, taking results as it goes.
        var collector = ResultCollector(plan: plan)
        var refusals = 0
        await withTaskGroup(of: (ResultCollector, Int).self) { group in
            for share in plan.operationsByTenant() {
                group.addTask { await submit(share) }
            }
            for await (tenantCollector, tenantRefusals) in group {
                collector.absorb(tenantCollector)
                refusals += tenantRefusals
            }
        }

        // Then wait until everything has run that can run: what is left waits behind a failure.
        let deadline = ContinuousClock.now + .seconds(60)
        var settled = false
        while ContinuousClock.now < deadline {
            let sweep = collector.sweep(docket)
            let metrics = await docket.metrics()
            if sweep.isSettled, metrics.running == 0, metrics.delayed == 0,
               metrics.blockedObjects.count == collector.failedByLine.count, metrics.waiting == sweep.stuck {
                settled = true
                break
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        let settledAfter = ContinuousClock.now - started
        let metrics = await docket.metrics()
        progress.cancel()
        await progress.value

        Console.line(
            "The day settled after \(Console.fixed(Console.seconds(settledAfter)))s: \(Console.grouped(metrics.totals.succeeded)) succeeded,"
                + " \(Console.grouped(metrics.totals.failed)) failed, \(Self.count(metrics.blockedObjects.count, "object")) blocked"
                + " with \(Self.count(metrics.waiting, "operation")) queued behind them.")
        if !settled {
            Console.line("  WARNING: work was still moving after 60 s: \(collector.lastSweep)")
        }
        let matches = metrics.blockedObjects.count == plan.expectedBlockedObjects && metrics.waiting == plan.expectedStuckOperations
        Console.line(
            "  The plan predicts \(Self.count(plan.expectedBlockedObjects, "blocked object")) and"
                + " \(Self.count(plan.expectedStuckOperations, "queued follower")): \(matches ? "matches" : "MISMATCH").")
        if refusals > 0 { Console.line("  \(refusals) submissions were refused.") }
        return Outcome(
            settledAfter: settledAfter, finishedAtSettle: metrics.totals.succeeded + metrics.totals.failed, collector: collector)
    }

    /// Submits one tenant's operations in order; returns what it follows and how many were refused.
    private func submit(_ share: [BusinessPlan.PlannedOperation]) async -> (ResultCollector, Int) {
        var collector = ResultCollector(plan: plan)
        var refusals = 0
        for operation in share {
            while true {
                do {
                    let id = try await operations.submit(operation, to: docket)
                    collector.track(id, plan: operation.index, on: docket)
                } catch let error as DocketError where error.code == .queueFull {
                    // Backpressure: let the queue drain a little, then submit again.
                    try? await Task.sleep(for: .milliseconds(5))
                    continue
                } catch {
                    if refusals == 0 { Console.error("Submission refused: \(error)") }
                    refusals += 1
                }
                break
            }
        }
        return (collector, refusals)
    }

    // MARK: Retry

    /// A blocked object, its failed operation and what is queued behind it.
    private struct BlockedLine {
        let line: String
        let owner: String
        let failed: ResultCollector.Tracked
        let followers: [ResultCollector.Tracked]
        let faultyFollowers: Int
    }

    private func blockedLines(_ collector: ResultCollector) async -> [BlockedLine] {
        let metrics = await docket.metrics()
        let followersByLine = collector.followersByLine()
        return metrics.blockedObjects.compactMap { blocked in
            guard let owner = blocked.owner, let key = blocked.objectKey else { return nil }
            let line = "\(owner)/\(key)"
            guard let failed = collector.failedByLine[line], failed.id == blocked.failedOperation else { return nil }
            let followers = followersByLine[line] ?? []
            return BlockedLine(
                line: line, owner: owner, failed: failed, followers: followers,
                faultyFollowers: followers.count { plan.operations[$0.plan].faulty })
        }
    }

    private func describe(_ tracked: ResultCollector.Tracked) -> String {
        let operation = plan.operations[tracked.plan]
        return "\(operation.kind.rawValue) #\(operation.sequence)"
    }

    private func demonstrateRetry(_ outcome: inout Outcome) async {
        Console.line("-- Retrying a blocked object with corrected input --")
        // The most instructive case: many followers, none of them faulty themselves.
        let candidates = await blockedLines(outcome.collector)
        guard let chosen = candidates.min(by: {
            ($0.faultyFollowers, -$0.followers.count, $0.line) < ($1.faultyFollowers, -$1.followers.count, $1.line)
        }) else {
            Console.line("  No object is blocked (failure rate \(options.failureRate)); nothing to retry.")
            return
        }
        let failedID = chosen.failed.id
        Console.line("  \(chosen.line) is blocked by \(describe(chosen.failed)) (\(failedID))")
        do {
            let status = try docket.status(of: failedID, owner: chosen.owner)
            Console.line("  status: \(status.state), attempt \(status.attempt), error: \(status.errorText ?? "none")")
        } catch {
            Console.line("  status unavailable: \(error)")
        }
        var queuedStates: [String: Int] = [:]
        for follower in chosen.followers {
            let state = (try? docket.status(of: follower.id, owner: chosen.owner).state.description) ?? "unknown"
            queuedStates[state, default: 0] += 1
        }
        Console.line(
            "  queued behind it: " + (chosen.followers.isEmpty ? "nothing" : "\(Self.count(chosen.followers.count, "operation")) ("
                + queuedStates.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + ")"))

        do {
            try await operations.retryCorrected(plan.operations[chosen.failed.plan], id: failedID, on: docket)
        } catch {
            Console.line("  retry refused: \(error)")
            return
        }
        outcome.manualRetries += 1
        let retried = await docket.outcome(of: failedID, owner: chosen.owner)
        outcome.takenByDemo += 1
        let (label, text) = Self.describe(retried)
        Console.line("  retried with corrected input: \(label) \(text)")

        // The object resumes: its followers run in order. Take each result as it finishes.
        guard !chosen.followers.isEmpty else {
            Console.line("  nothing was queued behind it")
            outcome.collector.release(line: chosen.line, followers: [])
            return
        }
        var results = [(label: String, text: String)?](repeating: nil, count: chosen.followers.count)
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            var unfinished: [OperationState] = []
            for (index, follower) in chosen.followers.enumerated() where results[index] == nil {
                let take = docket.takeResult(of: follower.id, owner: chosen.owner)
                if case .notFinished(let state) = take {
                    unfinished.append(state)
                } else {
                    results[index] = Self.describe(take)
                }
            }
            // Done when all have finished, or a follower failed and blocks the rest again.
            let blockedAgain = results.contains { $0?.label == "failed" }
            if unfinished.isEmpty || (blockedAgain && unfinished.allSatisfy { $0 == .waiting }) { break }
            try? await Task.sleep(for: .milliseconds(5))
        }
        outcome.takenByDemo += results.count { $0?.label == "succeeded" }
        var tally: [String: Int] = [:]
        for result in results { tally[result?.label ?? "still queued", default: 0] += 1 }
        let order = ["succeeded", "failed", "cancelled", "still queued"]
        Console.line(
            "  then its \(Self.count(chosen.followers.count, "queued follower")) resumed, in order: "
                + order.compactMap { label in tally[label].map { "\($0) \(label)" } }.joined(separator: ", ")
                + (tally["failed"] != nil ? " (a failed follower blocks the object again)" : ""))
        for (follower, result) in zip(chosen.followers, results).prefix(12) {
            Console.line("    \(describe(follower)): \(result.map { "\($0.label) \($0.text)" } ?? "still queued")")
        }
        if chosen.followers.count > 12 { Console.line("    ... and \(chosen.followers.count - 12) more") }
        outcome.collector.release(line: chosen.line, followers: chosen.followers)
    }

    /// A taken result as a label (succeeded, failed, cancelled, ...) and its text.
    private static func describe(_ take: ResultTake<OperationPayload>) -> (label: String, text: String) {
        switch take {
        case .finished(.success(let payload)):
            let body = (try? payload.data()).map { String(decoding: $0.prefix(80), as: UTF8.self) } ?? "?"
            return ("succeeded", body)
        case .finished(.failure(let failure)) where failure.kind == .cancelled: return ("cancelled", failure.message)
        case .finished(.failure(let failure)): return ("failed", failure.message)
        case .notFinished(let state): return ("not finished", "(\(state))")
        case .consumed: return ("already consumed", "")
        case .notFound: return ("not found", "")
        }
    }

    /// "1 object", "2 objects".
    static func count(_ value: Int, _ noun: String) -> String {
        "\(Console.grouped(value)) \(noun)\(value == 1 ? "" : "s")"
    }

    // MARK: Cascade delete

    private func demonstrateCascadeDelete(_ outcome: inout Outcome) async {
        Console.line("-- Cleaning up a blocked object with a cascade delete --")
        let candidates = await blockedLines(outcome.collector)
        // A line with a handful of followers keeps the report readable.
        guard let chosen = candidates.min(by: {
            (abs($0.followers.count - 6), $0.line) < (abs($1.followers.count - 6), $1.line)
        }) else {
            Console.line("  No other object is blocked; nothing to delete.")
            return
        }
        let failedID = chosen.failed.id
        Console.line("  \(chosen.line) is blocked by \(describe(chosen.failed)) (\(failedID))")
        if let status = try? docket.status(of: failedID, owner: chosen.owner) {
            Console.line("  status: \(status.state), error: \(status.errorText ?? "none")")
        }
        Console.line("  queued behind it: \(Self.count(chosen.followers.count, "operation"))")
        if !chosen.followers.isEmpty {
            do {
                _ = try await docket.delete(failedID, owner: chosen.owner)
                Console.line("  UNEXPECTED: a delete without a follower choice was accepted")
            } catch let error as DocketError {
                Console.line("  delete without a follower choice is refused: \(error.code)")
            } catch {
                Console.line("  delete without a follower choice failed oddly: \(error)")
            }
        }
        let report: DeletionReport
        do {
            report = try await docket.delete(failedID, owner: chosen.owner, followers: .cascade)
        } catch {
            Console.line("  cascade delete refused: \(error)")
            return
        }
        outcome.cascadeDeleted = report.removed.count
        var names: [OperationID: String] = [chosen.failed.id: describe(chosen.failed)]
        for follower in chosen.followers { names[follower.id] = describe(follower) }
        Console.line("  DeletionReport: \(report.removed.count) removed")
        for removed in report.removed {
            Console.line("    \(removed.id)  \(removed.reason.rawValue.padding(toLength: 17, withPad: " ", startingAt: 0))  \(names[removed.id] ?? "?")")
        }
        if let last = chosen.followers.last, let status = try? docket.status(of: last.id, owner: chosen.owner) {
            Console.line("  status of \(describe(last)) now: \(status.state)")
        }
        let stillBlocked = await docket.metrics().blockedObjects.contains { $0.failedOperation == failedID }
        Console.line("  \(chosen.line) is \(stillBlocked ? "STILL blocked" : "no longer blocked") and its line is empty.")
        outcome.collector.release(line: chosen.line, followers: chosen.followers)
    }

    // MARK: Summary

    private func summarize(_ outcome: Outcome, started: ContinuousClock.Instant) async {
        var collector = outcome.collector
        collector.sweep(docket)
        let metrics = await docket.metrics()
        let totals = metrics.totals
        let elapsed = Console.seconds(ContinuousClock.now - started)
        let settled = Console.seconds(outcome.settledAfter)
        let throughput = settled > 0 ? Double(outcome.finishedAtSettle) / settled : 0
        let violations = audit.violations
        func row(_ label: String, _ value: String) {
            Console.line("  " + label.padding(toLength: 26, withPad: " ", startingAt: 0) + value)
        }
        Console.line("-- Summary --")
        row("operations submitted", Console.grouped(totals.submitted))
        row("operations run", "\(Console.grouped(totals.succeeded + totals.failed)) (\(Console.grouped(totals.succeeded + totals.failed + totals.retried)) attempts)")
        row("succeeded", Console.grouped(totals.succeeded))
        row("failures", Console.grouped(totals.failed))
        row("retried", "\(Console.grouped(totals.retried)) attempts by retry policy, \(outcome.manualRetries) by hand (corrected input)")
        row("deleted", "\(outcome.cascadeDeleted) (1 failed operation and its followers, by cascade)")
        row("blocked objects remaining", "\(Console.grouped(metrics.blockedObjects.count)) (\(Console.grouped(metrics.waiting)) operations queued behind them)")
        row("results taken", "\(Console.grouped(collector.succeeded + outcome.takenByDemo)) (and \(Console.grouped(collector.failuresTaken)) failures read)")
        row("unread results held", Console.grouped(metrics.succeeded))
        row("per-object order", violations.isEmpty ? "kept (no violations)" : "VIOLATED: \(violations.joined(separator: "; "))")
        if collector.anomalies > 0 { row("anomalies", "\(collector.anomalies) results unknown or consumed before being taken") }
        row("elapsed", "\(Console.fixed(elapsed)) s (the day's work settled after \(Console.fixed(settled)) s)")
        row("throughput", "\(Console.grouped(Int(throughput.rounded()))) ops/s")

        let shutdown = await docket.shutdown(gracePeriod: .seconds(1))
        Console.line(
            "Shut down: \(shutdown.finishedInTime ? "nothing was running" : "\(shutdown.cancelledAtDeadline) cancelled at the deadline"),"
                + " \(Console.grouped(shutdown.leftQueued)) left queued behind failures.")
    }
}
