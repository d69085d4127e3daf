/// Eight-bytes-at-a-time scans ("SIMD within a register") for the two loops that see most of the input:
/// string contents and the indentation between tokens.
enum SWAR {
    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let highs: UInt64 = 0x8080_8080_8080_8080
    static let lows: UInt64 = 0x7F7F_7F7F_7F7F_7F7F

    /// High bit set in each byte of `x` that is not zero (exact, no false positives).
    @inline(__always)
    static func nonZeroBytes(_ x: UInt64) -> UInt64 {
        (((x & lows) &+ lows) | x) & highs
    }

    /// Index of the first byte in `p[from..<to]` that ends a plain string run: `"`, `\`, a control character or
    /// a non-ASCII byte; `to` if none.
    @inline(__always)
    static func firstStringStop(_ p: UnsafePointer<UInt8>, from: Int, to end: Int) -> Int {
        var i = from
        #if _endian(little)
        while i + 8 <= end {
            let x = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
            // A lane is plain when it is not '"', not '\\', >= 0x20 and < 0x80; all four tests are exact per lane.
            let notQuote = nonZeroBytes(x ^ (ones &* 0x22))
            let notBackslash = nonZeroBytes(x ^ (ones &* 0x5C))
            let notControl = ((x & lows) &+ (ones &* 0x60)) | x
            let hits = ~(notQuote & notBackslash & notControl & ~x) & highs
            if hits != 0 { return i + hits.trailingZeroBitCount >> 3 }
            i += 8
        }
        #endif
        while i < end {
            let c = p[i]
            if c == 0x22 || c == 0x5C || (c &- 0x20) >= 0x60 { return i }
            i += 1
        }
        return end
    }

    /// Index of the first byte in `p[from..<to]` that is not a space or a line feed; `to` if none.
    @inline(__always)
    static func firstNonBlank(_ p: UnsafePointer<UInt8>, from: Int, to end: Int) -> Int {
        var i = from
        #if _endian(little)
        while i + 8 <= end {
            let x = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
            let other = nonZeroBytes(x ^ (ones &* 0x20)) & nonZeroBytes(x ^ (ones &* 0x0A))
            if other != 0 { return i + other.trailingZeroBitCount >> 3 }
            i += 8
        }
        #endif
        while i < end && (p[i] == 0x20 || p[i] == 0x0A) { i += 1 }
        return i
    }
}
