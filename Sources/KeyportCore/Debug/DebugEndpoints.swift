import KeyportPorts
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

    /// The body states the whole fault: an omitted field is 0, an object with neither field is refused,
    /// and a field that is given (null included) must be valid.
    public func fault(_ request: Request) throws(HTTPError) -> Response {
        let example = #"{"error_rate": 0.5, "delay_ms": 300}"#
        let body = try decode(request, example: example)
        let hasErrorRate = body.members["error_rate"] != nil
        let hasDelay = body.members["delay_ms"] != nil
        guard hasErrorRate || hasDelay else {
            throw HTTPError(.badRequest, #"expected "error_rate" (0...1) and/or "delay_ms" (0...\#(FaultInjection.maxDelayMilliseconds))"#)
        }
        var errorRate = 0.0
        if hasErrorRate {
            guard let value = body.double("error_rate") else { throw invalid(example) }
            errorRate = value
        }
        guard (0...1).contains(errorRate) else {
            throw HTTPError(.badRequest, "error_rate \(errorRate) out of range: expected a number in 0...1")
        }
        var delay = 0
        if hasDelay {
            guard let value = body.integer("delay_ms") else { throw invalid(example) }
            delay = value
        }
        guard (0...FaultInjection.maxDelayMilliseconds).contains(delay) else {
            throw HTTPError(
                .badRequest, "delay_ms \(delay) out of range: expected an integer in 0...\(FaultInjection.maxDelayMilliseconds)")
        }
        faults.setErrorRate(errorRate)
        faults.setDelay(milliseconds: delay)
        return .noContent
    }

    public func ready(_ request: Request) throws(HTTPError) -> Response {
        let example = #"{"ready": false}"#
        guard let ready = try decode(request, example: example).bool("ready") else { throw invalid(example) }
        readiness.update { $0.forcedNotReady = !ready }
        return .noContent
    }

    /// Validates on the event loop, then allocates and fills the ballast on the thread pool.
    public func ballast(_ request: Request, context: RouteContext) throws(HTTPError) -> Reply {
        let example = #"{"bytes": 104857600}"#
        guard let bytes = try decode(request, example: example).integer("bytes") else { throw invalid(example) }
        guard (0...maxBallastBytes).contains(bytes) else {
            throw HTTPError(.badRequest, "bytes \(bytes) out of range: expected an integer in 0...\(maxBallastBytes)")
        }
        let faults = self.faults
        return .later(threadPool.runIfActive(eventLoop: context.eventLoop) {
            faults.setBallast(bytes: bytes)
            return Response.noContent
        })
    }

    private func decode(_ request: Request, example: String) throws(HTTPError) -> DebugJSONBody {
        guard let buffer = request.body, buffer.readableBytes > 0 else {
            throw HTTPError(.badRequest, "missing JSON body, e.g. \(example)")
        }
        do throws(PortsLoadError) {
            return try DebugJSONBody(buffer.readableBytesView)
        } catch {
            let place = error.offset.map { "byte \($0): " } ?? ""
            throw HTTPError(.badRequest, "invalid JSON body: \(place)\(error.message); expected an object like \(example)")
        }
    }

    private func invalid(_ example: String) -> HTTPError {
        HTTPError(.badRequest, "invalid JSON body: expected an object like \(example)")
    }
}
