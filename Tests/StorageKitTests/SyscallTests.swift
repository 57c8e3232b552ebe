import Foundation
import SystemPackage
import Testing

@testable import StorageKit

#if canImport(Glibc)
import Glibc
#endif

struct SyscallTests {
    /// A call cut short by a signal is made again; its value comes back as it is.
    @Test func anInterruptedCallIsMadeAgain() {
        var calls = 0
        let result = Syscall.valueOrErrno { () -> Int32 in
            calls += 1
            if calls < 3 {
                errno = EINTR
                return -1
            }
            return 42
        }
        #expect(result == .success(42))
        #expect(calls == 3)
        var once = 0
        let notRetried = Syscall.valueOrErrno(retryOnInterrupt: false) { () -> Int32 in
            once += 1
            errno = EINTR
            return -1
        }
        #expect(notRetried == .failure(.interrupted))
        #expect(once == 1)
    }

    /// A failure carries swift-system's `Errno`, and becomes a `StorageError` naming the operation, the path and
    /// the reason in words.
    @Test func aFailureCarriesItsErrnoIntoTheStorageError() throws {
        let missing = Syscall.valueOrErrno { open("/nonexistent-\(UUID().uuidString)", O_RDONLY) }
        #expect(missing == .failure(.noSuchFileOrDirectory))
        let error = try #require(throws: StorageError.self) { try missing.orThrow("open", path: "/x") }
        #expect(error.errno == ENOENT)
        #expect(error.message == "open /x: No such file or directory")
        // Zero and positive values are answers, not failures (a read at end of file answers 0).
        #expect(Syscall.valueOrErrno { Int(0) } == .success(0))
        guard case .success = Syscall.nothingOrErrno({ Int32(0) }) else {
            Issue.record("0 is success")
            return
        }
    }
}
