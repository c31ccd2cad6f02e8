#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Cryptographically secure random bits, drawn from the system in 4 KiB batches so
/// that an ID costs a locked copy rather than a system call.
final class SecureRandomSource: Sendable {
    static let shared = SecureRandomSource()

    private struct Buffer {
        var words = [UInt64](repeating: 0, count: 512)
        var next = 512
    }

    private let buffer = Locked(Buffer())

    func nextID() -> OperationID {
        buffer.withLock { buffer in
            if buffer.next + 2 > buffer.words.count {
                Self.refill(&buffer.words)
                buffer.next = 0
            }
            defer { buffer.next += 2 }
            return OperationID(high: buffer.words[buffer.next], low: buffer.words[buffer.next + 1])
        }
    }

    private static func refill(_ words: inout [UInt64]) {
        var filled = false
        #if os(Linux)
        // One read of the kernel's CSPRNG fills the whole batch.
        let descriptor = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        if descriptor >= 0 {
            defer { close(descriptor) }
            filled = words.withUnsafeMutableBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let got = read(descriptor, raw.baseAddress! + offset, raw.count - offset)
                    if got < 0 && errno == EINTR { continue }
                    if got <= 0 { return false }
                    offset += got
                }
                return true
            }
        }
        #endif
        if !filled {
            // The system generator is cryptographically secure on every platform Swift supports.
            var generator = SystemRandomNumberGenerator()
            for index in words.indices { words[index] = generator.next() }
        }
    }
}
