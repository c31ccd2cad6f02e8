import Foundation

/// Unbuffered lines on standard output and standard error: a life killed with SIGKILL keeps
/// every line it printed.
enum Output {
    /// Writes a line to standard output.
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// Writes a line to standard error.
    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
