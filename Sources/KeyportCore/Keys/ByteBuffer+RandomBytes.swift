import NIOCore

extension ByteBuffer {
    /// Appends `count` bytes from the kernel CSPRNG (`KeyEndpoint.fillRandom`), written in place.
    mutating func writeRandomBytes(count: Int) {
        writeWithUnsafeMutableBytes(minimumWritableBytes: count) { pointer in
            KeyEndpoint.fillRandom(UnsafeMutableRawBufferPointer(rebasing: pointer[..<count]))
            return count
        }
    }
}
