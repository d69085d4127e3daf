@testable import KeyportCore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

@Suite struct BallastTests {
    static let gibibyte = 1 << 30

    func ballastHandler() throws -> (KeyportApplication, RouteHandler) {
        var configuration = Configuration()
        configuration.faultInjectionEnabled = true
        let application = KeyportApplication(configuration: configuration, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let match = application.makeRouter(for: .admin).match(Request(method: .POST, uri: "/debug/ballast"))
        return (application, try #require(match.handler))
    }

    func request(bytes: Int) -> Request {
        Request(method: .POST, uri: "/debug/ballast", body: ByteBuffer(string: #"{"bytes": \#(bytes)}"#))
    }

    @Test func theCapIsFourGiBOrTheCgroupLimitWhicheverIsLower() {
        #expect(DebugEndpoints.ballastLimit(cgroupLimit: nil) == 4 * Self.gibibyte)
        #expect(DebugEndpoints.ballastLimit(cgroupLimit: 64 * Self.gibibyte) == 4 * Self.gibibyte)
        #expect(DebugEndpoints.ballastLimit(cgroupLimit: Self.gibibyte) == Self.gibibyte)
    }

    @Test func aBallastBeyondTheCapIs400NamingTheCap() throws {
        let (_, handler) = try ballastHandler()
        let cap = DebugEndpoints.ballastLimit(cgroupLimit: CgroupMemoryLimit.read())
        let context = RouteContext(parameter: "", eventLoop: MultiThreadedEventLoopGroup.singleton.next())
        // Just past the cap, and the old 16 GiB bound: neither is allocated, both are refused up front.
        for bytes in [cap + 1, 16 * Self.gibibyte] {
            let error = try #require(throws: HTTPError.self) { try handler(request(bytes: bytes), context) }
            #expect(error.status == .badRequest)
            #expect(error.message.contains("0...\(cap)"), "\(error.message)")
        }
    }

    /// The memory it holds shows in `process_resident_memory_bytes` (`ServerTests.ballastHoldsResidentMemory`).
    @Test func theBallastIsFilledOffTheEventLoop() async throws {
        let (_, handler) = try ballastHandler()
        let context = RouteContext(parameter: "", eventLoop: MultiThreadedEventLoopGroup.singleton.next())
        guard case .later(let future) = try handler(request(bytes: 1 << 20), context) else {
            Issue.record("the ballast was allocated on the event loop (an immediate reply)")
            return
        }
        #expect(try await future.get().status == .noContent)
        guard case .later(let freed) = try handler(request(bytes: 0), context) else {
            Issue.record("freeing the ballast answered on the event loop")
            return
        }
        #expect(try await freed.get().status == .noContent)
    }
}
