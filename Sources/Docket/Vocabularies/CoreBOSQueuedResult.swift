import Foundation

/// coreBOS's answer to `getQueuedOperationResult`.
///
/// Anything not succeeded or failed reads as the string "Operation not queued or not
/// finished yet"; a finished operation returns its standard web-service response wrapped in
/// a `result` property (a failure wraps its error), once.
public enum CoreBOSQueuedResult: Sendable {
    /// coreBOS's literal answer for an unknown, unfinished or already-read operation.
    public static let pendingMessage = "Operation not queued or not finished yet"

    /// Not queued, not finished, or already read.
    case notQueuedOrNotFinished
    /// The operation's own standard response, to be wrapped in `result`.
    case finished(StandardResponse)

    /// A coreBOS standard web-service response.
    public struct StandardResponse: Sendable {
        /// Whether the operation succeeded.
        public let success: Bool
        /// The operation's output, encoded as JSON, when it succeeded.
        public let result: Data?
        /// The error code and message, when it failed.
        public let error: (code: String, message: String)?
    }

    /// coreBOS's answer for a take of the result.
    public init(_ take: ResultTake<OperationPayload>) {
        switch take {
        case .notFound, .notFinished, .consumed:
            self = .notQueuedOrNotFinished
        case .finished(.success(let payload)):
            let data = (try? payload.data()) ?? Data("null".utf8)
            self = .finished(StandardResponse(success: true, result: data, error: nil))
        case .finished(.failure(let failure)):
            self = .finished(StandardResponse(success: false, result: nil, error: (failure.kind.rawValue, failure.message)))
        }
    }

    /// The JSON body coreBOS returns: the literal string, or `{"success":true,"result":<standard response>}`.
    public func jsonBody() throws -> Data {
        switch self {
        case .notQueuedOrNotFinished:
            return try JSONEncoder().encode(Self.pendingMessage)
        case .finished(let response):
            var inner = Data()
            if response.success {
                inner = Data("{\"success\":true,\"result\":".utf8) + (response.result ?? Data("null".utf8)) + Data("}".utf8)
            } else {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                let error = try encoder.encode(["code": response.error?.code ?? "", "message": response.error?.message ?? ""])
                inner = Data("{\"success\":false,\"error\":".utf8) + error + Data("}".utf8)
            }
            return Data("{\"success\":true,\"result\":".utf8) + inner + Data("}".utf8)
        }
    }
}
