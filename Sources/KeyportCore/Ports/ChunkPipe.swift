import Dispatch
import KeyportPorts
import NIOCore
import Synchronization

/// Hands a download's chunks from the task receiving them to the ports parser, which runs on a thread of its own
/// and blocks in `read(into:)` until the next chunk (the parser pulls its input). The writer waits while more
/// than `capacity` bytes are queued, so memory stays bounded whatever the speed of either side.
public final class ChunkPipe: Sendable {
    private struct State {
        var chunks = CircularBuffer<ByteBuffer>()
        var queuedBytes = 0
        /// The writer is done: `ended` at the end of the input, `failed` when it stopped early.
        var ended = false
        var failed = false
        /// The reader is done (the parse ended, well or not): further writes are refused.
        var readerClosed = false
        var readerWaiting = false
        var writer: CheckedContinuation<Void, Never>?
    }

    /// Queued bytes above which `write` waits for the reader.
    public let capacity: Int
    /// The download's URL, for the reader's error when the writer stopped early.
    public let sourceName: String
    private let state = Mutex(State())
    /// Signalled exactly once for each time the reader sets `readerWaiting`.
    private let readerWakeUp = DispatchSemaphore(value: 0)

    public init(sourceName: String, capacity: Int = 1 << 20) {
        self.sourceName = sourceName
        self.capacity = capacity
    }

    /// Queues `chunk` for the reader, then waits while the queue is over capacity. Returns false once the reader
    /// has closed (the parse is over): the writer should stop.
    public func write(_ chunk: ByteBuffer) async -> Bool {
        let wake = state.withLock { state -> Bool in
            guard !state.readerClosed, chunk.readableBytes > 0 else { return false }
            state.chunks.append(chunk)
            state.queuedBytes += chunk.readableBytes
            defer { state.readerWaiting = false }
            return state.readerWaiting
        }
        if wake { readerWakeUp.signal() }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waits = state.withLock { state -> Bool in
                guard state.queuedBytes > capacity, !state.readerClosed else { return false }
                state.writer = continuation
                return true
            }
            if !waits { continuation.resume() }
        }
        return !state.withLock { $0.readerClosed }
    }

    /// The input is complete: the reader gets the rest, then the end.
    public func finish() { end(failed: false) }

    /// The writer stopped early (the download failed): the reader's next read throws instead of ending cleanly.
    public func fail() { end(failed: true) }

    private func end(failed: Bool) {
        let wake = state.withLock { state -> Bool in
            state.ended = true
            state.failed = state.failed || failed
            defer { state.readerWaiting = false }
            return state.readerWaiting
        }
        if wake { readerWakeUp.signal() }
    }

    /// The reader is done (the parse ended): a waiting writer resumes and learns it should stop.
    public func closeReading() {
        let writer = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.readerClosed = true
            state.chunks.removeAll()
            state.queuedBytes = 0
            defer { state.writer = nil }
            return state.writer
        }
        writer?.resume()
    }

    /// Blocks until bytes are queued and copies as many as fit into `buffer`; 0 at the end of the input. Call it
    /// from a thread that may block (the parser's), never from an event loop or a task.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(PortsLoadError) -> Int {
        enum Outcome {
            case bytes(Int, CheckedContinuation<Void, Never>?)
            case end, failed, wait
        }
        while true {
            let outcome = state.withLock { state -> Outcome in
                if !state.chunks.isEmpty, buffer.count > 0 {
                    let first = state.chunks.startIndex
                    let count = min(buffer.count, state.chunks[first].readableBytes)
                    state.chunks[first].withUnsafeReadableBytes { bytes in
                        buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[..<count]))
                    }
                    state.chunks[first].moveReaderIndex(forwardBy: count)
                    if state.chunks[first].readableBytes == 0 { state.chunks.removeFirst() }
                    state.queuedBytes -= count
                    guard state.queuedBytes <= capacity, let writer = state.writer else { return .bytes(count, nil) }
                    state.writer = nil
                    return .bytes(count, writer)
                }
                if state.failed { return .failed }
                if state.ended || buffer.count == 0 { return .end }
                state.readerWaiting = true
                return .wait
            }
            switch outcome {
            case .bytes(let count, let writer):
                writer?.resume()
                return count
            case .end:
                return 0
            case .failed:
                throw PortsLoadError(kind: .io, source: sourceName, offset: nil, message: "the download stopped")
            case .wait:
                readerWakeUp.wait()
            }
        }
    }
}
