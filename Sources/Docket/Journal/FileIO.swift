#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The system calls the journal makes, each turning a failure into a ``DocketError`` of code
/// ``DocketError/Code/journalFailed`` whose message names the file and the system's reason.
enum FileIO {
    /// The system's description of `code`.
    static func reason(_ code: Int32) -> String {
        "\(String(cString: strerror(code))) (errno \(code))"
    }

    /// A `journalFailed` error for `action` on `path` that failed with `code`.
    static func failure(_ action: String, _ path: String, _ code: Int32) -> DocketError {
        DocketError(
            .journalFailed,
            "Could not \(action) \(path): \(reason(code)). Check free space, permissions and the disk, then open the journal again.")
    }

    /// Opens `path`, retrying on `EINTR`; `O_CLOEXEC` is always added.
    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644, action: String = "open") throws -> Int32 {
        while true {
            let descriptor = systemOpen(path, flags | O_CLOEXEC, mode)
            if descriptor >= 0 { return descriptor }
            let code = errno
            if code != EINTR { throw failure(action, path, code) }
        }
    }

    /// Writes every byte of `bytes` at the descriptor's position, however many calls it takes.
    static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        guard var base = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let written = write(descriptor, base, remaining)
            if written < 0 {
                let code = errno
                if code == EINTR { continue }
                throw failure("write to", path, code)
            }
            base += written
            remaining -= written
        }
    }

    /// Writes every byte of `bytes`.
    static func writeAll(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws {
        try bytes.withUnsafeBytes { try writeAll(descriptor, $0, path: path) }
    }

    /// Flushes the file's data and size to the disk.
    static func syncFile(_ descriptor: Int32, path: String) throws {
        while fsync(descriptor) != 0 {
            let code = errno
            if code != EINTR { throw failure("sync", path, code) }
        }
    }

    /// Flushes the directory's entries (files created, renamed or removed in it) to the disk.
    static func syncDirectory(_ path: String) throws {
        let descriptor = try open(path, O_RDONLY | O_DIRECTORY)
        defer { closeDescriptor(descriptor) }
        try syncFile(descriptor, path: path)
    }

    /// Closes a descriptor, ignoring errors (there is nothing to do about them).
    static func closeDescriptor(_ descriptor: Int32) {
        _ = close(descriptor)
    }

    /// The whole contents of the file at `path`.
    static func readFile(_ path: String) throws -> [UInt8] {
        let descriptor = try open(path, O_RDONLY, action: "open for reading")
        defer { closeDescriptor(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw failure("read the size of", path, errno) }
        let size = Int(info.st_size)
        return try [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = 0
            while count < size {
                let got = read(descriptor, buffer.baseAddress! + count, size - count)
                if got < 0 {
                    let code = errno
                    if code == EINTR { continue }
                    throw failure("read", path, code)
                }
                if got == 0 { break }
                count += got
            }
        }
    }

    /// The size in bytes of the file at `path`.
    static func fileSize(_ path: String) throws -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else { throw failure("read the size of", path, errno) }
        return Int(info.st_size)
    }

    /// Cuts the file at `path` to `size` bytes and, unless `sync` is false, syncs it.
    static func truncate(_ path: String, to size: Int, sync: Bool) throws {
        let descriptor = try open(path, O_WRONLY)
        defer { closeDescriptor(descriptor) }
        guard ftruncate(descriptor, off_t(size)) == 0 else { throw failure("truncate", path, errno) }
        if sync { try syncFile(descriptor, path: path) }
    }

    /// Renames `from` to `to`, replacing `to` atomically if it exists.
    static func rename(_ from: String, to: String) throws {
        guard systemRename(from, to) == 0 else { throw failure("rename to \(to)", from, errno) }
    }

    /// Removes the file at `path`; a file already gone is not an error.
    static func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else { throw failure("remove", path, errno) }
    }

    /// Takes an exclusive lock on `descriptor` without waiting: `false` if someone else holds it.
    static func tryLock(_ descriptor: Int32, path: String) throws -> Bool {
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EWOULDBLOCK { return false }
            if code != EINTR { throw failure("lock", path, code) }
        }
        return true
    }
}

// The C functions whose names this enum's members shadow.
private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { open(path, flags, mode) }
private func systemRename(_ from: String, _ to: String) -> Int32 { rename(from, to) }
