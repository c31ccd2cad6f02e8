import Foundation

/// One timestamped message in an operation's details log (bear2b's details).
public struct DetailEntry: Hashable, Sendable, Codable {
    /// When the message was logged.
    public let date: Date
    /// The message.
    public let message: String

    /// Creates an entry.
    public init(date: Date, message: String) {
        self.date = date
        self.message = message
    }
}
