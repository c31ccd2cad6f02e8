import Foundation

/// The side file: a log outside the journal, opened with `O_APPEND`, that every body run,
/// acknowledged submit and taken result is written to, one `write` per line.
///
/// A process killed with SIGKILL leaves every line it wrote whole: each is one `write` of a
/// few dozen bytes to a regular file opened for appending, which the kernel performs at once.
final class SideFile: Sendable {
    let path: String
    private let descriptor: Int32

    /// Opens (creating if needed) the file for appending.
    init(path: String) throws(WorkerFailure) {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .io("cannot open side file \(path): \(String(cString: strerror(errno)))") }
        self.path = path
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    /// Appends `line` and a newline in one `write`; a failure ends the process, since a lost
    /// line would make the crash test's count wrong.
    func append(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            FileHandle.standardError.write(Data("docket-crash-worker: short write to \(path) (\(written) of \(bytes.count) bytes)\n".utf8))
            exit(1)
        }
    }

    /// The lines written so far (none when the file does not exist yet).
    static func lines(at path: String) throws(WorkerFailure) -> [Substring] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        do {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            return text.split(separator: "\n")
        } catch {
            throw .io("cannot read side file \(path): \(error)")
        }
    }
}
