#!/bin/sh
# casa-pre-attempt.sh: PRE script of the CASA node (see quicklook.dag).
#
# casa-judge reads every casa-*.log under the node directory, so the logs of a
# killed first attempt would make a successful retry look cut off too (and a
# stale products/ could hide a product the retry failed to write). Before each
# attempt this moves what an earlier one left into attempts/, under names that
# no longer end in .log, so the judge sees only the attempt about to run.
#
# DAG: SCRIPT PRE casa /bin/sh casa-pre-attempt.sh $RETRY products
set -eu
attempt=${1:?usage: casa-pre-attempt.sh RETRY [PRODUCTS_DIR]}
products=${2:-products}
stamp="before-attempt-$attempt.$(date -u +%Y%m%dT%H%M%S).$$"
for leftover in casa-*.log casa-*.log.gz casa.log casa.log.gz "$products"; do
    [ -e "$leftover" ] || continue
    mkdir -p attempts
    mv -- "$leftover" "attempts/$leftover.$stamp"
    echo "casa-pre-attempt: moved $leftover to attempts/$leftover.$stamp"
done
