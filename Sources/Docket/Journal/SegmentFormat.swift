/// The byte layout of journal segment and snapshot files, and the rules for reading them back.
///
/// A file is an 8-byte header, `"DKTJ"` then the format version as a little-endian `UInt32`
/// (now 1), followed by records. A record is
///
///     UInt32 length (LE) | UInt32 checksum (LE) | payload (length bytes)
///
/// where the checksum is the CRC-32C (see ``CRC32``) of the four length bytes followed by the
/// payload. Covering the length as well as the payload means a damaged length is caught before
/// it is trusted, and that zero bytes never read as a record: eight zero bytes would be an
/// empty record with checksum 0, but the CRC-32C of four zero bytes is `0x48674BC7`.
enum SegmentFormat {
    /// The size of the file header.
    static let headerSize = 8
    /// The size of a record's length and checksum.
    static let recordHeaderSize = 8
    /// The header every file of this format begins with.
    static let header: [UInt8] = Array("DKTJ".utf8) + [1, 0, 0, 0]

    /// The checksum stored with a record of `payload`.
    static func checksum(of payload: UnsafeRawBufferPointer) -> UInt32 {
        var length = UInt32(payload.count).littleEndian
        let state = withUnsafeBytes(of: &length) { CRC32.update(CRC32.initial, $0) }
        return CRC32.finish(CRC32.update(state, payload))
    }

    /// The checksum stored with a record of `payload`.
    static func checksum(of payload: [UInt8]) -> UInt32 {
        payload.withUnsafeBytes { checksum(of: $0) }
    }

    /// Appends the framed record (length, checksum, payload) to `buffer`.
    static func appendRecord(_ payload: [UInt8], checksum: UInt32, to buffer: inout [UInt8]) {
        withUnsafeBytes(of: UInt32(payload.count).littleEndian) { buffer.append(contentsOf: $0) }
        withUnsafeBytes(of: checksum.littleEndian) { buffer.append(contentsOf: $0) }
        buffer.append(contentsOf: payload)
    }

    /// A whole file: the header, then each record framed, in order.
    static func encodeFile(_ records: [[UInt8]]) -> [UInt8] {
        var bytes = header
        bytes.reserveCapacity(headerSize + records.reduce(0) { $0 + recordHeaderSize + $1.count })
        for record in records { appendRecord(record, checksum: checksum(of: record), to: &bytes) }
        return bytes
    }

    /// Why a file or record could not be read.
    struct Damage: Error, Sendable {
        /// The byte offset of the damaged header or record.
        let offset: Int
        /// What is wrong, for a person.
        let reason: String
    }

    /// The damage in a file's header, or `nil` when it is this format's header.
    static func headerDamage(_ bytes: UnsafeRawBufferPointer) -> Damage? {
        guard bytes.count >= headerSize else {
            return Damage(offset: 0, reason: "the file is \(bytes.count) bytes long, shorter than the \(headerSize)-byte header")
        }
        guard bytes[0] == header[0], bytes[1] == header[1], bytes[2] == header[2], bytes[3] == header[3] else {
            return Damage(offset: 0, reason: "the file does not begin with the journal's magic bytes \"DKTJ\"")
        }
        let version = bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
        guard version == 1 else {
            return Damage(offset: 4, reason: "the file has format version \(version), and this build reads only version 1")
        }
        return nil
    }

    /// The end of the valid record that starts at `offset`, or why there is none.
    static func parseRecord(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Result<Int, Damage> {
        let available = bytes.count - offset
        guard available >= recordHeaderSize else {
            return .failure(Damage(offset: offset, reason: "only \(available) of a record header's \(recordHeaderSize) bytes are present"))
        }
        let length = Int(bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian)
        guard length <= available - recordHeaderSize else {
            return .failure(Damage(offset: offset, reason: "the record claims \(length) payload bytes but only \(available - recordHeaderSize) follow"))
        }
        let stored = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self).littleEndian
        let payloadStart = offset + recordHeaderSize
        let computed = checksum(of: UnsafeRawBufferPointer(rebasing: bytes[payloadStart..<payloadStart + length]))
        guard stored == computed else {
            return .failure(Damage(offset: offset, reason: "the record's checksum does not match its contents"))
        }
        return .success(payloadStart + length)
    }

    /// Reads the records of a whole file, calling `record` with each payload in order.
    ///
    /// Returns the offset just past the last good record and the first damage, if any: reading
    /// stops at the first record that does not parse.
    static func scan(_ bytes: UnsafeRawBufferPointer, record: (UnsafeRawBufferPointer) -> Void) -> (end: Int, damage: Damage?) {
        if let damage = headerDamage(bytes) { return (0, damage) }
        var offset = headerSize
        while offset < bytes.count {
            switch parseRecord(bytes, at: offset) {
            case .success(let end):
                record(UnsafeRawBufferPointer(rebasing: bytes[offset + recordHeaderSize..<end]))
                offset = end
            case .failure(let damage):
                return (offset, damage)
            }
        }
        return (offset, nil)
    }

    /// Whether the bytes from `offset` (where a record failed to parse) to the end of the file are
    /// a torn tail, the leftovers of a crash in the middle of a write, rather than damage.
    ///
    /// The rule: they are a torn tail when no valid record starts at any later byte offset. Zeros
    /// (a preallocated or unwritten end) never form a valid record, nor, but for a chance of about
    /// 2^-32 per offset, does garbage; a bad record followed by a good one is damage in the middle.
    /// The rule trusts that a write cut short by a crash loses its end, not its middle. A file system
    /// that persists the pages of one unsynced write out of order could, rarely, leave a good record
    /// after a bad one in a tail that was never synced; the journal then reports damage rather than
    /// guess, and a person decides.
    static func isTornTail(_ bytes: UnsafeRawBufferPointer, from offset: Int) -> Bool {
        var candidate = offset + 1
        while candidate + recordHeaderSize <= bytes.count {
            if bytes[candidate] == 0 {
                // Skip a run of zeros. A record whose first five bytes are zero has length 0, so its
                // checksum must be 0x48674BC7, whose first byte is not zero: no record starts more
                // than 4 bytes before the run ends.
                var nonzero = candidate
                while nonzero < bytes.count && bytes[nonzero] == 0 { nonzero += 1 }
                if nonzero == bytes.count { return true }
                if nonzero - 4 > candidate {
                    candidate = nonzero - 4
                    continue
                }
            }
            if case .success = parseRecord(bytes, at: candidate) { return false }
            candidate += 1
        }
        return true
    }
}
