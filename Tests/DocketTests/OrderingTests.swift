import Docket
import DocketTesting
import Testing

@Suite("Per-object order")
struct OrderingTests {
    @Test("Operations on one object run one at a time in submission order")
    func fifoPerObject() async throws {
        let harness = try Harness()
        for index in 0..<50 { _ = try await harness.submit("op\(index)") }
        await harness.idle()
        #expect(harness.journal.all == (0..<50).map { "op\($0)" })
    }

    @Test("Concurrent submitters each keep their own order on a shared object")
    func concurrentSubmitters() async throws {
        let harness = try Harness(configuration: DocketConfiguration(maxConcurrentOperations: 8))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for submitter in 0..<4 {
                group.addTask {
                    for index in 0..<100 { _ = try await harness.submit("s\(submitter)-\(index)", on: "shared") }
                }
            }
            try await group.waitForAll()
        }
        await harness.idle()
        let all = harness.journal.all
        #expect(all.count == 400)
        for submitter in 0..<4 {
            let mine = all.filter { $0.hasPrefix("s\(submitter)-") }
            #expect(mine == (0..<100).map { "s\(submitter)-\($0)" })
        }
    }

    @Test("A delay never lets a later operation overtake an earlier one on the same object")
    func delayDoesNotOvertake() async throws {
        let harness = try Harness()
        let first = try await harness.submit("delayed", delay: .seconds(30))
        let second = try await harness.submit("prompt")
        await harness.idle()
        #expect(harness.journal.all == [])
        #expect(try first.status().state == .delayed)
        #expect(try second.status().state == .waiting)
        harness.clock.advance(by: .seconds(29))
        await harness.idle()
        #expect(harness.journal.all == [])
        harness.clock.advance(by: .seconds(1))
        await harness.idle()
        #expect(harness.journal.all == ["delayed", "prompt"])
    }

    @Test("Submissions behind a delayed head wait for its wake, in order, and can be cancelled meanwhile")
    func submissionsBehindDelayedHead() async throws {
        let harness = try Harness()
        let head = try await harness.submit("head", delay: .seconds(10))
        var followers: [OperationHandle<String>] = []
        for index in 0..<5 { followers.append(try await harness.submit("f\(index)")) }
        await harness.idle()
        #expect(try head.status().state == .delayed)
        #expect(try followers.map { try $0.status().state } == Array(repeating: .waiting, count: 5))
        try await followers[2].cancel()
        #expect(try followers[2].status().state == .cancelled(.cancelled))
        harness.clock.advance(by: .seconds(9))
        await harness.idle()
        #expect(harness.journal.all == [])
        harness.clock.advance(by: .seconds(1))
        await harness.idle()
        #expect(harness.journal.all == ["head", "f0", "f1", "f3", "f4"])
        #expect(await harness.docket.metrics().liveObjects == 0)
    }

    @Test("Cancelling a delayed head runs the submissions behind it at once")
    func cancelledDelayedHeadReleasesFollowers() async throws {
        let harness = try Harness()
        let head = try await harness.submit("head", delay: .seconds(10))
        _ = try await harness.submit("next")
        _ = try await harness.submit("after", delay: .seconds(5))
        _ = try await harness.submit("last")
        try await head.cancel()
        await harness.idle()
        #expect(harness.journal.all == ["next"])
        harness.clock.advance(by: .seconds(5))
        await harness.idle()
        #expect(harness.journal.all == ["next", "after", "last"])
    }

    @Test("Independent operations and other objects do not wait for a delayed head")
    func otherObjectsUnaffectedByDelay() async throws {
        let harness = try Harness()
        _ = try await harness.submit("later", on: "a", delay: .seconds(5))
        _ = try await harness.submit("b", on: "b")
        _ = try await harness.submit("free", on: nil)
        await harness.idle()
        #expect(Set(harness.journal.all) == ["b", "free"])
        harness.clock.advance(by: .seconds(5))
        await harness.idle()
        #expect(harness.journal.all.last == "later")
    }

    @Test("A line opened by its first submission can be cancelled before it runs: a ready line takes the next submission, a delayed one retires")
    func openedLineCancelledBeforeItRuns() async throws {
        let harness = try Harness(configuration: DocketConfiguration(execution: .batch))
        // Opened ready, on the ready queue, with no worker to take it yet.
        let first = try await harness.submit("first")
        // Opened with a wake, behind nothing.
        let delayed = try await harness.submit("delayed", on: "deal-2", delay: .seconds(10))
        #expect(await harness.docket.metrics().liveObjects == 2)
        try await first.cancel()
        try await delayed.cancel()
        #expect(try first.status().state == .cancelled(.cancelled))
        #expect(try delayed.status().state == .cancelled(.cancelled))
        // deal-1's line stays on the ready queue, empty, until a worker claims it; deal-2's
        // line, idle, retired at once.
        #expect(await harness.docket.metrics().liveObjects == 1)
        // This joins deal-1's waiting line; the next opens a new line for deal-2.
        let second = try await harness.submit("second")
        let third = try await harness.submit("third", on: "deal-2", delay: .seconds(10))
        #expect(await harness.docket.metrics().liveObjects == 2)
        let report = try await harness.docket.runDue()
        #expect(report.succeeded == 1)
        #expect(harness.journal.all == ["second"])
        #expect(try third.status().state == .delayed)
        #expect(await harness.docket.metrics().liveObjects == 1)
        harness.clock.advance(by: .seconds(10))
        #expect(try await harness.docket.runDue().succeeded == 1)
        #expect(harness.journal.all == ["second", "third"])
        #expect(try second.status().state == .succeeded)
        #expect(await harness.docket.metrics().liveObjects == 0)
    }

    @Test("Lines the timer wakes together each run their operations once, in order, across its batches", arguments: [63, 64, 65, 129])
    func timerWakesInBatches(objects: Int) async throws {
        let harness = try Harness()
        for index in 0..<objects {
            _ = try await harness.submit("head-\(index)", on: "deal-\(index)", delay: .seconds(10))
            _ = try await harness.submit("next-\(index)", on: "deal-\(index)")
        }
        await harness.idle()
        #expect(harness.journal.all.isEmpty)
        harness.clock.advance(by: .seconds(10))
        await harness.idle()
        let all = harness.journal.all
        #expect(all.count == 2 * objects)
        for index in 0..<objects {
            #expect(all.filter { $0.hasSuffix("-\(index)") } == ["head-\(index)", "next-\(index)"])
        }
        #expect(await harness.docket.metrics().liveObjects == 0)
    }

    @Test("A wake another turn takes in before a worker claims the line runs the head once")
    func wakeTakenInByAnotherTurn() async throws {
        let harness = try Harness(configuration: DocketConfiguration(execution: .batch))
        let head = try await harness.submit("head", delay: .seconds(10))
        let follower = try await harness.submit("follower")
        harness.clock.advance(by: .seconds(10))
        // The timer has fired: the line waits on the ready queue, its wake in the inbox.
        await harness.idle()
        // Cancelling the follower is a turn of the line's actor: it takes the wake in first.
        try await follower.cancel()
        #expect(try await harness.docket.runDue().succeeded == 1)
        #expect(harness.journal.all == ["head"])
        #expect(try head.status().state == .succeeded)
        #expect(await harness.docket.metrics().liveObjects == 0)
    }

    @Test("Wakes that reach a line together stand for each other: the next delayed head still gets its own")
    func collapsedWakesLeaveNoStaleArm() async throws {
        let harness = try Harness(configuration: DocketConfiguration(execution: .batch))
        let first = try await harness.submit("first", delay: .seconds(20))
        _ = try await harness.submit("second", delay: .seconds(10))
        // The line now asks for a wake at 10 as well as the one at 20.
        try await first.cancel()
        harness.clock.advance(by: .seconds(30))
        await harness.idle()
        // Joins the line behind "second" before a worker takes in both wakes at once.
        let third = try await harness.submit("third", delay: .seconds(10))
        #expect(try await harness.docket.runDue().succeeded == 1)
        #expect(harness.journal.all == ["second"])
        #expect(try third.status().state == .delayed)
        harness.clock.advance(by: .seconds(10))
        await harness.idle()
        #expect(try await harness.docket.runDue().succeeded == 1)
        #expect(harness.journal.all == ["second", "third"])
    }
}
