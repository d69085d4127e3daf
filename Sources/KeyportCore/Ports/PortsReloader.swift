import CKeyportShims
import KeyportPorts
import Logging
import NIOPosix
import ServiceLifecycle
import Tracing
import UnixSignals

/// Loads the ports file at start, then again on SIGHUP or when the file changes (path, inode, size or
/// mtime, so a Kubernetes ConfigMap's symlink swap is seen). Parsing runs on the thread pool; a failed
/// load leaves the previous data serving.
public final class PortsReloader: Service, Sendable {
    let path: String
    let served: ServedSnapshot
    let readiness: Readiness
    let metrics: KeyportMetrics?
    let pollInterval: Duration
    let threadPool: NIOThreadPool
    let logger: Logger
    /// With tracing on, each load is a `ports.load` span and each SIGHUP or file-change reload a `ports.reload` span.
    let tracer: (any Tracer)?

    public init(
        path: String, served: ServedSnapshot, readiness: Readiness, metrics: KeyportMetrics?, pollInterval: Duration,
        threadPool: NIOThreadPool, logger: Logger, tracer: (any Tracer)? = nil
    ) {
        self.path = path
        self.served = served
        self.readiness = readiness
        self.metrics = metrics
        self.pollInterval = pollInterval
        self.threadPool = threadPool
        self.logger = logger
        self.tracer = tracer
    }

    public func run() async throws {
        let (triggers, trigger) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(1))
        let initialIdentity = FileIdentity.of(path)
        await load(reason: "start")
        do {
            try await watch(triggers: triggers, trigger: trigger, initialIdentity: initialIdentity)
        } catch is CancellationError {
            // Graceful shutdown cancels the watchers; that is a normal end.
        }
    }

    private func watch(
        triggers: AsyncStream<String>, trigger: AsyncStream<String>.Continuation, initialIdentity: FileIdentity?
    ) async throws {
        try await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in await UnixSignalsSequence(trapping: .sighup) {
                        trigger.yield("SIGHUP")
                    }
                }
                group.addTask { [path = self.path, pollInterval = self.pollInterval] in
                    try await FileIdentity.watch([path], every: pollInterval, since: [initialIdentity]) {
                        trigger.yield("file changed")
                    }
                }
                group.addTask {
                    for await reason in triggers {
                        await self.load(reason: reason)
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        }
    }

    /// Loads the file once and swaps the result in, or records why it failed.
    public func load(reason: String) async {
        guard let tracer else { return await load(reason: reason, span: nil) }
        await load(reason: reason, tracer: tracer)
    }

    /// Generic so `withSpan` sees the concrete tracer (its closure takes the tracer's own span type).
    private func load<T: Tracer>(reason: String, tracer: T) async {
        // A root span: a reload is not part of any request. Log lines inside it carry its trace id.
        await tracer.withSpan(reason == "start" ? "ports.load" : "ports.reload", context: .topLevel, ofKind: .internal) { span in
            span.attributes["keyport.ports.trigger"] = reason
            span.attributes["keyport.ports.path"] = self.path
            await self.load(reason: reason, span: span)
        }
    }

    private func load(reason: String, span: (any Span)?) async {
        logger.info("loading ports file", metadata: ["path": "\(path)", "reason": "\(reason)"])
        let start = ContinuousClock.now
        let path = self.path
        let result: Result<PortsSnapshot, PortsLoadError>
        do {
            result = try await threadPool.runIfActive {
                do throws(PortsLoadError) {
                    return Result<PortsSnapshot, PortsLoadError>.success(try PortsFileLoader.load(path: path))
                } catch {
                    return .failure(error)
                }
            }
        } catch {
            logger.error("ports load not run", metadata: ["error": "\(error)"])
            span?.recordError(error)
            span?.setStatus(SpanStatus(code: .error, message: "ports load not run"))
            return
        }
        let elapsed = start.duration(to: .now)
        metrics?.portsLoadDuration.set(to: elapsed.seconds)
        switch result {
        case .success(let snapshot):
            served.replace(with: snapshot)
            span?.attributes["keyport.ports.records"] = snapshot.count
            span?.attributes["keyport.ports.bytes"] = snapshot.statistics.bytesRead
            metrics?.portsLoadSuccesses.increment()
            metrics?.portsLastSuccess.set(to: WallClock.now().secondsSinceEpoch)
            readiness.update {
                $0.portsLoaded = true
                $0.portsProblem = nil
            }
            logger.notice(
                "ports file loaded",
                metadata: ["path": "\(path)", "records": "\(snapshot.count)", "seconds": "\(elapsed.seconds)"])
        case .failure(let error):
            metrics?.portsLoadFailures.increment()
            if let span { Self.record(error, on: span) }
            let serving = readiness.current.portsLoaded
            readiness.update { state in
                if !state.portsLoaded { state.portsProblem = "ports file failed to load: \(error)" }
            }
            logger.error(
                serving ? "ports file reload failed; still serving the previous data" : "ports file failed to load; not ready",
                metadata: ["path": "\(path)", "error": "\(error)"])
        }
        await releaseFreedMemory()
    }

    /// The error's kind and position as attributes, the message as the span status: where to look in the file.
    private static func record(_ error: PortsLoadError, on span: any Span) {
        span.attributes["error.type"] = error.kind.rawValue
        span.attributes["keyport.ports.error.kind"] = error.kind.rawValue
        if let offset = error.offset { span.attributes["keyport.ports.error.offset"] = offset }
        if let line = error.line { span.attributes["keyport.ports.error.line"] = line }
        if let column = error.column { span.attributes["keyport.ports.error.column"] = column }
        span.recordError(error)
        span.setStatus(SpanStatus(code: .error, message: error.description))
    }

    /// Hands the replaced snapshot's and the parser's freed pages back to the OS. Without it glibc keeps
    /// them in whichever thread's arena freed them, and RSS crept up by a snapshot's size every few reloads.
    private func releaseFreedMemory() async {
        _ = try? await threadPool.runIfActive { keyport_malloc_trim(0) }
    }
}
