import Docket
import DocketTesting
import Testing

/// Events that reach a line's actor while it is suspended in the middle of another event.
@Suite("Reentrancy of a line", .timeLimit(.minutes(1)))
struct ReentrancyTests {
    /// A line takes in several submissions at once when they arrive while a worker holds it.
    /// When this test was written, scheduling the first one's delay suspended the line, and a
    /// cancel of that one then emptied it; the others must already be in line, not lost with
    /// a retired mailbox (this used to stop the process on "a revived line accepts entries").
    /// Scheduling is synchronous now, so the line no longer suspends there; the test keeps
    /// the interleaving of a batch intake with a cancel and a retiring line, which it still
    /// checks end to end. The window is narrow, so the test tries it many times.
    @Test("A cancel taken while a batch of submissions joins the line leaves the rest of the batch in line")
    func cancelDuringBatchIntake() async throws {
        let harness = try Harness()
        for round in 0..<TestScale.scaled(1_000, minimum: 100) {
            let key = "r\(round)"
            let head = try await harness.submit("h\(round)", on: key, harness.slow)
            try await waitUntil(head, is: .running)
            // The head ends cancelled, so its worker reports to the supervisor before it lets
            // the line go: submissions meanwhile wait in the inbox, with the line empty.
            async let cancelled: Void = harness.docket.cancel(head.id)
            let delayed = try await harness.submit("d\(round)", on: key, delay: .seconds(60))
            let next = try await harness.submit("n\(round)", on: key)
            try? await harness.docket.cancel(delayed.id)
            try await cancelled
            await harness.idle()
            #expect(try next.status().state == .succeeded, "round \(round)")
        }
        #expect(harness.journal.all.filter { $0.hasPrefix("n") }.count == TestScale.scaled(1_000, minimum: 100))
    }
}
