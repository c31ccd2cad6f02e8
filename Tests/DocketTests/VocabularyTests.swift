import Docket
import DocketTesting
import Foundation
import Testing

@Suite("Seed vocabularies")
struct VocabularyTests {
    static let states: [OperationState] = [.waiting, .delayed, .running, .succeeded, .failed, .cancelled(.cancelled), .cancelled(.deleted), .cancelled(.cascade), .cancelled(.dependencyDeleted)]

    @Test("Kekker: InQueue, InProgress, Success, Error; cancelled is not found")
    func kekker() {
        let mapped = Self.states.map { KekkerQueueStatus($0)?.rawValue }
        #expect(mapped == ["InQueue", "InQueue", "InProgress", "Success", "Error", nil, nil, nil, nil])
        #expect(KekkerQueueStatus.allCases.filter(\.isDeletable) == [.inQueue, .error])
    }

    @Test("Mobizon: 0 waiting, 1 in progress, 2 done, 3 rejected")
    func mobizon() {
        #expect(Self.states.map { MobizonTaskStatus($0).rawValue } == [0, 0, 1, 2, 3, 3, 3, 3, 3])
        #expect(MobizonTaskStatus.notFoundCode == 2)
    }

    @Test("coreBOS: not queued or not finished, else the wrapped result, once")
    func coreBOS() async throws {
        let harness = try Harness()
        let handle = try await harness.submit("x", delay: .seconds(1))
        let pending = CoreBOSQueuedResult(harness.docket.takeResult(of: handle.id))
        #expect(String(decoding: try pending.jsonBody(), as: UTF8.self) == "\"Operation not queued or not finished yet\"")
        harness.clock.advance(by: .seconds(1))
        await harness.idle()
        let done = CoreBOSQueuedResult(harness.docket.takeResult(of: handle.id))
        #expect(String(decoding: try done.jsonBody(), as: UTF8.self) == #"{"success":true,"result":{"success":true,"result":"done x"}}"#)
        let again = CoreBOSQueuedResult(harness.docket.takeResult(of: handle.id))
        #expect(String(decoding: try again.jsonBody(), as: UTF8.self) == "\"Operation not queued or not finished yet\"")

        let failed = try await harness.submit("bad", on: "z", fail: true)
        await harness.idle()
        let failure = CoreBOSQueuedResult(harness.docket.takeResult(of: failed.id))
        #expect(String(decoding: try failure.jsonBody(), as: UTF8.self) == #"{"success":true,"result":{"success":false,"error":{"code":"thrown","message":"bad failed"}}}"#)
    }

    @Test("bear2b: the status document and details log field for field")
    func bear2b() async throws {
        let origin = Date(timeIntervalSince1970: 1_514_312_512)  // 2017-12-26 18:21:52 UTC
        let harness = try Harness(configuration: DocketConfiguration(wallClockOrigin: origin))
        let handle = try await harness.submit("x", owner: "1")
        await harness.idle()
        let status = try harness.docket.status(of: handle.id, owner: "1")
        let document = Bear2bStatusDocument(status)
        #expect(document.rid == handle.id.description)
        #expect(document.user_id == "1")
        #expect(document.name == "record")
        #expect(document.created_dt == "2017-12-26 18:21:52")
        #expect(document.finished_dt == "2017-12-26 18:21:52")
        #expect(document.status_id == "4")
        #expect(document.status_name == "finished")
        #expect(document.progress == "100.00")
        #expect(document.status == "200")
        #expect(document.content_type == "application/json; charset=utf-8")
        let details = Bear2bStatusDocument.details(of: status)
        #expect(details == [.init(id: "1", rid: handle.id.description, dt: "2017-12-26 18:21:52", details: "ran x")])
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(document)) as? [String: String]
        #expect(Set(json.map { Array($0.keys) } ?? []) == ["rid", "user_id", "name", "created_dt", "status_id", "status_name", "progress", "finished_dt", "status", "content_type"])
    }
}
