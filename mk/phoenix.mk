# Phoenix and real-browser tests (issue 4). Debian chromium is the only browser used: Playwright's own browser
# download is never run; the Playwright driver ships inside the playwright Python package installed by $(STAMP).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_GET := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600

.PHONY: chromium
chromium:
	@test -x /usr/bin/chromium || { $(APT_GET) update -qq && $(APT_GET) install -y -qq --no-install-recommends chromium; }
	@/usr/bin/chromium --version 2>/dev/null  # its /etc/chromium.d/dev-shm check prints noise in containers

TEST_PREREQS += chromium
