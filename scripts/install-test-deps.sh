#!/usr/bin/env bash
# Installs the Debian packages the tests drive (as users do): netcat-openbsd for `nc`,
# dovecot-imapd for a real IMAP server (a private instance per test run, never the system one),
# openssl for the TLS certificates of the IMAP and SMTP tests, systemd for `systemd-analyze verify`
# of the units in config/systemd/, prometheus for promtool (the alert rules and the dashboard's
# queries) and a private Prometheus server that scrapes serve, tinyproxy for a real HTTP proxy in
# front of the stand-in TheHive (thehive.proxy). Each test starts its own instance on a loopback
# port; the system services these packages install are never used.
# Does nothing when they are already there; needs root (or sudo) otherwise.
set -euo pipefail
need=()
command -v nc >/dev/null 2>&1 || need+=(netcat-openbsd)
# /usr/sbin is not on an ordinary user's PATH on Debian.
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ -x /usr/bin/systemd-analyze ] || need+=(systemd)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v tinyproxy >/dev/null 2>&1 || [ -x /usr/sbin/tinyproxy ] || need+=(tinyproxy)
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing test packages: ${need[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
