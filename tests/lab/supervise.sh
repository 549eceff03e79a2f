#!/usr/bin/env bash
# supervise.sh RESTART_SEC CMD [ARGS...]: runs CMD and restarts it after RESTART_SEC
# seconds when it fails, as a systemd unit with Restart=on-failure and RestartSec= does:
# a non-zero exit or death by a signal other than SIGHUP, SIGINT, SIGTERM or SIGPIPE is
# a failure; a clean exit or one of those signals ends the supervisor too. More than 5
# starts within 10 s (StartLimitBurst=5, StartLimitIntervalSec=10s) and it gives up.
# SIGTERM/SIGINT to the supervisor stop the child and the supervisor; SIGHUP is passed
# on to the child (a reload, as ExecReload=kill -HUP $MAINPID), unless SIGHUP was ignored
# when the supervisor started (nohup): bash cannot trap it then.
restart_sec=$1; shift
child=""
stopping=""
trap 'stopping=1; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null' TERM INT
trap '[ -n "$child" ] && kill -HUP "$child" 2>/dev/null' HUP
starts=()
while :; do
	now=$(date +%s)
	recent=()
	for t in "${starts[@]}"; do [ $(( now - t )) -lt 10 ] && recent+=("$t"); done
	starts=("${recent[@]}" "$now")
	if [ "${#starts[@]}" -gt 5 ]; then
		echo "supervise: $1 started too often (5 times within 10 s); giving up" >&2
		exit 1
	fi
	"$@" &
	child=$!
	echo "supervise: started $1 (pid $child)" >&2
	# A trapped signal interrupts wait; wait again while the child lives.
	while :; do
		wait "$child"; rc=$?
		kill -0 "$child" 2>/dev/null || break
	done
	child=""
	[ -n "$stopping" ] && exit 0
	case $rc in
	0|129|130|141|143) echo "supervise: $1 exited ($rc); not restarting" >&2; exit 0 ;;
	esac
	echo "supervise: $1 failed (status $rc); restarting in ${restart_sec}s" >&2
	sleep "$restart_sec" & wait $!
	[ -n "$stopping" ] && exit 0
done
