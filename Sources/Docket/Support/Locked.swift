#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A `Synchronization.Mutex` that ThreadSanitizer understands.
///
/// On Linux the standard library's mutex takes its contended path (waiting on a futex) in
/// code that is not instrumented, so ThreadSanitizer misses the ordering a contended lock
/// gives and reports the protected accesses as races. Inside every critical section this
/// wrapper tells the sanitizer's runtime, when one is loaded, that the lock was acquired and
/// is being released. Without the sanitizer the annotations are two predictable branches.
package struct Locked<Value: ~Copyable>: ~Copyable {
    private let mutex: Mutex<Value>

    /// Creates the lock around its initial value.
    package init(_ initialValue: consuming sending Value) {
        mutex = Mutex(initialValue)
    }

    /// Runs `body` with the value, holding the lock.
    package borrowing func withLock<Result: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        // The mutex is address-only and stored in place, so its address names this lock.
        let address = withUnsafePointer(to: mutex) { UnsafeMutableRawPointer(mutating: $0) }
        return try mutex.withLock { (value: inout sending Value) throws(E) -> sending Result in
            ThreadSanitizerHooks.acquire(address)
            defer { ThreadSanitizerHooks.release(address) }
            return try body(&value)
        }
    }
}

extension Locked: Sendable where Value: ~Copyable {}

/// The ThreadSanitizer runtime's annotation entry points, found at run time so that
/// builds without the sanitizer need no symbol from it.
enum ThreadSanitizerHooks {
    private typealias Annotation = @convention(c) (UnsafeMutableRawPointer?) -> Void

    private static let hooks: (acquire: Annotation, release: Annotation)? = {
        #if os(Linux) || canImport(Darwin)
        guard let acquire = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__tsan_acquire"),
              let release = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__tsan_release") else { return nil }
        return (unsafeBitCast(acquire, to: Annotation.self), unsafeBitCast(release, to: Annotation.self))
        #else
        return nil
        #endif
    }()

    @inline(__always)
    static func acquire(_ address: UnsafeMutableRawPointer) {
        if let hooks { hooks.acquire(address) }
    }

    @inline(__always)
    static func release(_ address: UnsafeMutableRawPointer) {
        if let hooks { hooks.release(address) }
    }
}
