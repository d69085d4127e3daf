import FoundationEssentials
import NIOCore
import NIOPosix

/// `POST /debug/fault`, `/debug/ready` and `/debug/ballast`: faults on demand, for alert tests and drills.
/// Routed only with `--enable-fault-injection`.
public struct DebugEndpoints: Sendable {
    let faults: FaultInjection
    let readiness: Readiness
    /// Fills the ballast, so a large one never stalls an event loop.
    let threadPool: NIOThreadPool
    /// The most ballast one request may ask for: `ballastLimit(cgroupLimit:)` of this process' cgroup.
    public let maxBallastBytes: Int

    public init(faults: FaultInjection, readiness: Readiness, threadPool: NIOThreadPool,
                cgroupLimit: Int? = CgroupMemoryLimit.read()) {
        self.faults = faults
        self.readiness = readiness
        self.threadPool = threadPool
        maxBallastBytes = Self.ballastLimit(cgroupLimit: cgroupLimit)
    }

    /// 4 GiB, or the cgroup's memory limit when that is lower: more could only get the process killed.
    public static func ballastLimit(cgroupLimit: Int?) -> Int {
        min(4 << 30, cgroupLimit ?? .max)
    }

    /// The whole fault state: an omitted field is 0, an object with neither field is refused.
    struct FaultBody: Decodable {
        var error_rate: Double?
        var delay_ms: Int?

        enum CodingKeys: String, CodingKey { case error_rate, delay_ms }

        /// A field given as null is refused, not read as omitted (the OpenAPI types are number and integer).
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            if container.contains(.error_rate) { error_rate = try container.decode(Double.self, forKey: .error_rate) }
            if container.contains(.delay_ms) { delay_ms = try container.decode(Int.self, forKey: .delay_ms) }
        }
    }
    struct ReadyBody: Decodable { var ready: Bool }
    struct BallastBody: Decodable { var bytes: Int }

    public func fault(_ request: Request) throws(HTTPError) -> Response {
        let body: FaultBody = try decode(request, example: #"{"error_rate": 0.5, "delay_ms": 300}"#)
        guard body.error_rate != nil || body.delay_ms != nil else {
            throw HTTPError(.badRequest, #"expected "error_rate" (0...1) and/or "delay_ms" (0...\#(FaultInjection.maxDelayMilliseconds))"#)
        }
        let errorRate = body.error_rate ?? 0
        guard (0...1).contains(errorRate) else {
            throw HTTPError(.badRequest, "error_rate \(errorRate) out of range: expected a number in 0...1")
        }
        let delay = body.delay_ms ?? 0
        guard (0...FaultInjection.maxDelayMilliseconds).contains(delay) else {
            throw HTTPError(
                .badRequest, "delay_ms \(delay) out of range: expected an integer in 0...\(FaultInjection.maxDelayMilliseconds)")
        }
        faults.setErrorRate(errorRate)
        faults.setDelay(milliseconds: delay)
        return .noContent
    }

    public func ready(_ request: Request) throws(HTTPError) -> Response {
        let body: ReadyBody = try decode(request, example: #"{"ready": false}"#)
        readiness.update { $0.forcedNotReady = !body.ready }
        return .noContent
    }

    /// Validates on the event loop, then allocates and fills the ballast on the thread pool.
    public func ballast(_ request: Request, context: RouteContext) throws(HTTPError) -> Reply {
        let body: BallastBody = try decode(request, example: #"{"bytes": 104857600}"#)
        guard (0...maxBallastBytes).contains(body.bytes) else {
            throw HTTPError(.badRequest, "bytes \(body.bytes) out of range: expected an integer in 0...\(maxBallastBytes)")
        }
        let faults = self.faults
        return .later(threadPool.runIfActive(eventLoop: context.eventLoop) {
            faults.setBallast(bytes: body.bytes)
            return Response.noContent
        })
    }

    private func decode<Body: Decodable>(_ request: Request, example: String) throws(HTTPError) -> Body {
        guard let buffer = request.body, buffer.readableBytes > 0 else {
            throw HTTPError(.badRequest, "missing JSON body, e.g. \(example)")
        }
        do {
            return try JSONDecoder().decode(Body.self, from: Data(buffer.readableBytesView))
        } catch {
            throw HTTPError(.badRequest, "invalid JSON body: expected an object like \(example)")
        }
    }
}
