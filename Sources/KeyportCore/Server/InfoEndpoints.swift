import NIOCore
import NIOPosix

/// `/metrics`, `/version` and `/openapi.yaml`.
public struct InfoEndpoints: Sendable {
    let metrics: KeyportMetrics
    let threadPool: NIOThreadPool
    let buildInfo: BuildInfo
    let openAPIDocument: [UInt8]?

    /// Prometheus text format 0.0.4; sampling /proc runs on the thread pool, not the event loop.
    public func metrics(_ request: Request, _ context: RouteContext) -> Reply {
        let metrics = self.metrics
        let exposition = threadPool.runIfActive(eventLoop: context.eventLoop) { metrics.exposition() }
        return .later(exposition.map { bytes in
            Response(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: .bytes(bytes))
        })
    }

    public func version(_ request: Request) -> Response {
        var json = JSONWriter()
        json.beginObject()
        json.key("version"); json.string(buildInfo.version)
        json.key("revision"); json.string(buildInfo.revision)
        json.key("swift_version"); json.string(BuildInfo.swiftVersion)
        json.endObject()
        return .json(.ok, json.bytes)
    }

    public func openAPI(_ request: Request) throws(HTTPError) -> Response {
        guard let document = openAPIDocument else {
            throw HTTPError(.notFound, "the OpenAPI description is not installed with this build")
        }
        return Response(status: .ok, contentType: "application/yaml", body: .bytes(document))
    }
}
