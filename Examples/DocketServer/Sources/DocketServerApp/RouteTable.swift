import Hummingbird
import Synchronization

/// Registers routes on the router and remembers each one as OpenAPI writes it
/// (`/v1/operations/{id}`), so a test can hold `openapi.yaml` to the routes that exist.
public final class RouteTable: Sendable {
    /// A registered route: its method and its path in OpenAPI form.
    public struct Route: Hashable, Sendable, CustomStringConvertible {
        public let method: String
        public let path: String
        public var description: String { "\(method) \(path)" }
    }

    private let recorded = Mutex<[Route]>([])

    public init() {}

    /// Every route registered so far.
    public var routes: [Route] { recorded.withLock { $0 } }

    /// Registers `handler` for `method` on `path`, written with `{parameter}` segments.
    func on<Context: RequestContext>(
        _ router: Router<Context>, _ method: HTTPRequest.Method, _ path: String,
        _ handler: @escaping @Sendable (Request, Context) async throws -> Response
    ) {
        recorded.withLock { $0.append(Route(method: method.rawValue.lowercased(), path: path)) }
        let hummingbirdPath = path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? ":" + segment.dropFirst().dropLast() : String(segment)
        }.joined(separator: "/")
        router.on(RouterPath(hummingbirdPath), method: method, use: handler)
    }
}
