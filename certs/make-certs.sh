#!/usr/bin/env bash
# Makes the development / test keys and certificates in this directory. They serve tests
# and local sandboxes only: the private keys are public, in this repository.
#
#   ./make-certs.sh          (re)creates every file
#
# Needs OpenSSL 3. Files:
#   dev-ca.pem / dev-ca.key          the dev CA every fake vendor's TLS certificate chains to
#   sim.pem / sim.key                the simulator's TLS server certificate (localhost,
#                                    127.0.0.1, ::1 and the real vendor host names)
#   apns-authkey.p8                  an APNs token-auth key (ES256), key id ABC123DEFG, team TEAM123456
#   apns-cert.p12 (password: pushgate-test)
#                                    an APNs client certificate for topic com.example.chat
#                                    (+ .voip and .complication), with its key; AES/PBKDF2 as
#                                    OpenSSL 3 writes it
#   apns-cert-legacy.p12 (password: pushgate-test)
#                                    the same identity as Keychain Access exports it (3DES, SHA-1 MAC)
#   apns-cert.pem / apns-cert.key    the same certificate and key as PEM
#   apns-cert-expired.p12 (password: pushgate-test)
#                                    the same kind of certificate, already expired
#   fcm-service-account.json         an FCM service account (project pushgate-test); its
#                                    token_uri points at the simulator's default address
set -euo pipefail
cd "$(dirname "$0")"
DAYS=3650
P12_PASSWORD=pushgate-test

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Dev CA.
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/ca.key"
openssl pkcs8 -topk8 -nocrypt -in "$tmp/ca.key" -out dev-ca.key
openssl req -x509 -new -key dev-ca.key -sha256 -days $DAYS -out dev-ca.pem \
  -subj "/O=pushgate development/CN=pushgate dev CA (tests only)" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"

# The simulator's TLS server certificate.
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/sim.key"
openssl pkcs8 -topk8 -nocrypt -in "$tmp/sim.key" -out sim.key
cat > "$tmp/sim.ext" <<'EXT'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1,DNS:api.push.apple.com,DNS:api.sandbox.push.apple.com,DNS:api.development.push.apple.com,DNS:fcm.googleapis.com,DNS:oauth2.googleapis.com
EXT
openssl req -new -key sim.key -subj "/O=pushgate development/CN=push-sim" -out "$tmp/sim.csr"
openssl x509 -req -in "$tmp/sim.csr" -CA dev-ca.pem -CAkey dev-ca.key -CAcreateserial \
  -CAserial "$tmp/ca.srl" -days $DAYS -sha256 -extfile "$tmp/sim.ext" -out sim.pem

# APNs token-auth key (.p8 is a PKCS#8 PEM of a P-256 key).
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/p8.key"
openssl pkcs8 -topk8 -nocrypt -in "$tmp/p8.key" -out apns-authkey.p8

# APNs client certificate with Apple's topic extension (1.2.840.113635.100.6.3.6):
# a sequence of (topic, sequence of kinds) pairs, as Apple issues them.
apns_cert() { # out-name, openssl date options...
  local out=$1; shift
  cat > "$tmp/apns.cnf" <<'CNF'
[ext]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
1.2.840.113635.100.6.3.6=ASN1:SEQUENCE:topics
[topics]
t1=UTF8:com.example.chat
k1=SEQUENCE:kind_app
t2=UTF8:com.example.chat.voip
k2=SEQUENCE:kind_voip
t3=UTF8:com.example.chat.complication
k3=SEQUENCE:kind_complication
[kind_app]
k=UTF8:app
[kind_voip]
k=UTF8:voip
[kind_complication]
k=UTF8:complication
CNF
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/$out.key" 2>/dev/null
  openssl req -new -key "$tmp/$out.key" -out "$tmp/$out.csr" \
    -subj "/UID=com.example.chat/CN=Apple Push Services: com.example.chat/OU=TEAM123456/O=Example Chat Inc./C=US"
  # `openssl ca` (not `x509 -req`) because only it takes explicit start and end dates.
  mkdir -p "$tmp/ca-db" && : > "$tmp/ca-db/index.txt"
  [ -f "$tmp/ca-db/serial" ] || echo 1000 > "$tmp/ca-db/serial"
  cat >> "$tmp/apns.cnf" <<CNF
[ca]
default_ca=dev
[dev]
database=$tmp/ca-db/index.txt
serial=$tmp/ca-db/serial
new_certs_dir=$tmp/ca-db
default_md=sha256
policy=any
unique_subject=no
[any]
commonName=supplied
CNF
  openssl ca -batch -notext -config "$tmp/apns.cnf" -cert dev-ca.pem -keyfile dev-ca.key \
    -extensions ext -preserveDN -in "$tmp/$out.csr" -out "$tmp/$out.pem" "$@" 2>/dev/null
}
apns_cert apns-cert -days $DAYS
cp "$tmp/apns-cert.pem" apns-cert.pem
cp "$tmp/apns-cert.key" apns-cert.key
openssl pkcs12 -export -inkey apns-cert.key -in apns-cert.pem -name "Apple Push Services: com.example.chat" \
  -passout "pass:$P12_PASSWORD" -out apns-cert.p12
# The same identity in the legacy encoding (3DES + SHA-1 MAC) that Keychain Access exports.
openssl pkcs12 -export -inkey apns-cert.key -in apns-cert.pem -name "Apple Push Services: com.example.chat" \
  -certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -macalg sha1 \
  -passout "pass:$P12_PASSWORD" -out apns-cert-legacy.p12
# Expired: valid for one day, ten years ago.
apns_cert apns-cert-expired -startdate 20160101000000Z -enddate 20160102000000Z
openssl pkcs12 -export -inkey "$tmp/apns-cert-expired.key" -in "$tmp/apns-cert-expired.pem" \
  -passout "pass:$P12_PASSWORD" -out apns-cert-expired.p12

# FCM service account (RSA 2048, PKCS#8).
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/fcm.key" 2>/dev/null
python3 - "$tmp/fcm.key" > fcm-service-account.json <<'PY'
import json, sys
key = open(sys.argv[1]).read()
print(json.dumps({
    "type": "service_account",
    "project_id": "pushgate-test",
    "private_key_id": "0123456789abcdef0123456789abcdef01234567",
    "private_key": key,
    "client_email": "pushgate@pushgate-test.iam.gserviceaccount.com",
    "client_id": "100000000000000000001",
    "auth_uri": "https://accounts.google.com/o/oauth2/auth",
    "token_uri": "https://127.0.0.1:8443/token",
    "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
    "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/pushgate%40pushgate-test.iam.gserviceaccount.com",
    "universe_domain": "googleapis.com",
}, indent=2))
PY
chmod 644 ./*.key ./*.p8 ./*.p12 ./*.pem ./*.json
echo "made: $(ls | grep -v make-certs.sh | tr '\n' ' ')"
