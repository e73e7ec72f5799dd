#!/usr/bin/env python3
"""Certificates as cert-manager makes them for the plugin's manifests (a
selfSigned Issuer, isCA false): barman-cloud-server-tls (CN and DNS name
barman-cloud, server auth) and barman-cloud-client-tls (CN
barman-cloud-client, client auth), each its own issuer, plus a "foreign"
client certificate of the same shape that the operator side must refuse.

  plugin_certs.py DIR [NAME...]    writes DIR/NAME.crt and DIR/NAME.key
                                   (default: server client foreign)
"""
import datetime
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def self_signed(cn, server):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    b = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(hours=2160))
         .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True,
                                      content_commitment=False, data_encipherment=False,
                                      key_agreement=False, key_cert_sign=False, crl_sign=False,
                                      encipher_only=False, decipher_only=False), critical=True)
         .add_extension(x509.ExtendedKeyUsage(
             [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]),
             critical=False)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
    if server:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
    return key, b.sign(key, hashes.SHA256())


def write(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)   # a rotation is one rename, as the kubelet swaps a Secret


def main():
    d = sys.argv[1]
    names = sys.argv[2:] or ["server", "client", "foreign"]
    os.makedirs(d, exist_ok=True)
    for n in names:
        server = n.startswith("server")
        key, cert = self_signed("barman-cloud" if server else "barman-cloud-client", server)
        write(os.path.join(d, n + ".key"), key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption()))
        write(os.path.join(d, n + ".crt"), cert.public_bytes(serialization.Encoding.PEM))


if __name__ == "__main__":
    main()
