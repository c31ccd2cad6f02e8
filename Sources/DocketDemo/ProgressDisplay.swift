import Docket

/// The live one-line progress display, fed by ``Docket/metrics()``.
///
/// On a terminal it rewrites one line a few times a second; when standard output is
/// not a terminal it prints a line about once a second.
struct ProgressDisplay: Sendable {
    let docket: Docket
    let planned: Int
    let started: ContinuousClock.Instant

    private var interval: Duration { Console.isTerminal ? .milliseconds(250) : .seconds(1) }

    /// Refreshes until the task is cancelled, then shows the final state once more.
    func run() async {
        var previous = (finished: 0, at: started)
        while true {
            do { try await Task.sleep(for: interval) } catch { break }
            previous = await show(since: previous)
        }
        // The final line shows the average rate over the whole run.
        _ = await show(since: (0, started))
        Console.endProgress()
    }

    private func show(since previous: (finished: Int, at: ContinuousClock.Instant)) async -> (finished: Int, at: ContinuousClock.Instant) {
        let metrics = await docket.metrics()
        let now = ContinuousClock.now
        let totals = metrics.totals
        let finished = totals.succeeded + totals.failed
        let window = Console.seconds(now - previous.at)
        let rate = window > 0 ? Double(finished - previous.finished) / window : 0
        let elapsed = Console.seconds(now - started)
        // The day runs 09:00-17:00 as the stream is submitted.
        let minutes = planned == 0 ? 480 : 480 * min(totals.submitted, planned) / planned
        let clock = "\(9 + minutes / 60):\(minutes % 60 < 10 ? "0" : "")\(minutes % 60)"
        let day = clock.count == 4 ? "0" + clock : clock
        Console.progress(
            "[\(Console.fixed(elapsed, 1))s \(day)] submitted \(Console.grouped(totals.submitted))/\(Console.grouped(planned))"
                + "  done \(Console.grouped(totals.succeeded))  failed \(Console.grouped(totals.failed))"
                + "  blocked objects \(Console.grouped(metrics.blockedObjects.count))"
                + "  \(Console.grouped(Int(rate.rounded()))) ops/s")
        return (finished, now)
    }
}
