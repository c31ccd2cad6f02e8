import Docket
import Foundation
import Hummingbird

/// An error answered as JSON, `{"error": {"code": ..., "message": ...}}`, with its status.
/// A refusal by Docket maps to a 4xx; an operation's own failure is never a 5xx.
public struct APIError: HTTPResponseError {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String

    public init(_ status: HTTPResponse.Status, code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    /// A Docket refusal with the HTTP status that fits it.
    public init(_ error: DocketError) {
        let status: HTTPResponse.Status
        switch error.code {
        case .notFound, .unknownOperation: status = .notFound
        case .notQueueable, .invalidDelay, .invalidInput, .unknownDependency, .batchMode: status = .badRequest
        case .notDeletable, .followerChoiceRequired, .notRetryable, .notCancellable, .objectBlocked: status = .conflict
        case .alreadyConsumed: status = .gone
        case .queueFull: status = .tooManyRequests
        case .shutDown: status = .serviceUnavailable
        default: status = .badRequest
        }
        self.init(status, code: "\(error.code)", error.message)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if status == .tooManyRequests || status == .serviceUnavailable { headers[.retryAfter] = "1" }
        return Response(status: status, headers: headers, body: .json(["error": ["code": code, "message": message]]))
    }
}

extension ResponseBody {
    /// A JSON body from an encodable value, keys sorted.
    static func json(_ value: some Encodable) -> ResponseBody {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return ResponseBody(byteBuffer: ByteBuffer(bytes: data))
    }
}

extension Response {
    /// A JSON response.
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .json(value))
    }

    /// A body of raw bytes with its content type.
    static func bytes(_ data: Data, contentType: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: contentType], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Runs a Docket call, answering its refusals as API errors.
func refusals<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as DocketError {
        throw APIError(error)
    }
}

/// Parses a tracking ID from a path; an ID that cannot be one is as unknown as a foreign one.
func operationID(_ text: String) throws -> OperationID {
    guard let id = OperationID(text) else {
        throw APIError(.notFound, code: "notFound", "No operation \(text) is visible to this caller.")
    }
    return id
}
