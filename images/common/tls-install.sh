#!/bin/sh
# hyperscaler-tls-install DIR OWNER < bundle
# Installs a TLS bundle delivered by `docker exec` (PEM: a certificate, its key, then the
# CAs to trust): DIR/server.pem (the certificate and its key in one file, so a server never
# reads a new certificate with an old key) and DIR/ca.pem. Both are checked first (the key
# is the certificate's, the certificate chains to a CA of the bundle), so a bad bundle fails
# the update and the files in use stay. Then each is renamed into place: servers read them
# per connection, so nothing restarts. A bundle of CAs alone (no key) replaces DIR/ca.pem
# only: how a CA rotation has everyone trust the new CA before anyone presents it. Where the
# node exporter's textfile collector is, each certificate's expiry becomes a metric (the
# certificate-expiry alert's).
set -eu
dir=$1 owner=$2
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/bundle.pem"
# With a key: the first certificate is the server's, every later one a CA; without, all are CAs.
grep -q -- "-----BEGIN .*PRIVATE KEY-----" "$tmp/bundle.pem" && first=1 || first=0
awk -v d="$tmp" -v first="$first" '
  /^-----BEGIN CERTIFICATE-----/ { certs++; out = certs <= first ? d "/server.pem" : sprintf("%s/ca-%03d.pem", d, certs - first) }
  /^-----BEGIN .*PRIVATE KEY-----/ { out = d "/server.pem" }
  out != "" { print > out }' "$tmp/bundle.pem"
set -- "$tmp"/ca-*.pem
[ -e "$1" ] || { echo "hyperscaler-tls-install: the bundle needs a CA (after a certificate and its key)" >&2; exit 65; }
cat "$@" >"$tmp/ca.pem"
for ca in "$@"; do
  openssl x509 -noout -in "$ca" -ext basicConstraints 2>/dev/null | grep -q "CA:TRUE" ||
    { echo "hyperscaler-tls-install: $(openssl x509 -noout -subject -in "$ca") is not a CA" >&2; exit 65; }
done
if [ "$first" = 0 ]; then
  chown "$owner" "$tmp/ca.pem"; chmod 0444 "$tmp/ca.pem"
  mv -f "$tmp/ca.pem" "$dir/ca.pem"
  exit 0
fi
if [ "$(openssl x509 -noout -pubkey -in "$tmp/server.pem")" != "$(openssl pkey -pubout -in "$tmp/server.pem")" ]; then
  echo "hyperscaler-tls-install: the key is not the certificate's" >&2; exit 65
fi
openssl verify -CAfile "$tmp/ca.pem" "$tmp/server.pem" >/dev/null
chown "$owner" "$tmp/server.pem" "$tmp/ca.pem"
chmod 0400 "$tmp/server.pem"
chmod 0444 "$tmp/ca.pem"
# The CAs first: a client certificate from a new CA is accepted before this server presents one.
mv -f "$tmp/ca.pem" "$dir/ca.pem"
mv -f "$tmp/server.pem" "$dir/server.pem"
if command -v hyperscaler-textfile >/dev/null; then
  expiry() {
    subject=$(openssl x509 -noout -subject -nameopt RFC2253 -in "$2" | sed 's/^subject=//; s/[\\"]/\\&/g')
    printf 'hyperscaler_tls_certificate_expiry_timestamp_seconds{certificate="%s",subject="%s"} %s\n' \
      "$1" "$subject" "$(date -d "$(openssl x509 -noout -enddate -in "$2" | cut -d= -f2)" +%s)"
  }
  {
    echo "# HELP hyperscaler_tls_certificate_expiry_timestamp_seconds When a certificate this host serves or trusts expires."
    echo "# TYPE hyperscaler_tls_certificate_expiry_timestamp_seconds gauge"
    expiry server "$dir/server.pem"
    for ca in "$@"; do expiry ca "$ca"; done
  } | hyperscaler-textfile tls
fi
