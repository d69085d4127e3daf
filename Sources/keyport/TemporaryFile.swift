import NIOCore
import SystemLibC

/// A file written beside its destination (same directory, so the final rename is atomic) and moved over it
/// only by `commit()`; `discard()` removes it. Nothing else ever writes the destination.
struct TemporaryFile {
    let path: String
    let destination: String
    private let descriptor: Int32

    /// Creates `.NAME.fetch-XXXXXX` in the destination's directory.
    init(beside destination: String) throws(PortsDownload.Failure) {
        let slash = destination.lastIndex(of: "/")
        let directory = slash.map { String(destination[...$0]) } ?? ""
        let name = slash.map { String(destination[destination.index(after: $0)...]) } ?? destination
        var template = Array((directory + "." + name + ".fetch-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw .file("cannot create a file in \(directory.isEmpty ? "." : directory): \(Self.errnoText())")
        }
        self.descriptor = fd
        self.path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        self.destination = destination
    }

    /// Appends all of `chunk`.
    func append(_ chunk: ByteBuffer) throws(PortsDownload.Failure) {
        var failure: String?
        chunk.withUnsafeReadableBytes { bytes in
            var done = 0
            while done < bytes.count {
                let n = write(descriptor, bytes.baseAddress! + done, bytes.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    failure = Self.errnoText()
                    return
                }
                done += n
            }
        }
        if let failure { throw .file("cannot write \(path): \(failure)") }
    }

    /// Flushes the file to disk, makes it readable like a file `cp` writes (0644) and renames it over the
    /// destination, then flushes the directory so the rename survives a crash.
    func commit() throws(PortsDownload.Failure) {
        guard fchmod(descriptor, 0o644) == 0, fsync(descriptor) == 0 else {
            let reason = Self.errnoText()
            discard()
            throw .file("cannot flush \(path): \(reason)")
        }
        closeDescriptor()
        guard rename(path, destination) == 0 else {
            let reason = Self.errnoText()
            unlink(path)
            throw .file("cannot rename \(path) to \(destination): \(reason)")
        }
        let slash = destination.lastIndex(of: "/")
        let directory = slash.map { String(destination[...$0]) } ?? "."
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            _ = close(directoryDescriptor)
        }
    }

    /// Closes and removes the file.
    func discard() {
        closeDescriptor()
        unlink(path)
    }

    private func closeDescriptor() { _ = close(descriptor) }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
