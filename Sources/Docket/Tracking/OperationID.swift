/// The tracking ID of a submitted operation.
///
/// The ID of a submission carries 102 bits drawn afresh from the system's cryptographically
/// secure generator, so it cannot be guessed or enumerated. Its other 26 bits are a
/// sequence number, enciphered with keys drawn for each docket, that the docket uses to
/// keep the records of operations submitted in turn side by side; to anyone else they read
/// as random, so two IDs do not tell how many operations came between them. It prints as
/// 32 lowercase hexadecimal digits, parses back from that form, and encodes as that string.
public struct OperationID: Hashable, Sendable, Codable, CustomStringConvertible, LosslessStringConvertible {
    let high: UInt64
    let low: UInt64

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Draws a fresh, unguessable ID: 128 bits from the system's cryptographically secure
    /// generator, read in batches so that an ID costs nanoseconds rather than a system call.
    public static func random() -> OperationID {
        SecureRandomSource.shared.nextID()
    }

    /// Parses an ID from its 32-hex-digit form; `nil` when the text is not one.
    public init?(_ description: String) {
        let utf8 = description.utf8
        guard utf8.count == 32 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, byte) in utf8.enumerated() {
            guard let nibble = Self.nibble(byte) else { return nil }
            if index < 16 { high = high << 4 | UInt64(nibble) } else { low = low << 4 | UInt64(nibble) }
        }
        self.init(high: high, low: low)
    }

    /// The 32-hex-digit form of the ID.
    public var description: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var bytes = [UInt8](repeating: 0, count: 32)
        for index in 0..<16 {
            bytes[index] = digits[Int((high >> UInt64(60 - index * 4)) & 0xF)]
            bytes[16 + index] = digits[Int((low >> UInt64(60 - index * 4)) & 0xF)]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Decodes an ID from its string form.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = OperationID(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "\"\(text)\" is not an operation ID (32 hexadecimal digits)")
        }
        self = id
    }

    /// Encodes the ID as its string form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    private static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Hashes one of the two random words: both are uniformly random, so one is as good a
    /// hash as two and costs half the hashing (IDs are hashed several times per operation).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(high)
    }

    /// Which tracking shard holds this ID.
    var shardIndex: Int { Int(truncatingIfNeeded: low & 63) }
}
