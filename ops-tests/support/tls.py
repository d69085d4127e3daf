"""Certificates for the TLS tests: a throwaway CA made with openssl that issues server and client
certificates (test_tls.py, and the HTTPS download server of test_ports_fetch.py)."""
from __future__ import annotations

import pathlib
import subprocess


EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]


def openssl(*args: str, cwd: pathlib.Path) -> str:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"openssl {' '.join(args)}: {result.stderr}"
    return result.stdout


class CA:
    """A CA (`<name>.crt`/`.key`) in `directory` that signs leaf and client certificates."""

    def __init__(self, directory: pathlib.Path, name: str) -> None:
        self.directory, self.name = directory, name
        openssl("req", "-x509", *EC, "-keyout", f"{name}.key", "-out", f"{name}.crt", "-subj", f"/CN={name}",
                "-days", "2", cwd=directory)
        self.cert = directory / f"{name}.crt"

    def issue(self, name: str, *, days: int = 2, client: bool = False, key: str | None = None) -> tuple[pathlib.Path, pathlib.Path]:
        """`<name>.crt` and its key (a new one, or `key`'s); `days=-1` makes one that expired yesterday."""
        d = self.directory
        key_file = key or f"{name}.key"
        if key is None:
            openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key_file, cwd=d)
        openssl("req", "-new", "-key", key_file, "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
        extensions = "extendedKeyUsage=clientAuth\n" if client else "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        (d / f"{name}.ext").write_text(extensions)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{self.name}.crt", "-CAkey", f"{self.name}.key",
                "-CAcreateserial", "-days", str(days), "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=d)
        return d / f"{name}.crt", d / key_file
