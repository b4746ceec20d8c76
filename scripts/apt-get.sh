#!/bin/sh
# apt-get.sh runs apt-get with its arguments, waiting up to five minutes for
# a lock another apt-get holds instead of failing at once (as on a machine
# shared with other work). DPkg::Lock::Timeout makes install wait for dpkg's
# lock; the lists lock of apt-get update it does not cover (apt 2.6 fails at
# once), so a failure to get a lock is tried again every 5 s.
set -u
deadline=$(($(date +%s) + 300))
said=
while :; do
	if out=$(apt-get -o DPkg::Lock::Timeout=300 "$@" 2>&1); then
		[ -z "$out" ] || printf '%s\n' "$out"
		exit 0
	else
		rc=$?
	fi
	case $out in
	*"Could not get lock"* | *"Unable to lock"* | *"Unable to acquire the dpkg frontend lock"*) ;;
	*)
		printf '%s\n' "$out" >&2
		exit "$rc"
		;;
	esac
	if [ "$(date +%s)" -ge "$deadline" ]; then
		printf '%s\n' "$out" >&2
		echo "apt-get $*: another apt-get held the lock for five minutes; run it again once that one is done" >&2
		exit "$rc"
	fi
	if [ -z "$said" ]; then
		echo "apt-get $*: another apt-get holds the lock; waiting for it (up to five minutes)" >&2
		said=1
	fi
	sleep 5
done
