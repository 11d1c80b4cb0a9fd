#!/usr/bin/env bash
# The whole test suite, from a clean clone: installs what the tests need, builds once, runs every test project,
# and ends with one line "N passed, N failed, N skipped" summed over all of them (CI reads that line).
set -uo pipefail
cd "$(dirname "$0")/.."

# Real MQTT clients nobody here wrote (mosquitto_pub/_sub/_rr) and stdbuf to read their output line by line.
missing=()
command -v mosquitto_pub >/dev/null 2>&1 || missing+=(mosquitto-clients)
command -v stdbuf >/dev/null 2>&1 || missing+=(coreutils)
# Debian's Eclipse Paho (MQTT 3.1.1 and 5) for the Python-client interop tests.
/usr/bin/python3 -c 'import paho.mqtt.client' >/dev/null 2>&1 || missing+=(python3-paho-mqtt)
# Real Redis and PostgreSQL servers for the cluster stores; the fixtures start private instances on free ports.
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
# Headless Chromium for the browser tests (tests/MqttIm.Web.Tests): Debian's, driven by the Playwright driver that
# ships inside the Microsoft.Playwright NuGet package, so nothing is downloaded at test time.
[ -x /usr/bin/chromium ] || missing+=(chromium)
if ((${#missing[@]})); then
  echo "Installing test dependencies: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null \
    || { echo "could not install ${missing[*]}"; echo "0 passed, 1 failed"; exit 1; }
fi

if ! dotnet build MqttIm.sln -c Release -nologo -v quiet; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

# The SDK's NuGet package (.nupkg + .snupkg) from the build above: a broken package fails CI without a slow test.
if ! dotnet pack src/DeviceSdk -c Release --no-build -nologo -v quiet -o "$(mktemp -d)"; then
  echo "dotnet pack src/DeviceSdk failed"
  echo "0 passed, 1 failed"
  exit 1
fi

# MongoDB cannot be installed here: its tests run only against a server named by MONGODB_URI.
filter=""
[ -n "${MONGODB_URI:-}" ] || filter="Category!=MongoDB"

results=$(mktemp -d)
passed=0 failed=0 skipped=0
for project in tests/*/*.csproj; do
  grep -q 'Microsoft.NET.Test.Sdk' "$project" || continue
  name=$(basename "$project" .csproj)
  dotnet test "$project" -c Release --no-build -nologo ${filter:+--filter "$filter"} \
    --logger "trx;LogFileName=$name.trx" --results-directory "$results" \
    --blame-hang --blame-hang-timeout 5m
  trx="$results/$name.trx"
  if [ ! -f "$trx" ]; then
    echo "$name: no test results (the test host crashed); counted as one failure"
    failed=$((failed + 1))
    continue
  fi
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  count() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  passed=$((passed + $(count passed)))
  failed=$((failed + $(count failed) + $(count error) + $(count timeout) + $(count aborted)))
  skipped=$((skipped + $(count total) - $(count executed)))  # xunit skips are not executed; trx counts them in total only
done

echo
if [ -n "$filter" ]; then
  echo "Skipped: the MongoDB store and cluster tests (MONGODB_URI is not set; no MongoDB server can be installed here)."
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
