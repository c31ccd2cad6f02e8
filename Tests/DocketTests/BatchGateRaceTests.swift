@testable import Docket
import DocketTesting
import Synchronization
import Testing

@Suite("Batch gate races")
struct BatchGateRaceTests {
    @Test("A runDue() overlapping the end of another runs what was due at its start", .timeLimit(.minutes(1)))
    func overlappingRunDue() async throws {
        let harness = try Harness(configuration: DocketConfiguration(execution: .batch))
        let docket = harness.docket
        let stop = Atomic<Bool>(false)
        // Another caller running passes back to back. It yields between them: a pass with
        // nothing to run returns without suspending, and a loop of them would hold a thread
        // of the cooperative pool for as long as it runs, which another test may need.
        let other = Task {
            while !stop.load(ordering: .relaxed) {
                _ = try? await docket.runDue()
                await Task.yield()
            }
        }
        var missed = 0
        var rounds = 0
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .seconds(2), missed == 0 {
            rounds += 1
            let handle = try await harness.submit("r\(rounds)", on: "k\(rounds % 8)")
            _ = try await docket.runDue()
            if try handle.status().state != .succeeded { missed += 1 }
        }
        stop.store(true, ordering: .relaxed)
        await other.value
        #expect(missed == 0, "a runDue() returned with the operation due at its start not run (round \(rounds))")
    }
}
