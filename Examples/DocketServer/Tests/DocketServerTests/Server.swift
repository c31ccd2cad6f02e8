import Docket
import DocketServerApp
import DocketTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting

/// An application on a manual clock, with its docket for idle-waiting and its route table.
struct Server {
    let docket: Docket
    let clock = ManualClock()
    let table = RouteTable()
    let application: Application<RouterResponder<BasicRequestContext>>

    init() throws {
        docket = try makeDocket(maxConcurrentOperations: 4, clock: clock)
        application = Application(router: makeRouter(docket: docket, callers: .demo, table: table))
    }

    /// A server whose docket is opened on `store`, restoring what it holds.
    init(store: some DocketStore) async throws {
        docket = try await makeDocket(maxConcurrentOperations: 4, clock: clock, store: store)
        application = Application(router: makeRouter(docket: docket, callers: .demo, table: table))
    }

    static let alice: HTTPFields = [Callers.header: "key-alice"]
    static let bob: HTTPFields = [Callers.header: "key-bob"]
}

/// A response read into what the tests compare.
struct Reply {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let text: String

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }
    var array: [[String: Any]] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [[String: Any]] ?? [] }
}

extension TestClientProtocol {
    func call(_ method: HTTPRequest.Method, _ uri: String, _ headers: HTTPFields = Server.alice, body: String? = nil) async throws -> Reply {
        try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
            Reply(status: response.status, headers: response.headers, text: String(buffer: response.body))
        }
    }

    func form(_ uri: String, _ body: String) async throws -> Reply {
        try await call(.post, uri, [.contentType: "application/x-www-form-urlencoded"], body: body)
    }
}
