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
/// is being released. Without the sanitizer that costs one check of a global per lock.
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
        // One check of the lazily found hooks per call; none are found without the sanitizer.
        guard let hooks = ThreadSanitizerHooks.hooks else { return try mutex.withLock(body) }
        // The mutex is address-only and stored in place, so its address names this lock.
        let address = withUnsafePointer(to: mutex) { UnsafeMutableRawPointer(mutating: $0) }
        return try mutex.withLock { (value: inout sending Value) throws(E) -> sending Result in
            hooks.acquire(address)
            defer { hooks.release(address) }
            return try body(&value)
        }
    }
}

extension Locked: Sendable where Value: ~Copyable {}

/// The ThreadSanitizer runtime's annotation entry points, found at run time so that
/// builds without the sanitizer need no symbol from it.
enum ThreadSanitizerHooks {
    typealias Annotation = @convention(c) (UnsafeMutableRawPointer?) -> Void

    /// `__tsan_acquire` and `__tsan_release` when the sanitizer's runtime is loaded.
    static let hooks: (acquire: Annotation, release: Annotation)? = {
        guard let acquire = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__tsan_acquire"),
              let release = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__tsan_release") else { return nil }
        return (unsafeBitCast(acquire, to: Annotation.self), unsafeBitCast(release, to: Annotation.self))
    }()
}
