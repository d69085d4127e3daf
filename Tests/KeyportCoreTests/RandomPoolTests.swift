@testable import KeyportCore
import Testing

/// Small keys come from a per-thread block of getrandom(2) bytes: every byte is handed out once.
@Suite struct RandomPoolTests {
    @Test func keysStayDistinctAcrossManyPoolRefills() {
        // 32-byte keys: a 4 KiB block serves 128 of them, so 2,000 keys cross 15 refills.
        var seen = Set<[UInt8]>()
        for _ in 0..<2_000 {
            var key = [UInt8](repeating: 0, count: 32)
            key.withUnsafeMutableBytes { KeyEndpoint.fillRandom($0) }
            seen.insert(key)
        }
        #expect(seen.count == 2_000)
    }

    @Test(arguments: [1, 7, 255, 256, 257, 4096, 70_000])
    func everyLengthIsFilledWholly(length: Int) {
        // Prefilled with a constant: a byte left unfilled would show as a run of it at the end.
        var key = [UInt8](repeating: 0xA5, count: length + 8)
        key.withUnsafeMutableBytes { KeyEndpoint.fillRandom(UnsafeMutableRawBufferPointer(rebasing: $0[..<length])) }
        #expect(key.suffix(8).allSatisfy { $0 == 0xA5 })
        if length >= 64 {
            #expect(key[length - 32..<length].contains { $0 != 0xA5 })
            #expect(Set(key[..<length]).count > 16)
        }
    }
}
