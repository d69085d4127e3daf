import FoundationEssentials
import NIOCore

/// `POST /debug/fault`, `/debug/ready` and `/debug/ballast`: faults on demand, for alert tests and drills.
/// Routed only with `--enable-fault-injection`.
public struct DebugEndpoints: Sendable {
    let faults: FaultInjection
    let readiness: Readiness
    /// The most ballast one request may ask for.
    public static let maxBallastBytes = 16 * 1024 * 1024 * 1024

    struct FaultBody: Decodable { var error_rate: Double }
    struct ReadyBody: Decodable { var ready: Bool }
    struct BallastBody: Decodable { var bytes: Int }

    public func fault(_ request: Request) throws(HTTPError) -> Response {
        let body: FaultBody = try decode(request, example: #"{"error_rate": 0.5}"#)
        guard (0...1).contains(body.error_rate) else {
            throw HTTPError(.badRequest, "error_rate \(body.error_rate) out of range: expected a number in 0...1")
        }
        faults.setErrorRate(body.error_rate)
        return .noContent
    }

    public func ready(_ request: Request) throws(HTTPError) -> Response {
        let body: ReadyBody = try decode(request, example: #"{"ready": false}"#)
        readiness.update { $0.forcedNotReady = !body.ready }
        return .noContent
    }

    public func ballast(_ request: Request) throws(HTTPError) -> Response {
        let body: BallastBody = try decode(request, example: #"{"bytes": 104857600}"#)
        guard (0...Self.maxBallastBytes).contains(body.bytes) else {
            throw HTTPError(.badRequest, "bytes \(body.bytes) out of range: expected an integer in 0...\(Self.maxBallastBytes)")
        }
        faults.setBallast(bytes: body.bytes)
        return .noContent
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
