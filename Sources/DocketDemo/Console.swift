import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Terminal output: whole lines, a rewritable progress line on a TTY, and number formatting.
///
/// Everything goes through unbuffered writes to file descriptors 1 and 2, so progress
/// lines, report lines and errors come out in the order they were written.
enum Console {
    /// Whether standard output is a terminal (progress rewrites one line with "\r").
    static let isTerminal = isatty(1) != 0

    /// Writes a line to standard output.
    static func line(_ text: String = "") {
        write(text + "\n", to: FileHandle.standardOutput)
    }

    /// Writes text to standard error.
    static func error(_ text: String) {
        write(text.hasSuffix("\n") ? text : text + "\n", to: FileHandle.standardError)
    }

    /// Shows a progress line: rewritten in place on a terminal, a new line otherwise.
    static func progress(_ text: String) {
        if isTerminal {
            write("\r" + text + "\u{1B}[K", to: FileHandle.standardOutput)
        } else {
            line(text)
        }
    }

    /// Ends a rewritten progress line so later output starts on a fresh line.
    static func endProgress() {
        if isTerminal { write("\n", to: FileHandle.standardOutput) }
    }

    private static func write(_ text: String, to handle: FileHandle) {
        handle.write(Data(text.utf8))
    }

    /// An integer with thousands separators: 60,000.
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (offset, digit) in digits.enumerated() {
            if offset > 0 && (digits.count - offset) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return value < 0 ? "-" + result : result
    }

    /// A number with the given decimals: 12.34.
    static func fixed(_ value: Double, _ decimals: Int = 2) -> String {
        String(format: "%.\(decimals)f", value)
    }

    /// Seconds of a duration as a double.
    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
