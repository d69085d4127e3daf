// The C library of the platform being built for, imported in this one place: Glibc on Debian and the
// other glibc Linux distributions, Musl for the static Linux SDK, Darwin on macOS. Every other file
// writes `import SystemLibC`, and a call that a method of the same name would shadow is qualified as
// `SystemLibC.read(...)`, which resolves through these re-exports on every platform.
#if canImport(Glibc)
@_exported import Glibc
#elseif canImport(Musl)
@_exported import Musl
#elseif canImport(Darwin)
@_exported import Darwin
#else
#error("SystemLibC: no C library module (Glibc, Musl or Darwin) for this platform")
#endif
