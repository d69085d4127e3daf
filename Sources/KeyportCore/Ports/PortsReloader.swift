import CKeyportShims
import KeyportPorts
import Logging
import NIOPosix
import ServiceLifecycle
import Tracing
import UnixSignals

/// Loads the ports file at start, then again on SIGHUP or when the file changes (path, inode, size or
/// mtime, so a Kubernetes ConfigMap's symlink swap is seen) and has then stayed the same for `settleTime`, so a
/// file caught mid-write is not loaded. Parsing runs on the thread pool; a failed load leaves the previous
/// data serving, and one that fails because the file changed under it is retried at the next poll, uncounted.
public final class PortsReloader: Service, Sendable {
    let path: String
    let served: ServedSnapshot
    let readiness: Readiness
    let metrics: KeyportMetrics?
    let pollInterval: Duration
    let settleTime: Duration
    let threadPool: NIOThreadPool
    let logger: Logger
    /// With tracing on, each load is a `ports.load` span and each SIGHUP or file-change reload a `ports.reload` span.
    let tracer: (any Tracer)?
    /// The memory limit a load must stay under (the cgroup's); `nil` when unlimited.
    let memoryLimit: @Sendable () -> Int?

    public init(
        path: String, served: ServedSnapshot, readiness: Readiness, metrics: KeyportMetrics?, pollInterval: Duration,
        settleTime: Duration = .zero, threadPool: NIOThreadPool, logger: Logger, tracer: (any Tracer)? = nil,
        memoryLimit: @escaping @Sendable () -> Int? = { CgroupMemoryLimit.read() }
    ) {
        self.path = path
        self.served = served
        self.readiness = readiness
        self.metrics = metrics
        self.pollInterval = pollInterval
        self.settleTime = settleTime
        self.threadPool = threadPool
        self.logger = logger
        self.tracer = tracer
        self.memoryLimit = memoryLimit
    }

    enum Trigger: Sendable { case poll, signal }

    public func run() async throws {
        let (triggers, trigger) = AsyncStream.makeStream(of: Trigger.self)
        let initialIdentity = FileIdentity.of(path)
        await load(reason: "start", identity: initialIdentity)
        do {
            try await watch(triggers: triggers, trigger: trigger, loaded: initialIdentity)
        } catch is CancellationError {
            // Graceful shutdown cancels the watchers; that is a normal end.
        }
    }

    /// One loop handles polls and SIGHUPs in turn, so loads never overlap and each poll compares the file
    /// with the version last loaded (or tried).
    private func watch(
        triggers: AsyncStream<Trigger>, trigger: AsyncStream<Trigger>.Continuation, loaded: FileIdentity?
    ) async throws {
        try await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in await UnixSignalsSequence(trapping: .sighup) {
                        trigger.yield(.signal)
                    }
                }
                group.addTask { [pollInterval = self.pollInterval] in
                    while true {
                        try await Task.sleep(for: pollInterval)
                        trigger.yield(.poll)
                    }
                }
                group.addTask { [path = self.path, settleTime = self.settleTime] in
                    var loaded = loaded
                    for await event in triggers {
                        if event == .poll && FileIdentity.of(path) == loaded { continue }
                        let settled = await FileIdentity.settle([path], quietFor: settleTime)[0]
                        try Task.checkCancellation()
                        await self.load(reason: event == .signal ? "SIGHUP" : "file changed", identity: settled)
                        loaded = settled
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        }
    }

    /// Loads the file once and swaps the result in, or records why it failed.
    public func load(reason: String) async {
        await load(reason: reason, identity: FileIdentity.of(path))
    }

    /// `identity` is how the file looked when the load was decided: a load that fails while the file no
    /// longer looks like that was caught mid-write.
    func load(reason: String, identity: FileIdentity?) async {
        guard let tracer else { return await load(reason: reason, identity: identity, span: nil) }
        await load(reason: reason, identity: identity, tracer: tracer)
    }

    /// Generic so `withSpan` sees the concrete tracer (its closure takes the tracer's own span type).
    private func load<T: Tracer>(reason: String, identity: FileIdentity?, tracer: T) async {
        // A root span: a reload is not part of any request. Log lines inside it carry its trace id.
        await tracer.withSpan(reason == "start" ? "ports.load" : "ports.reload", context: .topLevel, ofKind: .internal) { span in
            span.attributes["keyport.ports.trigger"] = reason
            span.attributes["keyport.ports.path"] = self.path
            await self.load(reason: reason, identity: identity, span: span)
        }
    }

    private func load(reason: String, identity: FileIdentity?, span: (any Span)?) async {
        logger.info("loading ports file", metadata: ["path": "\(path)", "reason": "\(reason)"])
        let start = ContinuousClock.now
        let path = self.path
        let logger = self.logger
        let memoryLimit = self.memoryLimit()
        let result: Result<PortsSnapshot, PortsLoadError>
        do {
            result = try await threadPool.runIfActive {
                let observer = Self.observer(path: path, memoryLimit: memoryLimit, start: start, logger: logger)
                do throws(PortsLoadError) {
                    return Result<PortsSnapshot, PortsLoadError>.success(try PortsFileLoader.load(path: path, observer: observer))
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
        case .failure(let error) where FileIdentity.of(path) != identity:
            // Caught mid-write (an in-place copy): the next poll sees the change and loads the finished file.
            logger.debug(
                "ports file changed while it was loaded; loading it again once it settles",
                metadata: ["path": "\(path)", "error": "\(error)"])
            span?.attributes["keyport.ports.retried"] = true
            readiness.update { state in
                if !state.portsLoaded { state.portsProblem = "ports file is changing; waiting for it to settle" }
            }
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

    /// Checks memory against the limit and logs progress every `PortsLoadProgressText.logInterval`, so a long
    /// load is never silent. Runs on the load's thread.
    private static func observer(
        path: String, memoryLimit: Int?, start: ContinuousClock.Instant, logger: Logger
    ) -> PortsLoadObserver {
        let memoryGuard = PortsMemoryGuard(limit: memoryLimit, resident: { ProcessSample.read()?.residentBytes })
        let totalBytes = FileIdentity.of(path).map { Int($0.size) }
        var nextLog = start + PortsLoadProgressText.logInterval
        return { (progress: PortsLoadProgress) throws(PortsLoadError) in
            try memoryGuard?.check(progress, source: path)
            let now = ContinuousClock.now
            guard now >= nextLog, !progress.parsed else { return }
            nextLog = now + PortsLoadProgressText.logInterval
            logger.info(
                "loading ports file: \(PortsLoadProgressText.line(progress, elapsed: start.duration(to: now), totalInputBytes: totalBytes))",
                metadata: ["path": "\(path)"])
        }
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
