"""Certificates for Mosquitto's TLS listener, made with openssl: a private CA and a server certificate.

The CA is made once and kept (every device and edge trusts it); the server certificate is issued again on
every run, for the host names and addresses given, so adding a name is one command.
"""

import ipaddress
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CA_DAYS = 3650
# Apple and browsers refuse server certificates valid for more than 825 days; MQTT clients follow suit.
SERVER_DAYS = 825
EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]  # P-256: small, fast, read by every client


class CertError(RuntimeError):
    """openssl is missing or failed; the message says what it printed."""


def openssl() -> str:
    """Path of the openssl binary; CertError when there is none."""
    found = shutil.which("openssl")
    if found is None:
        raise CertError("openssl is not installed (Debian: apt-get install openssl)")
    return found


def _run(args: list[str]) -> None:
    """Run openssl; CertError with its message when it fails."""
    done = subprocess.run([openssl(), *args], capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise CertError(f"openssl {args[0]} failed: {done.stderr.strip() or done.stdout.strip()}")


def subject_alt_names(hosts: list[str], ips: list[str]) -> str:
    """`DNS:broker,IP:10.0.0.5`; ValueError on an address that is not one."""
    for ip in ips:
        ipaddress.ip_address(ip)
    return ",".join([f"DNS:{h}" for h in hosts] + [f"IP:{ip}" for ip in ips])


def make_ca(out: Path, name: str) -> bool:
    """A CA key and self-signed certificate, unless there is one already; whether one was made."""
    if (out / "ca.crt").exists() and (out / "ca.key").exists():
        return False
    _run(["req", "-x509", "-new", *EC_KEY, "-nodes", "-keyout", str(out / "ca.key"), "-out", str(out / "ca.crt"),
          "-days", str(CA_DAYS), "-subj", f"/CN={name}",
          "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    os.chmod(out / "ca.key", 0o600)
    return True


def make_server(out: Path, hosts: list[str], ips: list[str]) -> None:
    """A server key and certificate signed by the CA, naming every host and address clients connect to."""
    names = subject_alt_names(hosts, ips)
    with tempfile.TemporaryDirectory(prefix="carewatch-certs-") as tmp:
        csr, ext = Path(tmp) / "server.csr", Path(tmp) / "server.ext"
        ext.write_text(f"subjectAltName={names}\nbasicConstraints=CA:FALSE\n"
                       "keyUsage=critical,digitalSignature,keyAgreement\nextendedKeyUsage=serverAuth\n")
        _run(["req", "-new", *EC_KEY, "-nodes", "-keyout", str(out / "server.key"), "-out", str(csr),
              "-subj", f"/CN={(hosts or ips)[0]}"])
        _run(["x509", "-req", "-in", str(csr), "-CA", str(out / "ca.crt"), "-CAkey", str(out / "ca.key"),
              "-CAcreateserial", "-out", str(out / "server.crt"), "-days", str(SERVER_DAYS), "-sha256",
              "-extfile", str(ext)])
    # The broker must read its key; when it runs as another user (Debian's mosquitto, Docker) give it the file.
    os.chmod(out / "server.key", 0o600)


def make_certs(out: Path, *, hosts: list[str], ips: list[str], ca_name: str = "carewatch MQTT CA") -> bool:
    """CA (kept if present) and a fresh server certificate in `out`; whether the CA is new."""
    if not hosts and not ips:
        raise ValueError("give at least one host name or IP address clients use to reach the broker")
    subject_alt_names(hosts, ips)  # a bad address fails before anything is written
    out.mkdir(parents=True, exist_ok=True)
    made = make_ca(out, ca_name)
    make_server(out, hosts, ips)
    return made
