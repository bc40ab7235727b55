#!/bin/sh
# Builds the peer decoder harness against Debian's libzbar and zxing-cpp:
#   apt-get install libzbar-dev libzxing-dev pkg-config g++
set -eu
out=${1:-/tmp/kioskd-peers}
cd "$(dirname "$0")"
g++ -O2 -std=c++17 -o "$out" peers.cpp $(pkg-config --cflags --libs zbar zxing)
echo "$out"
