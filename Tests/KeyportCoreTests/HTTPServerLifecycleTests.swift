@testable import KeyportCore
import Logging
import NIOCore
import NIOPosix
import Testing

/// A server made and never run must not leave a promise behind (NIO's leak check traps in debug builds).
@Suite struct HTTPServerLifecycleTests {
    private func application() -> KeyportApplication {
        var configuration = Configuration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.adminPort = 0
        return KeyportApplication(configuration: configuration, logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() })
    }

    @Test func aServerNeverRunLeavesNoPromise() async throws {
        _ = application().makeServer(group: MultiThreadedEventLoopGroup.singleton)
        // Asked for its address and dropped: the future fails instead of leaking.
        let address = application().makeServer(group: MultiThreadedEventLoopGroup.singleton).localAddress
        await #expect(throws: CancellationError.self) { try await address.get() }
    }

    @Test func theAddressIsKnownWhetherAskedBeforeOrAfterBinding() async throws {
        let app = application()
        let server = app.makeServer(group: MultiThreadedEventLoopGroup.singleton)
        let early = server.localAddress
        let run = Task { try await server.run() }
        let port = try await early.get().port
        #expect(port != nil && port != 0)
        #expect(try await server.localAddress.get().port == port)
        run.cancel()
        _ = await run.result
    }
}
