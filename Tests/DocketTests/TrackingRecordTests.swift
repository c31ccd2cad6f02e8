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

    static func record(_ definition: ErasedDefinition = definition) -> TrackingRecord {
        TrackingRecord(definition: definition, owner: nil, objectKey: "deal-1", created: .zero, runsNow: false, due: .zero)
    }

    static func payload(_ count: Int) -> OperationPayload {
        OperationPayload(value: Row(name: "rows", count: count), contentType: "text/plain", render: nil)
    }

    @Test("A record keeps its 120 bytes: a success's output is kept in its box, not in the record")
    func size() {
        #expect(MemoryLayout<TrackingRecord>.size == 120)
    }

    @Test("A success's output is kept in the box without a side box, and its payload is rebuilt around it")
    func successWithoutSideBox() throws {
        let box = RecordTable.Box(Self.record(), success: Self.payload(3))
        #expect(box.output != nil)
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
        // A failure is read in place, taken or not: it stays until a retry clears it.
        guard case .failure(let taken) = box.takeOutcome(), case .failure = box.outcome else {
            Issue.record("the failure could not be read twice")
            return
        }
        #expect(taken.kind == .thrown)
        box.record.failure = nil
        #expect(box.outcome == nil)
    }

    @Test("A kept result's payload is kept whole in the side box and read in place, rendered as its definition renders it")
    func keptSuccess() throws {
        let kept = OperationDefinition<Int, Row>("kept", retention: .keep(for: .seconds(60))) { count, _ in
            Row(name: "kept", count: count)
        }.erased(ordinal: 1)
        let render: @Sendable (Row) throws -> Data = { row in Data(row.name.utf8) }
        let payload = OperationPayload(value: Row(name: "kept", count: 2), contentType: kept.contentType, render: render)
        let box = RecordTable.Box(Self.record(kept), success: payload)
        #expect(box.output == nil)
        #expect(box.record.keptSuccess?.decode(as: Row.self)?.count == 2)
        for _ in 0..<2 {
            guard case .success(let payload) = box.takeOutcome() else {
                Issue.record("the kept result was not there to read")
                return
            }
            #expect(try payload.data() == Data("kept".utf8))
        }
    }

    @Test("A copy of a record keeps its failure when the original's is cleared")
    func copiesKeepTheirFailure() {
        var record = Self.record()
        record.failure = OperationFailure(.thrown, "kept")
        let copy = record
        record.failure = nil
        #expect(record.failure == nil)
        #expect(copy.failure?.message == "kept")
    }

    @Test("An optional output, nil included, and a subclass of the output type read back as they were returned")
    func optionalAndSubclassOutputs() async throws {
        var registry = OperationRegistry()
        let maybe = OperationDefinition<Bool, String?>("maybe") { some, _ in some ? "some" : nil }
        let animal = OperationDefinition<String, Animal>("animal") { name, _ in Cat(name: name) }
        try registry.register(maybe)
        try registry.register(animal)
        let docket = try Docket(registry: registry, clock: ManualClock())
        let none = try await docket.submit(maybe, input: false)
        let some = try await docket.submit(maybe, input: true)
        let cat = try await docket.submit(animal, input: "tom")
        await docket.waitForIdle()
        #expect(try await none.value() == nil)
        #expect(try await some.value() == "some")
        let tom = try await cat.value()
        #expect(tom is Cat && tom.name == "tom")
    }

    @Test("A docket's succeeded operation keeps no side box, and its result reads back once")
    func succeededOperation() async throws {
        var registry = OperationRegistry()
        let rows = OperationDefinition<Int, Row>("rows") { count, _ in Row(name: "rows", count: count) }
        try registry.register(rows)
        let docket = try Docket(registry: registry, clock: ManualClock())
        let handle = try await docket.submit(rows, input: 5)
        await docket.waitForIdle()
        #expect(docket.engine.tracker.hasSideBox(handle.id) == false)
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
