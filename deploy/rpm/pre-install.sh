# pikoci's own user, before its files arrive.
getent group pikoci >/dev/null || groupadd --system pikoci
getent passwd pikoci >/dev/null || useradd --system --gid pikoci --home-dir /var/lib/pikoci --no-create-home --shell /sbin/nologin --comment "pikoci CI server" pikoci
exit 0
