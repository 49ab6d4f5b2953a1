#!/bin/bash
# The same core flow with the bundled kubectl 1.33 binary.
real=$(readlink -f "$(command -v kubectl)")
K133="$(dirname "$real")/kubectl.1.33"
if [ ! -x "$K133" ]; then echo "kubectl 1.33 not bundled here"; exit 77; fi
KUBECTL="$K133" exec "$(dirname "$0")/test_kubectl_core.sh"
