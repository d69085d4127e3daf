#!/usr/bin/env bash
# Makes a local CA and a keyport certificate signed by it, for the compose TLS override and for trying
# HTTPS on a laptop (openssl only). Not for production: use cert-manager or your own CA there.
#   scripts/make-local-tls.sh [DIR]     (default deploy/tls; writes ca.crt, ca.key, tls.crt, tls.key)
# The certificate names keyport, localhost and 127.0.0.1 (compose's service name and the published
# port) and is valid for 30 days; run the script again to rotate it: keyport reloads the files itself.
set -euo pipefail
dir=${1:-deploy/tls}
mkdir -p "$dir"
cd "$dir"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
if [ ! -s ca.crt ] || [ ! -s ca.key ]; then
  openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.crt -subj "/CN=keyport local CA" -days 365 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
fi
openssl req "${ec[@]}" -keyout tls.key.new -out tls.csr -subj "/CN=keyport" 2>/dev/null
printf 'subjectAltName=DNS:keyport,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' > tls.ext
openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -extfile tls.ext -out tls.crt.new 2>/dev/null
# The container runs as UID 65532, not as you: the key must be readable by it (local use only).
chmod 0644 tls.key.new tls.crt.new ca.crt
chmod 0600 ca.key
# Key first, then certificate, each renamed into place: keyport waits for the pair to settle.
mv tls.key.new tls.key
mv tls.crt.new tls.crt
rm -f tls.csr tls.ext
echo "$dir: ca.crt tls.crt tls.key (serial $(openssl x509 -noout -serial -in tls.crt | cut -d= -f2))"
