#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import Docket
import Testing

/// The lock every shared table goes through.
@Suite("Locked")
struct LockedTests {
    final class Counter: Sendable {
        let value = Locked(0)
    }

    @Test("Concurrent increments under the lock add up exactly")
    func exclusion() async {
        let counter = Counter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { for _ in 0..<5_000 { counter.value.withLock { $0 += 1 } } }
            }
        }
        #expect(counter.value.withLock { $0 } == 40_000)
    }

    @Test("Under ThreadSanitizer the annotation hooks are found; without it they are not")
    func hooks() {
        let sanitized = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__tsan_init") != nil
        #expect((ThreadSanitizerHooks.hooks != nil) == sanitized)
    }
}
