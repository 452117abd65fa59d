chgrp pikoci /etc/pikoci/server.yaml
install -d -o pikoci -g pikoci -m 0750 /var/lib/pikoci /var/cache/pikoci
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || :; fi
exit 0
