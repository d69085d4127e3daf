/// `/health` (liveness: the process serves) and `/ready` (readiness: loaded and not draining).
public struct HealthEndpoints: Sendable {
    let readiness: Readiness

    /// Made once: probes ask often, and the answer never changes.
    private static let alive = Response.json(.ok, Array(#"{"status":"ok"}"#.utf8))

    public func health(_ request: Request) -> Response {
        Self.alive
    }

    /// 200 `{"ready":true}`, or 503 `{"error":"not ready: …","status":503,"reason":"…"}`.
    public func ready(_ request: Request) -> Response {
        var json = JSONWriter()
        json.beginObject()
        if let reason = readiness.current.notReadyReason {
            json.key("error"); json.string("not ready: " + reason)
            json.key("status"); json.integer(503)
            json.key("reason"); json.string(reason)
            json.endObject()
            return Response.json(.serviceUnavailable, json.bytes)
        }
        json.key("ready"); json.bool(true)
        json.endObject()
        return Response.json(.ok, json.bytes)
    }

    /// The service listener's `/ready`: 200 `{"ready":true}`, or 503 `{"ready":false,"reason":"loading"}`
    /// with a short code only, since the public can ask (the full reason may name files and errors).
    public func publicReady(_ request: Request) -> Response {
        guard let code = readiness.current.notReadyCode else { return Self.isReady }
        var json = JSONWriter()
        json.beginObject()
        json.key("ready"); json.bool(false)
        json.key("reason"); json.string(code)
        json.endObject()
        return Response.json(.serviceUnavailable, json.bytes)
    }

    private static let isReady = Response.json(.ok, Array(#"{"ready":true}"#.utf8))
}
