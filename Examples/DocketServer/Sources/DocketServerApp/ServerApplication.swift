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

    public init(host: String = "127.0.0.1", port: Int = 8080, callers: Callers = .demo, maxConcurrentOperations: Int = 64) {
        self.host = host
        self.port = port
        self.callers = callers
        self.maxConcurrentOperations = maxConcurrentOperations
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
public func makeApplication(
    _ configuration: ServerConfiguration, onRunning: @escaping @Sendable (Int) -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let docket = try makeDocket(maxConcurrentOperations: configuration.maxConcurrentOperations)
    let router = makeRouter(docket: docket, callers: configuration.callers)
    return Application(
        router: router,
        configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port), serverName: "docket-server"),
        onServerRunning: { channel in onRunning(channel.localAddress?.port ?? configuration.port) })
}
