import Docket
import Foundation
import Hummingbird

/// How the server runs.
public struct ServerConfiguration: Sendable {
    /// The address to listen on.
    public var host: String
    /// The port; 0 asks the system for a free one.
    public var port: Int
    /// API keys and their owners.
    public var callers: Callers
    /// How many operations run at once.
    public var maxConcurrentOperations: Int
    /// The directory of a file journal that keeps operations across restarts; `nil` keeps
    /// them in memory only.
    public var journal: String?

    public init(
        host: String = "127.0.0.1", port: Int = 8080, callers: Callers = .demo, maxConcurrentOperations: Int = 64,
        journal: String? = nil
    ) {
        self.host = host
        self.port = port
        self.callers = callers
        self.maxConcurrentOperations = maxConcurrentOperations
        self.journal = journal
    }
}

/// The docket with the server's operations registered, on `clock` (a manual one in tests).
public func makeDocket<C: Clock>(
    maxConcurrentOperations: Int, clock: C = ContinuousClock()
) throws -> Docket where C.Duration == Duration {
    var registry = OperationRegistry()
    try BusinessOperations.register(in: &registry)
    return try Docket(registry: registry, configuration: DocketConfiguration(maxConcurrentOperations: maxConcurrentOperations), clock: clock)
}

/// The same docket on a store: what the store holds from a previous run is restored first.
public func makeDocket<C: Clock>(
    maxConcurrentOperations: Int, clock: C = ContinuousClock(), store: some DocketStore
) async throws -> Docket where C.Duration == Duration {
    var registry = OperationRegistry()
    try BusinessOperations.register(in: &registry)
    return try await Docket(
        registry: registry, configuration: DocketConfiguration(maxConcurrentOperations: maxConcurrentOperations), clock: clock, store: store)
}

/// Every surface on one router: Docket's own, and Kekker's, bear2b's, Mobizon's and coreBOS's.
public func makeRouter(docket: Docket, callers: Callers, table: RouteTable = RouteTable()) -> Router<BasicRequestContext> {
    let router = Router()
    DocketRoutes(docket: docket, callers: callers).register(on: router, table: table)
    KekkerRoutes(docket: docket, callers: callers).register(on: router, table: table)
    Bear2bRoutes(docket: docket, callers: callers).register(on: router, table: table)
    MobizonRoutes(docket: docket, callers: callers).register(on: router, table: table)
    CoreBOSRoutes(docket: docket, callers: callers).register(on: router, table: table)
    return router
}

/// The application, announcing its address once it listens (`onRunning` gets the port).
/// With a journal directory, the docket is opened on a ``FileJournal`` there.
public func makeApplication(
    _ configuration: ServerConfiguration, onRunning: @escaping @Sendable (Int) -> Void = { _ in }
) async throws -> some ApplicationProtocol {
    let docket: Docket
    if let directory = configuration.journal {
        let journal = try FileJournal(directory: URL(fileURLWithPath: directory))
        docket = try await makeDocket(maxConcurrentOperations: configuration.maxConcurrentOperations, store: journal)
        let restored = docket.recovery
        FileHandle.standardOutput.write(Data("journal \(directory): restored \(restored.queued) queued, \(restored.failed) failed, \(restored.interrupted) interrupted, \(restored.rerun) to run again, \(restored.results) unread results\n".utf8))
    } else {
        docket = try makeDocket(maxConcurrentOperations: configuration.maxConcurrentOperations)
    }
    let router = makeRouter(docket: docket, callers: configuration.callers)
    return Application(
        router: router,
        configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port), serverName: "docket-server"),
        onServerRunning: { channel in onRunning(channel.localAddress?.port ?? configuration.port) })
}
