import Foundation

/// A finished operation's successful output, with its content type.
public struct OperationPayload: Sendable {
    /// The output value as the body returned it.
    public let value: any Codable & Sendable
    /// The content type of ``data()``.
    public let contentType: String
    private let render: (@Sendable () throws -> Data)?

    @usableFromInline
    init<Output: Codable & Sendable>(value: Output, contentType: String, render: (@Sendable (Output) throws -> Data)?) {
        self.value = value
        self.contentType = contentType
        if let render {
            self.render = { @Sendable () throws -> Data in try render(value) }
        } else {
            self.render = nil
        }
    }

    /// The output as the given type, or `nil` when it is of another type.
    public func decode<Output>(as type: Output.Type = Output.self) -> Output? {
        value as? Output
    }

    /// The output rendered in its own format: the definition's renderer, or JSON.
    public func data() throws -> Data {
        if let render { return try render() }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(value)
    }
}
