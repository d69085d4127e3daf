import NIOCore

/// `POST /debug/fault`, `/debug/ready` and `/debug/ballast`: faults on demand, for alert tests and drills.
/// Routed only with `--enable-fault-injection`.
public struct DebugEndpoints: Sendable {
    let faults: FaultInjection
    let readiness: Readiness
    /// The most ballast one request may ask for.
    public static let maxBallastBytes = 16 * 1024 * 1024 * 1024

    public func fault(_ request: Request) throws(HTTPError) -> Response {
        let example = #"{"error_rate": 0.5}"#
        guard let errorRate = try decode(request, example: example).double("error_rate") else { throw invalid(example) }
        guard (0...1).contains(errorRate) else {
            throw HTTPError(.badRequest, "error_rate \(errorRate) out of range: expected a number in 0...1")
        }
        faults.setErrorRate(errorRate)
        return .noContent
    }

    public func ready(_ request: Request) throws(HTTPError) -> Response {
        let example = #"{"ready": false}"#
        guard let ready = try decode(request, example: example).bool("ready") else { throw invalid(example) }
        readiness.update { $0.forcedNotReady = !ready }
        return .noContent
    }

    public func ballast(_ request: Request) throws(HTTPError) -> Response {
        let example = #"{"bytes": 104857600}"#
        guard let bytes = try decode(request, example: example).integer("bytes") else { throw invalid(example) }
        guard (0...Self.maxBallastBytes).contains(bytes) else {
            throw HTTPError(.badRequest, "bytes \(bytes) out of range: expected an integer in 0...\(Self.maxBallastBytes)")
        }
        faults.setBallast(bytes: bytes)
        return .noContent
    }

    private func decode(_ request: Request, example: String) throws(HTTPError) -> DebugJSONBody {
        guard let buffer = request.body, buffer.readableBytes > 0 else {
            throw HTTPError(.badRequest, "missing JSON body, e.g. \(example)")
        }
        do {
            return try DebugJSONBody(buffer.readableBytesView)
        } catch {
            throw invalid(example)
        }
    }

    private func invalid(_ example: String) -> HTTPError {
        HTTPError(.badRequest, "invalid JSON body: expected an object like \(example)")
    }
}
