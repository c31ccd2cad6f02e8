import HTTPTypes
import Hummingbird

/// API keys and the Docket owner each one stands for: one caller never sees another's
/// operations, since every Docket call is scoped to the owner.
public struct Callers: Sendable {
    private let owners: [String: String]

    /// - Parameter keys: API key to owner.
    public init(keys: [String: String]) {
        owners = keys
    }

    /// The demonstration callers: `key-alice` is alice, `key-bob` is bob.
    public static let demo = Callers(keys: ["key-alice": "alice", "key-bob": "bob"])

    /// The `X-API-Key` header field.
    public static let header = HTTPField.Name("X-API-Key")!

    /// The owner of the request's `X-API-Key` header.
    func owner(of request: Request) throws -> String {
        try owner(forKey: request.headers[Self.header])
    }

    /// The owner of a key passed another way (Mobizon's `apiKey` query, coreBOS's `sessionName`).
    func owner(forKey key: String?) throws -> String {
        guard let key, !key.isEmpty else {
            throw APIError(.unauthorized, code: "missingKey", "Send your API key in the X-API-Key header.")
        }
        guard let owner = owners[key] else {
            throw APIError(.unauthorized, code: "unknownKey", "The API key is not known. Check it, or ask for one.")
        }
        return owner
    }
}
