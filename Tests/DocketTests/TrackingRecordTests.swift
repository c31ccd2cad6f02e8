@testable import Docket
import DocketTesting
import Foundation
import Testing

/// Unit tests of where a record keeps its outcome: a success's output in the record's box,
/// a failure in the record's side box.
@Suite("Tracking record")
struct TrackingRecordTests {
    struct Row: Codable, Sendable, Equatable {
        let name: String
        let count: Int
    }

    static let definition = OperationDefinition<Int, Row>("rows", contentType: "text/plain") { count, _ in
        Row(name: "rows", count: count)
    }.erased(ordinal: 0)

    static func record() -> TrackingRecord {
        TrackingRecord(definition: definition, owner: nil, objectKey: "deal-1", created: .zero, runsNow: false, due: .zero)
    }

    @Test("A record stays a plain structure of 120 bytes: the success's output lives in its box")
    func size() {
        #expect(MemoryLayout<TrackingRecord>.size == 120)
    }

    @Test("A success's output is kept in the box without a side box, and its payload is rebuilt around it")
    func successWithoutSideBox() throws {
        let box = RecordTable.Box(Self.record(), output: Row(name: "rows", count: 3))
        #expect(!box.record.hasSideBox)
        guard case .success(let payload) = box.outcome else {
            Issue.record("the success was not kept")
            return
        }
        #expect(payload.decode(as: Row.self) == Row(name: "rows", count: 3))
        #expect(payload.contentType == "text/plain")
        #expect(try JSONDecoder().decode(Row.self, from: payload.data()) == Row(name: "rows", count: 3))
        // Read again: the box still holds it.
        guard case .success = box.outcome else {
            Issue.record("reading the success took it")
            return
        }
        guard case .success(let taken) = box.takeOutcome() else {
            Issue.record("the success could not be taken")
            return
        }
        #expect(taken.decode(as: Row.self)?.count == 3)
        #expect(box.outcome == nil)
        #expect(box.takeOutcome() == nil)
    }

    @Test("A failure is kept in the side box, and clearing none allocates none")
    func failures() {
        var record = Self.record()
        record.failure = nil
        #expect(!record.hasSideBox)
        record.failure = OperationFailure(.thrown, "broken")
        #expect(record.hasSideBox)
        let box = RecordTable.Box(record)
        guard case .failure(let failure) = box.outcome else {
            Issue.record("the failure was not kept")
            return
        }
        #expect(failure.message == "broken")
        guard case .failure(let taken) = box.takeOutcome() else {
            Issue.record("the failure could not be taken")
            return
        }
        #expect(taken.kind == .thrown)
        #expect(box.outcome == nil)
    }

    @Test("A copy of a record keeps its failure when the original's is taken")
    func copiesKeepTheirFailure() {
        var record = Self.record()
        record.failure = OperationFailure(.thrown, "kept")
        let copy = record
        #expect(record.takeFailure()?.message == "kept")
        #expect(record.failure == nil)
        #expect(copy.failure?.message == "kept")
    }

    @Test("A docket's succeeded operation keeps no side box, and its result reads back once")
    func succeededOperation() async throws {
        var registry = OperationRegistry()
        let rows = OperationDefinition<Int, Row>("rows") { count, _ in Row(name: "rows", count: count) }
        try registry.register(rows)
        let docket = try Docket(registry: registry, clock: ManualClock())
        let handle = try await docket.submit(rows, input: 5)
        await docket.waitForIdle()
        let sideBox = docket.engine.tracker.withBox(handle.id) { $0.record.hasSideBox }
        #expect(sideBox == false)
        guard case .finished(.success(let payload)) = docket.takeResult(of: handle.id) else {
            Issue.record("the result was not there to take")
            return
        }
        #expect(payload.decode(as: Row.self) == Row(name: "rows", count: 5))
        guard case .consumed = docket.takeResult(of: handle.id) else {
            Issue.record("the result was taken twice")
            return
        }
    }
}
